"""What machine a benchmark ran on, for the header of every docs/benchmarks/*.md."""

from __future__ import annotations

import os
import platform
import subprocess


def cpu_name() -> str:
    """The processor's model name ("unknown CPU" where /proc/cpuinfo has none): what training reads."""
    from ganforge.training.hardware import cpu_features

    return cpu_features().name


def describe() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return (
        f"{os.cpu_count()} CPU cores ({cpu_name()}), {gpu}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread{'' if torch.get_num_threads() == 1 else 's'}, ganforge commit {commit}, "
        f"load average {os.getloadavg()[0]:.1f} when written"
    )


# a quiet run on one thread: no progress bar, TensorBoard, grids or checkpoints along the way
QUIET_RUN = [
    "train.threads=1",
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.ckpt_every=0",
]
