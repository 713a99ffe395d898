"""Penalties against independent computations, and the D-side remedies as they act in training:
clipping, spectral norm, the phase schedule (n_critic, lazy regularisation), PacGAN packing,
minibatch standard deviation."""

import copy

import pytest
import torch
from torch import nn

from ganforge.api import load
from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.layers import MinibatchStdDev, Pack, spectral_norm_all
from ganforge.objectives import StepState
from ganforge.regularizers import clip_weights_, gradient_penalty, orthogonal_penalty, r1_penalty, r2_penalty
from ganforge.training.loop import Trainer

TOY = [
    "train.batch_size=8",
    "data.num_points=256",
    "model.hidden=8",
    "model.depth=2",
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.log_every=1",
    "train.threads=1",
]


def toy_trainer(tmp_path, *overrides, steps=1):
    return Trainer(load_config("ring8-gan", [*TOY, f"train.steps={steps}", *overrides]), tmp_path / "run")


def small_d():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))  # [N, 3] -> [N]


# --- penalties --------------------------------------------------------------------------------------
def test_gradient_penalty_matches_per_sample_autograd():
    D = small_d()
    real, fake = torch.randn(5, 3), torch.randn(5, 3)
    gp = gradient_penalty(D, real=real, fake=fake, generator=torch.Generator().manual_seed(1))
    eps = torch.rand(5, 1, generator=torch.Generator().manual_seed(1))
    ref = []
    for i in range(5):  # one sample at a time: no batch summation trick involved
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).requires_grad_(True)
        (g,) = torch.autograd.grad(D(x[None])[0], x)
        ref.append((g.norm() - 1) ** 2)
    torch.testing.assert_close(gp, torch.stack(ref).mean(), rtol=1e-5, atol=1e-7)


def test_penalties_on_a_linear_critic():
    """D(x) = w.x + b has grad w everywhere: GP = (|w| - 1)^2, R1 = R2 = |w|^2 / 2."""
    D = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))
    with torch.no_grad():
        D[0].weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # |w| = 5
    x, z = torch.randn(6, 4), torch.randn(6, 4)
    assert abs(gradient_penalty(D, real=x, fake=z).item() - 16.0) < 1e-4
    assert abs(r1_penalty(D, real=x, fake=z).item() - 12.5) < 1e-4
    assert abs(r2_penalty(D, real=x, fake=z).item() - 12.5) < 1e-4


def test_r1_matches_per_sample_autograd_and_trains_d():
    D = small_d()
    real = torch.randn(4, 3)
    pen = r1_penalty(D, real=real)
    ref = []
    for i in range(4):
        x = real[i : i + 1].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(D(x)[0], x)
        ref.append(0.5 * g.square().sum())
    ref = torch.stack(ref).mean()
    torch.testing.assert_close(pen, ref, rtol=1e-5, atol=1e-7)
    pen.backward()  # create_graph=True: the penalty has gradients for D
    assert D[0].weight.grad is not None and D[0].weight.grad.abs().sum() > 0


def test_orthogonal_penalty_hand_value():
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    # W W^T = [[5, 11], [11, 25]]; off-diagonal squared: 2 * 121
    assert abs(orthogonal_penalty(lin).item() - 242.0) < 1e-4
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 7.0]]))  # orthogonal rows of any norms: 0
    assert orthogonal_penalty(lin).item() == 0.0


def test_orthogonal_penalty_reaches_g_in_training(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.ortho=1e-4")
    logs = trainer.train_step()
    assert logs["reg_ortho"] > 0


# --- WGAN clipping, spectral norm -------------------------------------------------------------------
def test_clipping_bounds_every_d_weight_after_a_step(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.name=wasserstein", "loss.clip=0.01", "train.d_steps=2")
    with torch.no_grad():
        for p in trainer.nets["D"].parameters():
            p.mul_(100)  # far outside the box before the step
    trainer.train_step()
    params = list(trainer.nets["D"].parameters())
    assert all(p.abs().max() <= 0.01 + 1e-9 for p in params)
    assert max(p.abs().max() for p in params) == pytest.approx(0.01)  # the bound is reached, not just respected
    assert any(p.abs().max() > 0.01 for p in trainer.nets["G"].parameters())  # G is never clipped


def test_clip_weights_helper():
    lin = nn.Linear(3, 3)
    with torch.no_grad():
        lin.weight.fill_(5.0)
    clip_weights_(lin, 0.5)
    assert lin.weight.max().item() == 0.5


@pytest.mark.parametrize(
    "make",
    [lambda: nn.Linear(20, 30), lambda: nn.Conv2d(4, 6, 3), lambda: nn.ConvTranspose2d(6, 4, 4)],
    ids=["linear", "conv", "convtranspose"],
)
def test_spectral_norm_brings_sigma_to_one(make):
    torch.manual_seed(0)  # the layer is built here, after the seed: its singular-value
    layer = make()  # gap (how fast power iteration converges) is then fixed
    with torch.no_grad():
        layer.weight.mul_(7.0)
    spectral_norm_all(layer)
    x = torch.randn(2, 20) if isinstance(layer, nn.Linear) else torch.randn(2, layer.in_channels, 8, 8)
    layer.train()
    for _ in range(300):  # one power iteration per training forward; 300 reach
        layer(x)  # 1e-4 on 40 seeds of each layer (30 left one at 2e-2)
    w = layer.weight.detach()
    mat = w.transpose(0, 1).flatten(1) if isinstance(layer, nn.ConvTranspose2d) else w.flatten(1)
    assert abs(torch.linalg.matrix_norm(mat, ord=2).item() - 1.0) < 1e-3
    assert torch.linalg.matrix_norm(layer.parametrizations.weight.original.flatten(1), ord=2) > 2


def test_spectral_norm_survives_save_load_and_ema(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.name=hinge", "model.d_sn=true", "model.g_sn=true", "train.ema=0.9", steps=2)
    trainer.fit()
    keys = list(trainer.nets["D"].state_dict())
    assert any("parametrizations.weight.original" in k for k in keys)
    ema = trainer.ema.model  # a deepcopy of the parametrised G
    assert list(ema.state_dict()) == list(trainer.nets["G"].state_dict())
    model = load(tmp_path / "run")
    torch.testing.assert_close(model.networks["D"].state_dict(), trainer.nets["D"].state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(model.networks["G"].state_dict(), ema.state_dict(), rtol=0, atol=0)
    z = torch.randn(5, 2)
    torch.testing.assert_close(model.networks["G"](z), ema(z))  # both in eval mode: the stored u, v
    clone = copy.deepcopy(model.networks["D"])
    torch.testing.assert_close(clone(torch.randn(3, 2)).shape, torch.Size([3]))


# --- the schedule -----------------------------------------------------------------------------------
def count_phases(trainer):
    """Count, per phase name, the loss computations the loop asks for."""
    import dataclasses

    calls: dict[str, int] = {}
    inner = trainer.objective.phases

    def counted(phase):
        def loss(batch, state):
            calls[phase.name] = calls.get(phase.name, 0) + 1
            return phase.loss(batch, state)

        return dataclasses.replace(phase, loss=loss)

    trainer.objective.phases = lambda: [counted(p) for p in inner()]
    return calls


def test_d_steps_per_g_step(tmp_path):
    trainer = toy_trainer(tmp_path, "train.d_steps=3", steps=4)
    calls = count_phases(trainer)
    for _ in range(4):
        trainer.train_step()
    assert calls == {"D": 12, "G": 4}


def test_lazy_regulariser_runs_only_on_its_interval(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.r1=2", "loss.reg_interval=3", steps=7)
    calls = count_phases(trainer)
    logs = [trainer.train_step() for _ in range(7)]
    assert calls == {"D": 7, "G": 7, "Dreg": 3}  # steps 0, 3, 6
    assert ["reg_r1" in l for l in logs] == [True, False, False, True, False, False, True]


def test_lazy_loss_is_scaled_by_the_interval(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.r1=2", "loss.reg_interval=3")
    dreg = next(p for p in trainer.objective.phases() if p.name == "Dreg")
    torch.manual_seed(0)
    batch = trainer.next_batch()
    loss, logs = dreg.loss(batch, StepState(0))
    assert abs(loss.item() - 3 * 2 * logs["reg_r1"]) < 1e-5 * max(1.0, loss.item())


def test_eager_penalty_joins_the_d_loss(tmp_path):
    trainer = toy_trainer(tmp_path, "loss.name=wasserstein", "loss.gp=10")
    assert [p.name for p in trainer.objective.phases()] == ["D", "G"]
    assert "reg_gp" in trainer.train_step()


# --- PacGAN, minibatch stddev -----------------------------------------------------------------------
def test_pacgan_d_receives_packed_input(tmp_path):
    trainer = toy_trainer(tmp_path, "model.pack=4")
    first = next(m for m in trainer.nets["D"].modules() if isinstance(m, nn.Linear))
    shapes = []
    first.register_forward_hook(lambda m, inp, out: shapes.append(tuple(inp[0].shape)))
    trainer.train_step()
    assert first.in_features == 2 * 4
    assert shapes and all(s == (2, 8) for s in shapes)  # batch 8 -> 2 packs of 4 points


def test_pack_concatenates_consecutive_samples():
    x = torch.arange(2 * 6 * 2 * 2, dtype=torch.float32).view(6, 2, 2, 2)  # [N=6, C=2, 2, 2]
    p = Pack(3)(x)
    assert p.shape == (2, 6, 2, 2)
    torch.testing.assert_close(p[1], torch.cat([x[3], x[4], x[5]], 0))
    with pytest.raises(ValueError, match="packs of 3"):
        Pack(3)(x[:5])


def test_dcgan_pack_and_mbstd_shapes():
    cfg = load_config(None, ["model.pack=2", "model.mbstd=2", "model.d_width=4", "model.g_width=4"]).model
    nets = MODELS.get("dcgan").build(cfg, (3, 32, 32), 0)
    assert nets["D"].net[1].in_channels == 6
    assert nets["D"](torch.randn(8, 3, 32, 32)).shape == (4,)


def test_minibatch_stddev_feature():
    x = torch.randn(8, 5)
    out = MinibatchStdDev(4)(x)
    assert out.shape == (8, 6)
    torch.testing.assert_close(out[:, :5], x)
    for j in range(2):  # group j = samples j, j + 2, j + 4, j + 6
        members = x[j::2]
        ref = members.std(0, unbiased=False).mean()
        torch.testing.assert_close(out[j::2, 5], ref.expand(4), rtol=1e-4, atol=1e-5)
    img = MinibatchStdDev(3)(torch.randn(6, 2, 4, 4))
    assert img.shape == (6, 3, 4, 4)


@pytest.mark.parametrize(
    "override, text",
    [
        ("model.pack=3", "model.pack"),
        ("loss.gp=-1", "loss.gp"),
        ("loss.reg_interval=0", "reg_interval"),
        ("loss.clip=0", "loss.clip"),
        ("model.mbstd=1", "model.mbstd"),
    ],
)
def test_bad_options_are_user_errors(override, text):
    with pytest.raises(UserError, match=text):
        load_config("ring8-gan", ["train.batch_size=8", override])
