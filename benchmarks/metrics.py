"""Metrics benchmark: Frechet distance speed and agreement with scipy's sqrtm, extraction
throughput, the LeNet classifiers' accuracies, real-data baselines (train vs test) and the time of
a 2,000-sample FID. Prints the figures and writes docs/benchmarks/metrics.md.

    GANFORGE_DATA=/work/shared/data python benchmarks/metrics.py

The reference-statistics cache goes to a temporary folder, so every figure is computed afresh.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ganforge.data.idx import load_idx_dataset
from ganforge.metrics import evaluate, frechet_distance, get_extractor, reference_stats
from ganforge.metrics.extractors import FeatureExtractor
from ganforge.metrics.inception import FIDInceptionV3

from _machine import describe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "benchmarks" / "metrics.md"
lines: list[str] = []


def say(text: str = "") -> None:
    print(text, flush=True)
    lines.append(text)


def flush(done: bool) -> None:
    """Write what has been measured so far (an interrupted run says so at the end)."""
    tail = [] if done else ["", "*(interrupted: the sections above are all that this run measured)*"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines + tail) + "\n")


def machine() -> str:
    return f"{describe()}; numpy {np.__version__}, scipy {scipy.__version__}"


def sqrtm_fid(mu1, s1, mu2, s2) -> float:
    """The reference formula (pytorch-fid): trace of scipy.linalg.sqrtm(S1 S2)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def bench_frechet(d: int = 2048, n: int = 5000, repeats: int = 3) -> None:
    rng = np.random.default_rng(0)
    stats = []
    for scale in (1.0, 1.2):
        mix = np.eye(d) + rng.standard_normal((d, d)) * (0.5 / np.sqrt(d))  # well conditioned
        x = rng.standard_normal((n, d)) @ mix * scale + rng.standard_normal(d) * 0.1
        stats.append((x.mean(0), np.cov(x, rowvar=False)))
    (mu1, s1), (mu2, s2) = stats
    cond = np.linalg.cond(s1)
    ours, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        ours = frechet_distance(mu1, s1, mu2, s2)
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    ref = sqrtm_fid(mu1, s1, mu2, s2)
    t_ref = time.perf_counter() - t
    med = statistics.median(times)
    say(
        f"## Frechet distance, {d}-d statistics from {n} samples (condition number of S1: {cond:.0f}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    say()
    say("| implementation | time (s) | value |")
    say("|---|---|---|")
    say(
        f"| ganforge `frechet_distance` (Cholesky + symmetric eigenvalues), median of {repeats} "
        f"(min {min(times):.3f}, max {max(times):.3f}) | {med:.3f} | {ours:.10f} |"
    )
    say(f"| scipy.linalg.sqrtm formula (pytorch-fid), 1 run | {t_ref:.3f} | {ref:.10f} |")
    say()
    say(f"Speed-up: **{t_ref / med:.1f}x**; relative difference: **{abs(ours - ref) / abs(ref):.2e}**.")
    say()


def bench_extraction(mnist_test: np.ndarray) -> None:
    say("## Feature extraction throughput (CPU)")
    say()
    say("| extractor | batch | images | images/s |")
    say("|---|---|---|---|")
    ext = get_extractor("lenet-mnist")
    x = torch.from_numpy(mnist_test).float().div(127.5).sub(1).unsqueeze(1)  # [10000, 1, 28, 28]
    ext(x[:250])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(x), 250):
        ext(x[i : i + 250])
    say(f"| lenet-mnist | 250 | {len(x)} | {len(x) / (time.perf_counter() - t):,.0f} |")
    # inception-fid with RANDOM weights: the real weight file is not shipped, and the speed of the
    # network does not depend on its weight values
    incep = FeatureExtractor(
        FIDInceptionV3(), name="inception-fid (random weights)", size=299, channels=3, antialias=False
    )
    xs = x[:16]
    incep(xs[:2])
    t = time.perf_counter()
    for i in range(0, len(xs), 8):
        incep(xs[i : i + 8])
    say(
        f"| inception-fid, **random weights** (speed only; 28x28 grey input resized to 299x299 RGB) "
        f"| 8 | {len(xs)} | {len(xs) / (time.perf_counter() - t):,.1f} |"
    )
    say()


def bench_accuracy() -> None:
    say("## LeNet classifiers (shipped weights, full test splits)")
    say()
    say("| extractor | test set | accuracy | target |")
    say("|---|---|---|---|")
    for name, dataset, target in (("lenet-mnist", "mnist", 0.99), ("lenet-fashion", "fashion-mnist", 0.90)):
        images, labels = load_idx_dataset(dataset, "test")
        ext = get_extractor(name)
        x = torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)
        pred = torch.cat([ext(x[i : i + 1000]).logits.argmax(1) for i in range(0, len(x), 1000)]).numpy()
        acc = (pred == labels).mean()
        say(f"| {name} | {dataset} test ({len(labels)}) | {acc:.4f} | >= {target:.2f} |")
    say()


def train_sampler(dataset: str):
    """A stand-in for a perfect generator: training images drawn at random by seed (the IDX files
    need not be shuffled: a prefix can hold only a few classes)."""
    images, _ = load_idx_dataset(dataset, "train")

    def sample(n, seed):
        idx = np.random.default_rng(seed).choice(len(images), n, replace=False)
        return torch.from_numpy(images[idx]).float().div(127.5).sub(1).unsqueeze(1)

    return sample


def bench_real_baselines() -> None:
    say("## Real data against real data (what a perfect generator would score)")
    say()
    say(
        "FID between whole splits (all images of both: 60,000 train, 10,000 test); the other metrics "
        "draw 10,000 random training images (batches of 250, without replacement within a batch) as the "
        "'generated' side against the full test split (KID: 100 subsets of 1,000; precision/recall k=3, "
        "density/coverage k=5 on 10,000 vs 10,000)."
    )
    say()
    say(
        "| data set | extractor | FID train vs test | FID (10k train vs test) | KID | IS (10k train) | precision | recall | density | coverage | time (s) |"
    )
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset, ext_name in (("mnist", "lenet-mnist"), ("fashion-mnist", "lenet-fashion")):
        t = time.perf_counter()
        ext = get_extractor(ext_name)
        train = reference_stats(f"{dataset}:train", ext, progress=False)
        test = reference_stats(f"{dataset}:test", ext, progress=False)
        full = frechet_distance(train.mu, train.sigma, test.mu, test.sigma)
        out = evaluate(
            train_sampler(dataset),
            ref=f"{dataset}:test",
            n=10000,
            extractor=ext,
            metrics=("fid", "kid", "is", "pr", "dc"),
            progress=False,
        )
        say(
            f"| {dataset} | {ext_name} | {full:.3f} | {out['fid']:.3f} | {out['kid']:.5f} +- {out['kid_std']:.5f} "
            f"| {out['is']:.3f} | {out['precision']:.4f} | {out['recall']:.4f} | {out['density']:.4f} "
            f"| {out['coverage']:.4f} | {time.perf_counter() - t:.1f} |"
        )
        flush(False)
    say()


def bench_fid_2000() -> None:
    sample = train_sampler("mnist")  # MNIST training images, chosen by seed

    say("## Time of one evaluation: FID of 2,000 samples vs mnist:test (lenet-mnist)")
    say()
    say(
        "The sampler returns MNIST training images, so the figures are the metric's own cost "
        "(a generator's sampling time comes on top)."
    )
    say()
    say("| reference statistics | metrics | time (s) | result |")
    say("|---|---|---|---|")
    for label, metrics in (
        ("computed (cold cache)", ("fid",)),
        ("cached", ("fid",)),
        ("cached", ("fid", "kid", "is", "pr", "dc")),
    ):
        t = time.perf_counter()
        out = evaluate(sample, ref="mnist:test", metrics=metrics, n=2000, progress=False)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in out.items())
        say(f"| {label} | {','.join(metrics)} | {time.perf_counter() - t:.2f} | {shown} |")
    say()


def main() -> None:
    torch.set_num_threads(2)
    cache = tempfile.mkdtemp(prefix="ganforge-bench-")
    os.environ["GANFORGE_CACHE"] = cache
    if "GANFORGE_DATA" not in os.environ and (ROOT.parent / "shared" / "data").is_dir():
        os.environ["GANFORGE_DATA"] = str(ROOT.parent / "shared" / "data")
    say("# Metrics benchmark")
    say()
    say("Command: `GANFORGE_DATA=/work/shared/data python benchmarks/metrics.py` (writes this file).")
    say()
    say(f"Machine: {machine()}.")
    say()
    t0 = time.perf_counter()
    mnist_test, _ = load_idx_dataset("mnist", "test")
    for section in (
        bench_frechet,
        lambda: bench_extraction(mnist_test),
        bench_accuracy,
        bench_fid_2000,
        bench_real_baselines,
    ):
        section()
        flush(False)
    say(f"Total benchmark time: {time.perf_counter() - t0:.0f} s.")
    flush(True)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
