"""The EMA of G's weights (training/ema.py) against a hand computation: decay, StyleGAN2-ADA's
ramp-up (half-life <= ema_rampup * steps so far), buffers copied rather than averaged, and an EMA
copy that never takes gradients, alone and inside the Trainer."""

import math

import pytest
import torch
from torch import nn

from ganforge.data import Data
from ganforge.training.ema import EMA
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def perturb_(net: nn.Module, seed: int) -> None:
    """A stand-in for an optimiser step: new parameter values and new BatchNorm statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen))
    net.train()(torch.randn(8, 3, generator=gen))  # moves running_mean / running_var


def by_hand(decay: float, rampup: float | None, step: int) -> float:
    """The decay at `step` (0-based): with ramp-up the half-life is at most rampup * (step + 1) steps."""
    if not rampup:
        return decay
    return min(decay, 0.5 ** (1.0 / (rampup * (step + 1))))


@pytest.mark.parametrize("decay, rampup", [(0.9, None), (0.99, 0.5), (0.5, 0.05)])
def test_update_matches_the_hand_computation(decay, rampup):
    live = small_net()
    ema = EMA(live, decay, rampup)
    avg = [p.detach().clone() for p in live.parameters()]  # the average starts as a copy of the live net
    for step in range(6):
        perturb_(live, seed=step)
        d = by_hand(decay, rampup, step)
        avg = [d * a + (1 - d) * p.detach() for a, p in zip(avg, live.parameters())]
        ema.update(live, step)
        for a, p in zip(avg, ema.model.parameters()):
            torch.testing.assert_close(p, a, rtol=1e-6, atol=1e-6)


def test_rampup_bounds_the_half_life():
    # ema_rampup 0.1: at step s the decay d has 0.5 = d ** half_life with half_life <= 0.1 * (s + 1)
    decay, rampup = 0.999, 0.1
    live = small_net()
    ema = EMA(live, decay, rampup)
    for step in (0, 4, 49, 999, 20000):
        before = [p.detach().clone() for p in ema.model.parameters()]
        perturb_(live, seed=step)
        ema.update(live, step)
        # the decay the update used, read back (least squares, float64) from avg' = d avg + (1 - d) live
        a = torch.cat([t.flatten() for t in before]).double()
        n = torch.cat([t.flatten() for t in ema.model.parameters()]).double()
        p = torch.cat([t.flatten() for t in live.parameters()]).double()
        d = ((n - p) @ (a - p) / (a - p).square().sum()).item()
        assert d == pytest.approx(by_hand(decay, rampup, step), rel=1e-5)
        assert d <= decay + 1e-6
        if rampup * (step + 1) < math.log(0.5) / math.log(decay):  # ramping up: the bound holds with equality
            assert math.log(0.5) / math.log(d) == pytest.approx(rampup * (step + 1), rel=1e-3)
    assert d == pytest.approx(decay, rel=1e-6)  # long runs reach the configured decay


def test_buffers_are_copied_not_averaged():
    live = small_net()
    ema = EMA(live, 0.99, None)
    perturb_(live, seed=1)
    ema.update(live, 0)
    bn_live, bn_ema = live[1], ema.model[1]
    torch.testing.assert_close(bn_ema.running_mean, bn_live.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(bn_ema.running_var, bn_live.running_var, rtol=0, atol=0)
    assert bn_ema.num_batches_tracked == bn_live.num_batches_tracked
    assert not torch.allclose(ema.model[0].weight, live[0].weight)  # the weights, by contrast, are averaged


def test_the_ema_copy_is_separate_and_never_takes_gradients():
    live = small_net()
    ema = EMA(live, 0.9, None)
    assert not ema.model.training and all(not p.requires_grad for p in ema.model.parameters())
    with torch.no_grad():
        live[0].weight.add_(1.0)
    assert not torch.equal(ema.model[0].weight, live[0].weight)  # a deep copy, not a view of G
    live.train()(torch.randn(4, 3)).sum().backward()
    ema.update(live, 0)
    assert all(p.grad is None for p in ema.model.parameters())


def test_the_trainer_keeps_the_ema_of_g(tmp_path):
    x = torch.rand(64, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cfg = tiny_trainer_config("dcgan", ["train.ema=0.9", "train.ema_rampup=0.5"], steps=3)
    trainer = Trainer(cfg, tmp_path / "run", data=Data(x))
    G = trainer.nets["G"]
    avg = [p.detach().clone() for p in G.parameters()]
    for step in range(3):
        trainer.train_step()
        d = by_hand(0.9, 0.5, step)  # the loop passes the 0-based step it just ran
        avg = [d * a + (1 - d) * p.detach() for a, p in zip(avg, G.parameters())]
        for a, p in zip(avg, trainer.ema.model.parameters()):
            torch.testing.assert_close(p, a, rtol=1e-5, atol=1e-6)
        for b, live_b in zip(trainer.ema.model.buffers(), G.buffers()):
            torch.testing.assert_close(b, live_b, rtol=0, atol=0)
    assert all(p.grad is None and not p.requires_grad for p in trainer.ema.model.parameters())
    assert trainer.network_states()["G_ema"].keys() == G.state_dict().keys()  # and checkpoints carry it
