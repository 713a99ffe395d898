"""Plots read from a run directory's files (never from live training state)."""

from __future__ import annotations

import json
from pathlib import Path

from ganforge.errors import UserError


def read_metrics(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise UserError(f"{path} not found; give a run directory made by 'ganforge train'")
    records = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise UserError(f"{path}:{i}: not a JSON line; the log is damaged") from None
    return records


def plot_losses(run_dir: Path, out: Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in read_metrics(run_dir) if r.get("kind", "train") == "train"]
    keys = sorted({k for r in records for k in r if k.startswith("loss")})
    if not keys:
        raise UserError(f"{run_dir}/metrics.jsonl holds no training losses yet")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key in keys:
        pts = [(r["step"], r[key]) for r in records if key in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = out or run_dir / "losses.png"
    fig.savefig(out)
    plt.close(fig)
    return out
