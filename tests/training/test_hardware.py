"""train.precision=auto and train.threads=auto: found from the machine, recorded in the run's config
and checkpoints, so a resumed run continues with what it started with."""

import json

import torch

from ganforge.config import load_config
from ganforge.training.checkpoint import load_latest
from ganforge.training.hardware import cpu_features, resolve_precision, resolve_threads
from ganforge.training.loop import Trainer

from conftest import TINY


def test_explicit_values_are_kept():
    assert resolve_precision("32", "cpu")[0] == "32" and resolve_precision("bf16", "cpu")[0] == "bf16"
    assert resolve_threads(3) == (3, "set in the config") and resolve_threads(None)[0] is None


def test_auto_precision_follows_the_cpu_features():
    feats = cpu_features()
    precision, why = resolve_precision("auto", "cpu")
    assert precision == ("bf16" if feats.bf16 else "32") and why.startswith("auto:")
    assert feats.cores >= 1 and feats.describe()


def test_auto_threads_leave_busy_cores_alone():
    cores = cpu_features().cores
    assert resolve_threads("auto", busy=0.0)[0] == cores
    assert resolve_threads("auto", busy=cores + 3.0)[0] == 1  # every core taken: one thread, never zero
    assert 1 <= resolve_threads("auto")[0] <= cores


def test_auto_is_resolved_once_and_recorded(tmp_path):
    shared = [o for o in TINY if not o.startswith(("train.precision", "train.threads"))]
    cfg = load_config("quickstart", [*shared, "train.precision=auto", "train.threads=auto", "train.steps=2"])
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.fit()
    want, _ = resolve_precision("auto", "cpu")
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert saved["precision"] == want and isinstance(saved["threads"], int)
    assert saved["channels_last"] is (want == "bf16")  # NHWC where autocast runs in bf16
    assert load_latest(tmp_path / "run").config["train"]["precision"] == want
    setup = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert setup[0]["kind"] == "setup" and setup[0]["precision"] == want and setup[0]["precision_reason"]
    assert cfg.train.precision == "auto"  # the caller's config is not changed
    torch.set_num_threads(1)
