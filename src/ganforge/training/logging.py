"""Run logs: metrics.jsonl (one JSON object per line), TensorBoard events, sample grids."""

from __future__ import annotations

import json
import math
from pathlib import Path

from torch import Tensor

from ganforge.io import atomic_write, save_grid


class RunLogger:
    def __init__(self, run_dir: Path, tensorboard: bool, enabled: bool = True):
        self.run_dir, self.enabled = run_dir, enabled
        self.writer = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported lazily: it is slow

            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            step = record.get("step", 0)
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(f"{record.get('kind', 'train')}/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def save_samples(samples: Tensor, path: Path, nrow: int | None = None) -> Path:
    """Images [N, C, H, W] in [-1, 1] -> a PNG grid; points [N, 2] -> a PNG scatter plot. Written atomically."""
    samples = samples.detach().float().cpu()
    if samples.ndim == 4:
        return save_grid(samples, path, nrow=nrow)
    if samples.ndim == 2 and samples.shape[1] == 2:
        atomic_write(path, lambda tmp: scatter(samples, tmp))
        return path
    raise ValueError(f"cannot draw samples of shape {list(samples.shape)}")


def scatter(points: Tensor, path: Path, real: Tensor | None = None, modes: Tensor | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue", alpha=0.3, label="real")
    ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:orange", alpha=0.6, label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=30, marker="x", c="black", label="modes")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
