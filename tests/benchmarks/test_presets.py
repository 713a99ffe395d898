"""The benchmark-only presets (benchmarks/presets.py) resolve and take a finite step."""

import math
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import presets as _benchmark_presets  # noqa: E402,F401  (registers the mode-collapse presets)

MODE_PRESETS = [
    f"{d}-{v}"
    for d in ("ring8", "grid25")
    for v in ("vanilla", "r1", "wgan", "wgan-gp", "hinge-sn", "pacgan2", "ema", "pacgan2-ema")
]


@pytest.mark.parametrize("preset", MODE_PRESETS)
def test_benchmark_presets_take_a_step(preset, tmp_path):
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    cfg = load_config(
        preset,
        [
            "train.steps=1",
            "train.batch_size=16",
            "data.num_points=64",
            "model.hidden=8",
            "train.progress=false",
            "train.tensorboard=false",
            "train.threads=1",
        ],
    )
    logs = Trainer(cfg, tmp_path / "run").train_step()
    assert all(math.isfinite(v) for v in logs.values()), logs


def test_stacked_presets_resolve():
    from ganforge.config import load_config

    for name, pack in (("stacked-mnist-dcgan", 1), ("stacked-mnist-pacgan2", 2)):
        cfg = load_config(name)
        assert cfg.data.name == "stacked-mnist" and cfg.model.family == "dcgan" and cfg.model.pack == pack
