"""train.nan_policy: a hook poisons one step's loss (D's logits become NaN) or a weight (G's, after
its optimiser step); under skip and rollback the run ends with finite weights, under stop it ends
cleanly on the last good state, and metrics.jsonl records every event."""

import json
import math

import pytest
import torch

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.errors import TrainingStopped, UserError
from ganforge.training.checkpoint import list_checkpoints, load_latest
from ganforge.training.loop import Trainer

from conftest import TINY

STEPS = 6


def make_trainer(tmp_path, *overrides, name="run"):
    cfg = load_config("quickstart", [*TINY, f"train.steps={STEPS}", "train.ckpt_every=0", *overrides])
    return Trainer(cfg, tmp_path / name)


def poison_loss(trainer, at: int):
    """D's logits are NaN throughout step `at` (both phases), until the first event is handled."""

    def hook(module, inputs, output):
        if trainer.step == at and trainer.nan_events == 0:
            return output * float("nan")

    trainer.nets["D"].register_forward_hook(hook)


def poison_weight(trainer, at: int):
    """After G's optimiser step at step `at`, one weight of G is NaN, until the first event is handled."""

    def hook(optimizer, args, kwargs):
        if trainer.step == at and trainer.nan_events == 0:
            with torch.no_grad():
                next(trainer.nets["G"].parameters()).view(-1)[0] = float("nan")

    trainer.opts["G"].optimizer.register_step_post_hook(hook)


def events(run):
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == "nonfinite"]


def assert_finite_end(trainer):
    assert trainer.step == STEPS and trainer.weights_finite()
    ckpt = load_latest(trainer.run_dir)
    assert ckpt.step == STEPS
    for net in ckpt.weights.values():
        assert all(torch.isfinite(w).all() for w in net.values() if w.is_floating_point())


def lrs(trainer):
    return {k: [g["lr"] for g in o.param_groups] for k, o in trainer.opts.items()}


def test_skip_drops_the_updates_of_a_non_finite_loss(tmp_path):
    trainer = make_trainer(tmp_path, "train.nan_policy=skip")
    poison_loss(trainer, at=3)
    before = lrs(trainer)
    with pytest.warns(UserWarning, match="skipped that update"):
        trainer.fit()
    assert_finite_end(trainer)
    assert [(e["step"], e["what"], e["phase"], e["action"]) for e in events(trainer.run_dir)] == [
        (3, "loss", "D", "skip"),
        (3, "loss", "G", "skip"),
    ]
    assert lrs(trainer) == before


def test_skip_rolls_back_a_non_finite_weight(tmp_path):
    trainer = make_trainer(tmp_path, "train.nan_policy=skip")
    poison_weight(trainer, at=3)
    with pytest.warns(UserWarning, match="rolled back to step 0"):
        trainer.fit()
    assert_finite_end(trainer)
    [event] = events(trainer.run_dir)
    assert (event["step"], event["what"], event["action"], event["restored_step"]) == (3, "weights", "rollback", 0)


def test_rollback_to_the_last_checkpoint_lowers_the_learning_rate(tmp_path):
    trainer = make_trainer(tmp_path, "train.ckpt_every=2", "train.nan_lr_factor=0.25")
    assert trainer.cfg.train.nan_policy == "rollback"  # the default
    poison_loss(trainer, at=3)
    base = lrs(trainer)
    with pytest.warns(UserWarning, match="rolled back to step 2, learning rates x0.25"):
        trainer.fit()
    assert_finite_end(trainer)
    [event] = events(trainer.run_dir)
    assert (event["step"], event["what"], event["phase"], event["action"]) == (3, "loss", "D", "rollback")
    assert (event["restored_step"], event["lr_scale"]) == (2, 0.25)
    assert lrs(trainer) == {k: [lr * 0.25 for lr in v] for k, v in base.items()}
    assert load_latest(trainer.run_dir).state["nan_lr_scale"] == 0.25  # a resumed run keeps the lower rates
    resumed = Trainer(trainer.cfg, trainer.run_dir, resume=True)
    assert resumed.lr_scale == 0.25


def test_rollback_before_any_checkpoint_restores_the_start_exactly(tmp_path):
    """No checkpoint yet: the rollback returns to the in-memory copy of the start, so the run equals,
    bit for bit, one that was given the lowered learning rates from the start."""
    trainer = make_trainer(tmp_path, "train.nan_policy=rollback")
    poison_weight(trainer, at=3)
    with pytest.warns(UserWarning, match="rolled back to step 0"):
        trainer.fit()
    assert_finite_end(trainer)
    assert [(e["what"], e["restored_step"], e["lr_scale"]) for e in events(trainer.run_dir)] == [("weights", 0, 0.5)]
    half = [f"{s}.lr={getattr(trainer.cfg, s).lr * 0.5!r}" for s in ("g_optim", "d_optim")]
    clean = make_trainer(tmp_path, *half, name="clean")
    clean.fit()
    for name, net in clean.network_states().items():
        mine = trainer.network_states()[name]
        assert all(torch.equal(mine[k], v) for k, v in net.items()), name
    for name, opt in clean.opts.items():
        for key, value in opt.state_dict()["state"].items():
            mine = trainer.opts[name].state_dict()["state"][key]
            assert all(torch.equal(mine[k], v) for k, v in value.items())


def test_stop_keeps_the_last_good_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path, "train.nan_policy=stop", "train.ckpt_every=2")
    poison_loss(trainer, at=3)
    with pytest.raises(TrainingStopped, match="non-finite loss in phase D at step 3: training stopped") as info:
        trainer.fit()
    assert "step 2, is saved in" in str(info.value) and "--resume" in str(info.value)
    assert [p.name for p in list_checkpoints(trainer.run_dir / "checkpoints")] == ["step_00000002"]
    assert trainer.step == 2 and trainer.weights_finite()
    saved = load_latest(trainer.run_dir).weights["G"]
    assert all(torch.equal(saved[k], v) for k, v in trainer.nets["G"].state_dict().items())
    [event] = events(trainer.run_dir)
    assert (event["action"], event["restored_step"]) == ("stop", 2)
    assert event["checkpoint"].endswith("step_00000002")
    assert not (trainer.run_dir / ".lock").exists()


def test_stop_before_any_checkpoint_saves_the_start(tmp_path, monkeypatch, capsys):
    """Through the CLI: one line, exit 2; the state the run started from is saved as its checkpoint."""
    fit = Trainer.fit

    def poisoned(self):
        poison_weight(self, at=2)
        return fit(self)

    monkeypatch.setattr(Trainer, "fit", poisoned)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "quickstart", *TINY, f"train.steps={STEPS}", "train.nan_policy=stop", "--out", str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err]
    assert err.startswith("error: non-finite weights at step 2: training stopped (train.nan_policy=stop)")
    assert f"ganforge train --resume --out {run}" in err
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step_00000000"]
    assert [e["action"] for e in events(run)] == ["stop"]


def test_too_many_events_stop_the_run(tmp_path):
    trainer = make_trainer(tmp_path, "train.nan_policy=skip", "train.nan_max_events=2")

    def always(module, inputs, output):
        return output * float("nan")

    trainer.nets["D"].register_forward_hook(always)
    with pytest.warns(UserWarning), pytest.raises(TrainingStopped, match="more than train.nan_max_events=2"):
        trainer.fit()
    assert [e["action"] for e in events(trainer.run_dir)] == ["skip", "skip", "stop"]
    assert trainer.weights_finite()


@pytest.mark.parametrize(
    "override",
    ["train.nan_policy=ignore", "train.nan_lr_factor=0", "train.nan_lr_factor=1.5", "train.nan_max_events=-1"],
)
def test_bad_nan_options_are_refused(override):
    with pytest.raises(UserError, match=override.split("=")[0].split(".")[1]):
        load_config("quickstart", [override])


def test_weights_check_catches_nan_and_inf_without_overflow(tmp_path):
    trainer = make_trainer(tmp_path)
    w = next(trainer.nets["D"].parameters())
    with torch.no_grad():
        w.view(-1)[0] = 3e38  # huge but finite: a 2-norm would overflow to inf
        assert trainer.weights_finite()
        for bad in (math.inf, -math.inf, math.nan):
            w.view(-1)[0] = bad
            assert not trainer.weights_finite()
