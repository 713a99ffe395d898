"""DCGAN on the full MNIST training set (60,000 digits) for a fixed CPU-time budget, then FID,
Inception Score and the class spread of its samples with ganforge's LeNet features.

    GANFORGE_DATA=../shared/data python benchmarks/dcgan_mnist.py [--budget 600] [--threads 1]

The budget is process CPU time (time.process_time), so a busy shared machine slows the run down
without changing how much training it gets; wall-clock time is reported beside it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ganforge.api import load  # noqa: E402
from ganforge.config import load_config  # noqa: E402
from ganforge.metrics import evaluate  # noqa: E402
from ganforge.training.loop import Trainer  # noqa: E402

from _machine import describe  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds of training")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=10000, help="samples for FID/IS")
    ap.add_argument("--overrides", nargs="*", default=[], help="extra key=value config overrides")
    ap.add_argument("--out", default="docs/benchmarks/dcgan_mnist.md")
    ap.add_argument("--run", default="runs/bench-dcgan-mnist", help="where the run is kept")
    ap.add_argument("--eval-only", action="store_true", help="score an existing --run without training")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides = [
        "train.steps=10000000",
        "train.progress=false",
        "train.sample_every=0",
        "train.ckpt_every=0",
        "train.tensorboard=false",
        f"train.threads={args.threads}",
        *args.overrides,
    ]
    cfg = load_config("dcgan-mnist", overrides)
    run = Path(args.run)
    trainer = Trainer(cfg, run, resume=args.eval_only, overwrite=not args.eval_only)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if args.eval_only:  # scoring a run trained earlier with the same --budget
        cpu, wall = args.budget, float("nan")
    else:
        while time.process_time() - cpu0 < args.budget:
            trainer.train_step()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        trainer.save()
    img = Path("docs/benchmarks/img")
    img.mkdir(parents=True, exist_ok=True)
    grid = trainer.sample_grid()
    shutil.copy(grid, img / "dcgan_mnist.png")
    model = load(run)
    scores = evaluate(
        model.sample,
        ref="mnist:test",
        metrics=("fid", "is", "modes"),
        n=args.n,
        extractor="lenet-mnist",
        progress=False,
    )
    train_x = trainer.data.x  # real training digits, as a sampler: the floor a GAN can reach

    def real_sampler(n: int, seed: int) -> torch.Tensor:
        return train_x[torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))[:n]]

    real = evaluate(
        real_sampler, ref="mnist:test", metrics=("fid", "is"), n=args.n, extractor="lenet-mnist", progress=False
    )
    lines = [
        "# DCGAN on MNIST for a fixed CPU budget",
        "",
        f"Command: `GANFORGE_DATA=../shared/data python benchmarks/dcgan_mnist.py --budget {args.budget:g} "
        f"--threads {args.threads} --n {args.n}"
        + (f" --overrides {' '.join(args.overrides)}" if args.overrides else "")
        + "`"
        + (" (trained, then scored again with `--eval-only`)" if args.eval_only else ""),
        "",
        f"Machine: {describe()}",
        "",
        f"Config: preset `dcgan-mnist` (z 100, widths 64/64, batch {cfg.train.batch_size}, Adam 2e-4 "
        f"(0.5, 0.999), non-saturating loss, EMA 0.999 with ramp-up), full 60,000-image training set.",
        "",
        "| what | value |",
        "|---|---|",
        f"| CPU budget | {cpu:.0f} s "
        + (
            "(wall clock not recorded: scored in a second invocation) |"
            if args.eval_only
            else f"(wall clock {wall:.0f} s) |"
        ),
        f"| generator steps done | {trainer.step} ({trainer.step * cfg.train.batch_size / 60000:.2f} epochs) |",
        f"| FID vs MNIST test (lenet-mnist features, {args.n} samples, EMA G) | {scores['fid']:.2f} |",
        f"| Inception Score (lenet-mnist classes) | {scores['is']:.2f} |",
        f"| classes covered / KL(generated classes, test classes) | {scores['modes']:.0f} / {scores['class_kl']:.3f} |",
        f"| reference: MNIST train vs test FID, IS of train | {real['fid']:.2f}, {real['is']:.2f} |",
        "",
        "Sample grid (fixed noise, EMA generator):",
        "",
        "![DCGAN MNIST samples](img/dcgan_mnist.png)",
        "",
        "FIDs here use ganforge's LeNet features; they are not comparable with Inception-feature FIDs "
        "in papers (see ../metrics.md).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
