"""The training loop (training/loop.py Trainer) as the objective's schedule drives it: phases in
order, `repeats` and `interval` honoured, one fresh batch per repeat, gradients only for the
stepping optimiser's networks, objective.lr_scale on every param group, a fresh StepState per step,
and each optimiser built from the config section its OptimizerSpec names."""

import dataclasses

import pytest
import torch
from torch import nn

from ganforge.data import Data
from ganforge.models import MODELS
from ganforge.models.registry import register_family
from ganforge.objectives import OptimizerSpec, Phase
from ganforge.objectives.adversarial import AdversarialObjective
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

SHAPE = (1, 32, 32)


def images(n: int = 64) -> Data:
    gen = torch.Generator().manual_seed(0)
    return Data(torch.rand(n, *SHAPE, generator=gen) * 2 - 1)


def dcgan_trainer(tmp_path, *overrides, steps: int = 4) -> Trainer:
    return Trainer(tiny_trainer_config("dcgan", list(overrides), steps=steps), tmp_path / "run", data=images())


def record_phases(trainer, on_call):
    """Wrap objective.phases (as tests/test_regularizers.py's count_phases does): before each loss
    computation the loop asks for, call on_call(phase, batch, state)."""
    inner = trainer.objective.phases

    def recorded(phase):
        def loss(batch, state):
            on_call(phase, batch, state)
            return phase.loss(batch, state)

        return dataclasses.replace(phase, loss=loss)

    trainer.objective.phases = lambda: [recorded(p) for p in inner()]


def test_phases_run_in_order_with_repeats_and_intervals(tmp_path):
    # D x 2 (train.d_steps), G, then the lazy R1 phase every 3 steps (loss.reg_interval)
    trainer = dcgan_trainer(tmp_path, "train.d_steps=2", "loss.r1=1", "loss.reg_interval=3")
    calls = []
    record_phases(trainer, lambda phase, batch, state: calls.append((state.step, phase.name)))
    for _ in range(4):
        trainer.train_step()
    every = ["D", "D", "G"]
    expected = [(s, n) for s in range(4) for n in every + (["Dreg"] if s % 3 == 0 else [])]
    assert calls == expected
    # every repeat of every due phase that needs data drew its own batch: 4 x 2 D + 2 Dreg batches (G's
    # phase judges the fakes of the last D repeat, loss.share_fake)
    assert trainer.stream.position == len([c for c in calls if c[1] != "G"]) == 10


def test_only_the_stepping_optimisers_networks_have_gradients(tmp_path):
    trainer = dcgan_trainer(tmp_path, "train.ema=0.9", steps=2)
    seen = []

    d_grads = []

    def flags(phase, batch, state):
        nets = {name: [p.requires_grad for p in net.parameters()] for name, net in trainer.nets.items()}
        ema = [p.requires_grad for p in trainer.ema.model.parameters()]
        seen.append((phase.name, phase.optimizer, nets, ema))
        if phase.name == "G":  # what D's own phase left in D's .grad
            d_grads.append([p.grad.clone() for p in trainer.nets["D"].parameters()])

    record_phases(trainer, flags)
    trainer.train_step()
    trainer.train_step()
    assert [(name, opt) for name, opt, _, _ in seen] == [("D", "D"), ("G", "G")] * 2
    graph_for = {p.optimizer: p.graph_for for p in trainer.objective.phases()}
    assert graph_for == {"D": "G", "G": None}  # D's phase makes G's fakes with G's graph (loss.share_fake)
    for _, opt, nets, ema in seen:
        stepped = set(trainer.objective.optimizers()[opt].networks)
        if graph_for[opt]:
            stepped |= set(trainer.objective.optimizers()[graph_for[opt]].networks)
        for name, grads in nets.items():
            assert all(grads) if name in stepped else not any(grads), (opt, name)
        assert not any(ema)  # the EMA copy never takes part
    # G's backward, through D, left D's gradients as D's phase made them
    for before, p in zip(d_grads[-1], trainer.nets["D"].parameters()):
        assert torch.equal(before, p.grad)
    assert all(p.grad is None for p in trainer.ema.model.parameters())


def test_lr_scale_reaches_every_param_group_before_each_step(tmp_path):
    # train.lr_decay_start=0.5 over 4 steps: full lr up to step 2 (= int(0.5 * 4)), then (4 - 3) / (4 - 2)
    trainer = dcgan_trainer(tmp_path, "train.lr_decay_start=0.5", "g_optim.lr=1e-3", "d_optim.lr=4e-4")
    base = {"G": 1e-3, "D": 4e-4}
    assert [trainer.objective.lr_scale(s) for s in range(4)] == [1.0, 1.0, 1.0, 0.5]
    seen = []
    record_phases(
        trainer,
        lambda phase, batch, state: seen.append(
            (state.step, {k: [g["lr"] for g in o.param_groups] for k, o in trainer.opts.items()})
        ),
    )
    for _ in range(4):
        trainer.train_step()
    for step, lrs in seen:
        scale = [1.0, 1.0, 1.0, 0.5][step]
        for name, groups in lrs.items():
            assert groups and all(lr == pytest.approx(base[name] * scale) for lr in groups), (step, name, groups)
    # a scale set from the configured lr each step, not compounded: back to full lr when the scale is 1
    trainer.objective.lr_scale = lambda step: 1.0
    trainer.train_step()
    assert trainer.opts["G"].param_groups[0]["lr"] == pytest.approx(1e-3)
    assert trainer.opts["D"].param_groups[0]["lr"] == pytest.approx(4e-4)


def test_each_step_gets_a_fresh_step_state(tmp_path):
    trainer = dcgan_trainer(tmp_path)
    G = trainer.nets["G"]
    seen = []

    def write(batch, state):
        seen.append(("write", state.step, dict(state.carry)))
        state.carry["made_at"] = torch.tensor(state.step)
        return sum(p.sum() for p in G.parameters()) * 0.0, {}

    def read(batch, state):
        seen.append(("read", state.step, dict(state.carry)))
        assert batch == {}  # needs_data=False: no batch drawn
        return sum(p.sum() for p in G.parameters()) * 0.0, {}

    trainer.objective.phases = lambda: [Phase("W", write, "G"), Phase("R", read, "G", needs_data=False)]
    trainer.train_step()
    trainer.train_step()
    assert [(kind, step) for kind, step, _ in seen] == [("write", 0), ("read", 0), ("write", 1), ("read", 1)]
    assert seen[0][2] == {} and seen[2][2] == {}  # nothing carried over from the step before
    assert seen[1][2]["made_at"].item() == 0 and seen[3][2]["made_at"].item() == 1
    assert trainer.stream.position == 2  # one batch per step: only W drew one


# --- optimisers from the section an OptimizerSpec names -------------------------------------------------
class WithEncoder(AdversarialObjective):
    """The adversarial objective plus a network "E" (a linear map of the image), stepped by its own
    optimiser "E" with the settings of `SECTION`, in a phase after G's."""

    SECTION = "d_optim"

    def optimizers(self):
        return {**super().optimizers(), "E": OptimizerSpec(("E",), self.SECTION)}

    def phases(self):
        return [*super().phases(), Phase("E", self.e_step, "E")]

    def e_step(self, batch, state):
        loss = self.networks["E"](batch["x"].flatten(1)).square().mean()
        return loss, {"loss_E": loss.item()}


@pytest.fixture
def encoder_family(monkeypatch):
    """A family "loop-encoder" (DCGAN's networks plus "E") registered for one test only: the
    registry's tables are copies that monkeypatch puts back afterwards."""
    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))
    monkeypatch.setattr(MODELS, "_docs", dict(MODELS._docs))
    dcgan = MODELS.get("dcgan")

    @dataclasses.dataclass
    class EncoderConfig(dcgan.config):
        family: str = "loop-encoder"

    def build(cfg, shape, num_classes=0):
        """DCGAN's G and D and an encoder E"""
        nets = dcgan.build(cfg, shape, num_classes)
        nets["E"] = nn.Linear(int(torch.tensor(shape).prod()), 4)
        return nets

    register_family("loop-encoder", EncoderConfig, WithEncoder)(build)
    return "loop-encoder"


@pytest.mark.parametrize("section", ["d_optim", "g_optim"])
def test_each_optimiser_reads_the_section_its_spec_names(encoder_family, section, monkeypatch, tmp_path):
    monkeypatch.setattr(WithEncoder, "SECTION", section)
    settings = {
        "g_optim": ["g_optim.name=adam", "g_optim.lr=1e-3", "g_optim.beta1=0.3"],
        "d_optim": ["d_optim.name=sgd", "d_optim.lr=3e-4", "d_optim.beta1=0.7"],
    }
    cfg = tiny_trainer_config(encoder_family, [*settings["g_optim"], *settings["d_optim"]])
    trainer = Trainer(cfg, tmp_path / "run", data=images())
    assert set(trainer.opts) == {"G", "D", "E"}
    E = trainer.opts["E"]
    [group] = E.param_groups
    assert {id(p) for p in group["params"]} == {id(p) for p in trainer.nets["E"].parameters()}
    if section == "d_optim":
        assert isinstance(E, torch.optim.SGD)
        assert group["lr"] == pytest.approx(3e-4) and group["momentum"] == pytest.approx(0.7)
    else:
        assert isinstance(E, torch.optim.Adam)
        assert group["lr"] == pytest.approx(1e-3) and group["betas"] == pytest.approx((0.3, 0.999))
    before = [p.detach().clone() for p in trainer.nets["E"].parameters()]
    logs = trainer.train_step()
    assert "loss_E" in logs
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.nets["E"].parameters()))  # E's phase stepped E
