import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()

# Tests use tiny models; one thread avoids OpenMP oversubscription on a shared 2-core machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global RNG state, so no result depends on which tests ran before."""
    torch.manual_seed(0)
    yield


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    """Run `ganforge ARGS` in a fresh process; returns CompletedProcess (text)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ganforge.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_user_error(proc, *fragments: str) -> None:
    """Exit code 2, one line on stderr starting with 'error:', no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


# a quiet one-thread fp32 run: no progress bar, TensorBoard or sample grids, a log line every step
QUIET = [
    "train.progress=false",
    "train.tensorboard=false",
    "train.threads=1",
    "train.precision=32",
    "train.log_every=1",
    "train.sample_every=0",
]
# tiny settings for the DCGAN-backed presets (quickstart, the conditional families); `tiny_model` for any family
TINY = [
    "model.z_dim=16",
    "model.g_width=8",
    "model.d_width=8",
    "train.batch_size=16",
    *QUIET,
    "data.split=test",
    "data.limit=64",
]


def tiny_model(family: str) -> list[str]:
    """The model.* overrides that make any registered family tiny: the size keys its config has."""
    import dataclasses

    from ganforge.models import MODELS

    sizes = {
        "z_dim": 16,
        "g_width": 8,
        "d_width": 8,
        "hidden": 32,
        "depth": 2,
        "w_dim": 16,
        "mapping_layers": 2,
        "style_max_channels": 16,
        "resnet_blocks": 1,
    }
    fields = {f.name for f in dataclasses.fields(MODELS.get(family).config)}
    return [f"model.family={family}", *[f"model.{k}={v}" for k, v in sizes.items() if k in fields]]


def tiny_style_generator(seed: int = 0):
    """A 16-pixel grey StyleGenerator (z 8, w 16, 6 style inputs) in eval mode, seeded."""
    from ganforge.models.stylegan import StyleGenerator

    torch.manual_seed(seed)
    return StyleGenerator(
        z_dim=8, w_dim=16, channels=1, resolution=16, width=4, max_channels=16, mapping_layers=2
    ).eval()


class PooledPixels(torch.nn.Module):
    """A stand-in feature network (no weight file needed): 4x4 average-pooled pixels [N, C * 16]."""

    def forward(self, x):
        return torch.nn.functional.adaptive_avg_pool2d(x, 4).flatten(1)
