"""The shared AdversarialObjective on a tiny DCGAN, against hand computations from the same RNG
state: D's and G's phases return the registered loss of D's logits, the lazy Dreg phase returns
reg_interval x the weighted penalties, weight clipping follows D's phases only, and the schedule is
data (D x d_steps, G, Dreg when lazy) whose losses are bound methods of the objective."""

import inspect

import pytest
import torch

from ganforge.data import Data
from ganforge.losses import LOSSES
from ganforge.models import MODELS
from ganforge.models.registry import build_networks
from ganforge.objectives import AdversarialObjective, StepState
from ganforge.regularizers import gradient_penalty, r1_penalty, r2_penalty
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

SHAPE = (1, 32, 32)
PENALTIES = {"gp": gradient_penalty, "r1": r1_penalty, "r2": r2_penalty}  # in the order the objective sums them


def objective(*overrides):
    """A tiny DCGAN's adversarial objective over plain (unwrapped) networks in training mode."""
    cfg = tiny_trainer_config("dcgan", list(overrides))
    assert MODELS.get("dcgan").objective is AdversarialObjective
    nets = build_networks(cfg, SHAPE, 0)
    for net in nets.values():
        net.train()
    return AdversarialObjective(cfg, nets), nets


def real_batch(n: int = 16) -> dict[str, torch.Tensor]:
    return {"x": torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1)) * 2 - 1}


def fakes(G, n: int, z_dim: int, seed: int, grad: bool = False) -> torch.Tensor:
    """What the objective's G makes from the global RNG reseeded to `seed`: z ~ N(0, I) [n, z_dim]."""
    torch.manual_seed(seed)
    z = torch.randn(n, z_dim)
    with torch.set_grad_enabled(grad):
        return G(z)


def run_seeded(fn, seed: int):
    """fn() with the global RNG at `seed`, leaving the caller's RNG as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return fn()


@pytest.mark.parametrize("loss", LOSSES.keys())
def test_d_step_is_the_registered_loss_of_ds_logits(loss):
    obj, nets = objective(f"loss.name={loss}")
    G, D, batch = nets["G"], nets["D"], real_batch()
    value, logs = run_seeded(lambda: obj.d_step(batch, StepState(0)), seed=5)
    fake = fakes(G, 16, obj.z_dim, seed=5)  # G's samples, as constants for D
    real_logits, fake_logits = D(batch["x"]), D(fake)
    expected = LOSSES.get(loss).d(real=real_logits, fake=fake_logits)
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    assert logs["loss_D"] == pytest.approx(value.item())
    assert logs["D_real"] == pytest.approx(real_logits.mean().item(), rel=1e-5, abs=1e-6)
    assert logs["D_fake"] == pytest.approx(fake_logits.mean().item(), rel=1e-5, abs=1e-6)
    value.backward()
    assert all(p.grad is None for p in G.parameters())  # D's loss does not reach G
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())


@pytest.mark.parametrize("loss", LOSSES.keys())
def test_g_step_is_the_registered_loss_of_ds_logits(loss):
    obj, nets = objective(f"loss.name={loss}")
    G, D, batch = nets["G"], nets["D"], real_batch()
    value, logs = run_seeded(lambda: obj.g_step(batch, StepState(0)), seed=6)
    adv = LOSSES.get(loss)
    fake_logits = D(fakes(G, 16, obj.z_dim, seed=6, grad=True))
    real_logits = D(batch["x"]).detach() if adv.g_needs_real else None  # relativistic losses read D(real)
    expected = adv.g(fake=fake_logits, real=real_logits)
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    assert logs["loss_G"] == pytest.approx(value.item())
    G.zero_grad(set_to_none=True)
    value.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())  # G's loss trains G


@pytest.mark.parametrize("weights", [{"r1": 2.0}, {"gp": 10.0}, {"r1": 1.0, "r2": 0.5}], ids=["r1", "gp", "r1+r2"])
def test_lazy_d_reg_is_the_interval_times_the_weighted_penalties(weights):
    obj, nets = objective(*[f"loss.{k}={w}" for k, w in weights.items()], "loss.reg_interval=4")
    G, D, batch = nets["G"], nets["D"], real_batch()
    value, logs = run_seeded(lambda: obj.d_reg(batch, StepState(0)), seed=7)
    fake = fakes(G, 16, obj.z_dim, seed=7)  # then the penalties draw from the RNG (gp's eps)
    terms = {k: fn(D, real=batch["x"], fake=fake) for k, fn in PENALTIES.items() if k in weights}
    expected = 4 * sum(weights[k] * t for k, t in terms.items())
    torch.testing.assert_close(value, expected, rtol=1e-4, atol=1e-6)
    assert logs.keys() == {f"reg_{k}" for k in weights}
    for k, t in terms.items():  # logged unweighted, once per term
        assert logs[f"reg_{k}"] == pytest.approx(t.item(), rel=1e-4, abs=1e-7)
    _, d_logs = run_seeded(lambda: obj.d_step(batch, StepState(0)), seed=7)
    assert not any(k.startswith("reg_") for k in d_logs)  # lazy: the penalties left D's own phase


@pytest.mark.parametrize("weights", [{"r1": 2.0}, {"gp": 10.0}], ids=["r1", "gp"])
def test_an_eager_penalty_joins_the_d_step(weights):
    obj, nets = objective("loss.name=wasserstein", *[f"loss.{k}={w}" for k, w in weights.items()])
    G, D, batch = nets["G"], nets["D"], real_batch()
    value, logs = run_seeded(lambda: obj.d_step(batch, StepState(0)), seed=8)
    fake = fakes(G, 16, obj.z_dim, seed=8)
    expected = LOSSES.get("wasserstein").d(real=D(batch["x"]), fake=D(fake))
    for k, w in weights.items():
        expected = expected + w * PENALTIES[k](D, real=batch["x"], fake=fake)
    torch.testing.assert_close(value, expected, rtol=1e-4, atol=1e-6)
    assert {f"reg_{k}" for k in weights} <= logs.keys()


def test_weight_clipping_follows_ds_phases_only(tmp_path):
    data_x = torch.rand(64, *SHAPE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    # separate fakes: G's phase runs alone below, without a D phase to make its fakes
    cfg = tiny_trainer_config("dcgan", ["loss.name=wasserstein", "loss.clip=0.01", "loss.share_fake=false"], steps=2)
    trainer = Trainer(cfg, tmp_path / "run", data=Data(data_x))
    with torch.no_grad():
        for net in trainer.nets.values():
            for p in net.parameters():
                p.add_(torch.where(p >= 0, 1.0, -1.0))  # every |w| >= 1, far outside [-0.01, 0.01]
    every = trainer.objective.phases
    by_name = {p.name: p for p in every()}
    assert by_name["G"].after is None  # nothing is projected after G's step

    trainer.objective.phases = lambda: [p for p in every() if p.name == "G"]
    trainer.train_step()
    assert min(p.abs().min() for p in trainer.nets["D"].parameters()) > 0.5  # G's phase clipped nothing
    trainer.objective.phases = lambda: [p for p in every() if p.name == "D"]
    trainer.train_step()
    d_params = list(trainer.nets["D"].parameters())
    assert all(p.abs().max() <= 0.01 for p in d_params)
    assert max(p.abs().max().item() for p in d_params) == pytest.approx(0.01)  # reached, not just respected
    assert min(p.abs().min() for p in trainer.nets["G"].parameters()) > 0.5  # G is never clipped

    unclipped, nets = objective("loss.name=wasserstein")  # loss.clip unset: D's phase projects nothing
    with torch.no_grad():
        nets["D"].net[0].weight.fill_(3.0)
    next(p for p in unclipped.phases() if p.name == "D").after()
    assert nets["D"].net[0].weight.min().item() == 3.0


@pytest.mark.parametrize(
    "overrides, schedule",
    [
        ([], [("D", "D", 1, 1), ("G", "G", 1, 1)]),
        (["train.d_steps=3"], [("D", "D", 1, 3), ("G", "G", 1, 1)]),
        (["loss.r1=1", "loss.reg_interval=1"], [("D", "D", 1, 1), ("G", "G", 1, 1)]),  # eager: no Dreg
        (
            ["train.d_steps=2", "loss.r1=1", "loss.reg_interval=4"],
            [("D", "D", 1, 2), ("G", "G", 1, 1), ("Dreg", "D", 4, 1)],
        ),  # lazy: Dreg every 4
    ],
    ids=["plain", "n_critic", "eager", "lazy"],
)
@pytest.mark.parametrize("share", [True, False], ids=["shared-fakes", "separate-fakes"])
def test_the_schedule_is_data(overrides, schedule, share):
    obj, _ = objective(*overrides, f"loss.share_fake={str(share).lower()}")
    phases = obj.phases()
    assert [(p.name, p.optimizer, p.interval, p.repeats) for p in phases] == schedule
    # shared fakes: D's phase builds G's graph for G's phase, which draws no batch of its own
    assert [p.needs_data for p in phases] == [not (share and p.name == "G") for p in phases]
    assert [p.graph_for for p in phases] == ["G" if share and p.name == "D" else None for p in phases]
    methods = {"D": obj.d_step, "G": obj.g_step, "Dreg": obj.d_reg}
    for p in phases:
        assert p.loss == methods[p.name]  # the method itself, not a name for it
        assert p.optimizer in obj.optimizers()


@pytest.mark.parametrize("family", MODELS.keys())
def test_every_familys_phases_are_bound_methods_of_its_objective(family):
    cfg = tiny_trainer_config(family)
    obj = MODELS.get(family).objective(cfg, build_networks(cfg, SHAPE, 10))
    phases = obj.phases()
    assert phases
    for p in phases:
        assert inspect.ismethod(p.loss) and p.loss.__self__ is obj, (family, p.name, p.loss)
        assert p.after is None or (inspect.ismethod(p.after) and p.after.__self__ is obj), (family, p.name)
        assert p.optimizer in obj.optimizers(), (family, p.name)


@pytest.mark.parametrize("share, forwards", [(True, 1), (False, 2)])
def test_shared_fakes_take_one_g_forward_per_step(tmp_path, share, forwards):
    """loss.share_fake: G's phase judges the very fakes D's phase made (with G's graph, after D's update),
    so a step runs G once; without it, G's phase draws fresh noise and runs G again."""
    data_x = torch.rand(64, *SHAPE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cfg = tiny_trainer_config("dcgan", [f"loss.share_fake={str(share).lower()}"], steps=2)
    trainer = Trainer(cfg, tmp_path / "run", data=Data(data_x))
    outputs = []
    trainer.nets["G"].register_forward_hook(lambda module, args, out: outputs.append(out))
    judged = []
    judge = trainer.objective.judge
    trainer.objective.judge = lambda x, y: judged.append(x) or judge(x, y)
    trainer.train_step()
    assert len(outputs) == forwards
    d_real, d_fake, g_fake = judged  # D's phase judges real then fake; G's phase the fake
    assert not d_fake.requires_grad and g_fake.requires_grad  # D's loss never reaches G
    assert torch.equal(d_fake, g_fake) == share
    assert [p.grad is not None for p in trainer.nets["G"].parameters()] == [True] * len(
        list(trainer.nets["G"].parameters())
    )
