"""GANomaly on MNIST leave-one-class-out, against three baselines, for a fixed CPU-time budget.

For each held-out digit d and seed: every model learns the nine other digits of the MNIST training
split at 32 px and scores the whole test split (10,000 images, anomaly = digit d); AUROC per
digit and seed. The models:

    ganomaly   the library's family through its Trainer, `--budget` CPU-seconds of training steps;
               score: the latent distance mean((GE(x) - E(G(x)))^2) (raw: AUROC is rank-based, so the
               [0, 1] scaling on the training set does not change it)
    ae         a convolutional autoencoder of the same size (GANomaly's GE and GD), MSE, Adam with
               g_optim's settings, batch 64, the same budget; score: per-image reconstruction MSE
    iforest    scikit-learn IsolationForest on pixels (100 trees, 256 samples each, n_jobs=1)
    knn        mean Euclidean pixel distance to the k nearest of a seeded subsample of the normal
               training images (--knn-k, --knn-n)

    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/anomaly.py [--digits 0,1] [--seeds 0]
        [--budget 20] [--ganomaly key=value ...] [--write]

The budget is process CPU time (time.process_time, one thread), so a busy shared machine slows a
run without changing how much training it gets. Every invocation appends its summary to
benchmarks/results/anomaly_trials.jsonl; --write also writes docs/benchmarks/anomaly.md (the
table, the command, the machine and the runs tried).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ganforge.config import load_config  # noqa: E402
from ganforge.data import BatchStream, build_dataset  # noqa: E402
from ganforge.metrics.anomaly import auroc  # noqa: E402
from ganforge.models.dcgan import DCGANGenerator  # noqa: E402
from ganforge.models.ganomaly import Encoder  # noqa: E402
from ganforge.objectives.anomaly import raw_scores  # noqa: E402
from ganforge.schema import DataConfig  # noqa: E402
from ganforge.training.loop import Trainer  # noqa: E402

from _machine import QUIET_RUN, cpu_name  # noqa: E402

METHODS = ("ganomaly", "ae", "iforest", "knn")
TRIALS = Path("benchmarks/results/anomaly_trials.jsonl")
# the recipe of the table: GANomaly at the paper's loss weights and z, a quarter of the paper's width 64
# so that a CPU budget of seconds buys some hundreds of steps (width 32 gave ~180 steps in 20 s)
DEFAULT_GANOMALY = ["model.z_dim=100", "model.g_width=16", "model.d_width=16"]


def mnist(split: str, exclude: int | None = None):
    return build_dataset(
        DataConfig(name="mnist", split=split, resolution=32, exclude_classes=None if exclude is None else [exclude])
    )


def model_sizes(overrides: list[str]) -> tuple[int, int]:
    cfg = load_config(None, ["model.family=ganomaly", *overrides])
    return cfg.model.z_dim, cfg.model.g_width


def train_ganomaly(train, test_x, digit, seed, budget, overrides, tmp) -> tuple[np.ndarray, int, float]:
    cfg = load_config(
        None,
        [
            "model.family=ganomaly",
            "data.resolution=32",
            f"data.exclude_classes=[{digit}]",
            f"train.seed={seed}",
            "train.steps=100000000",
            "train.precision=32",
            *QUIET_RUN,
            *overrides,
        ],
    )
    trainer = Trainer(cfg, Path(tmp) / f"ganomaly-{digit}-{seed}", data=train)
    t0 = time.process_time()
    while time.process_time() - t0 < budget:
        trainer.train_step()
    cpu = time.process_time() - t0
    G = trainer.nets["G"].eval()
    return raw_scores(G, test_x).numpy(), trainer.step, cpu


class AutoEncoder(nn.Module):
    """GANomaly's GE -> GD alone."""

    def __init__(self, z_dim: int, width: int):
        super().__init__()
        self.encoder = Encoder(1, 32, z_dim, width)
        self.decoder = DCGANGenerator(z_dim, 1, 32, width)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def train_ae(train, test_x, seed, budget, z_dim, width, lr=2e-4, batch=64) -> tuple[np.ndarray, int, float]:
    torch.manual_seed(seed)
    ae = AutoEncoder(z_dim, width)
    opt = torch.optim.Adam(ae.parameters(), lr=lr, betas=(0.5, 0.999))
    stream = BatchStream(len(train), batch, seed)
    steps, t0 = 0, time.process_time()
    while time.process_time() - t0 < budget:
        x = train.x[stream.next()]
        loss = (ae(x) - x).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    cpu = time.process_time() - t0
    ae.eval()
    with torch.no_grad():
        s = torch.cat([(ae(c) - c).square().flatten(1).mean(1) for c in test_x.split(512)])
    return s.numpy(), steps, cpu


def iforest(train, test_x, seed) -> np.ndarray:
    from sklearn.ensemble import IsolationForest

    f = IsolationForest(n_estimators=100, max_samples=256, random_state=seed, n_jobs=1)
    f.fit(train.x.flatten(1).numpy())
    return -f.score_samples(test_x.flatten(1).numpy())  # higher: more anomalous


def knn(train, test_x, seed, k, n) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    ref = train.x[torch.randperm(len(train), generator=gen)[:n]].flatten(1)  # [n, 1024]
    out = []
    for c in test_x.flatten(1).split(1000):
        d = torch.cdist(c, ref)  # [1000, n]
        out.append(d.topk(k, dim=1, largest=False).values.mean(1))
    return torch.cat(out).numpy()


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def summarise(results: list[dict], digits: list[int], seeds: list[int]) -> dict:
    """method -> {"digits": {d: (mean, std over seeds)}, "mean": mean over digits, "std": std over seeds of
    the mean over digits}."""
    out = {}
    for m in METHODS:
        table = {(r["digit"], r["seed"]): r[m] for r in results}
        per_digit = {d: np.array([table[d, s] for s in seeds]) for d in digits}
        per_seed = np.array([np.mean([table[d, s] for d in digits]) for s in seeds])
        out[m] = {
            "digits": {d: (float(v.mean()), float(v.std())) for d, v in per_digit.items()},
            "mean": float(per_seed.mean()),
            "std": float(per_seed.std()),
        }
    return out


def markdown(args, summary, results, digits, seeds, load_before, load_after, wall, cpu_total, command, rev) -> str:
    z_dim, width = model_sizes(args.ganomaly)
    names = {
        "ganomaly": "GANomaly",
        "ae": "conv. autoencoder",
        "iforest": "IsolationForest",
        "knn": f"kNN (k={args.knn_k})",
    }
    steps = {m: [r[f"{m}_steps"] for r in results] for m in ("ganomaly", "ae")}
    lines = [
        "# Anomaly detection: GANomaly on MNIST, one digit held out",
        "",
        "Protocol: for each digit d, every model learns the other nine digits of the MNIST training split "
        "(about 54,000 images) at 32 px and scores the whole test split (10,000 images; anomalies: the "
        f"~1,000 images of digit d); AUROC, mean ± std over seeds {', '.join(map(str, seeds))}. The overall "
        "figure is the mean over digits; its ± is the std over seeds of the mean over digits.",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPU cores ({cpu_name()}), torch {torch.__version__}, 1 thread, "
        f"ganforge commit {rev}; load average (1, 5, 15 min) before "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, after {', '.join(f'{v:.2f}' for v in load_after)} "
        f"(the machine is shared; budgets are CPU time, so load slows the run without changing it). "
        f"Whole run: {cpu_total / 60:.1f} CPU-minutes, {wall / 60:.1f} minutes wall clock.",
        "",
        "Models:",
        "",
        f"- **GANomaly** (`model.family=ganomaly`, {' '.join(args.ganomaly)}): z {z_dim}, widths {width}, BatchNorm, "
        "loss weights w_adv 1, w_con 50, w_enc 1 (the paper's), Adam 2e-4 (0.5, 0.999), batch 64, no EMA; "
        f"{args.budget:g} CPU-seconds of training steps each ({min(steps['ganomaly'])} to "
        f"{max(steps['ganomaly'])} steps). Score: the latent distance, raw (AUROC is rank-based; the [0, 1] "
        "scaling `ganforge detect` applies does not change it).",
        f"- **Convolutional autoencoder**: GANomaly's GE and GD alone (the same sizes), MSE, the same optimiser, "
        f"batch and budget ({min(steps['ae'])} to {max(steps['ae'])} steps). Score: reconstruction MSE.",
        "- **IsolationForest** (scikit-learn): 100 trees of 256 samples on the 1,024 pixels, random_state = seed.",
        f"- **kNN**: the mean Euclidean pixel distance to the {args.knn_k} nearest of {args.knn_n:,} normal "
        "training images drawn with the seed (pixels, not LeNet features: that network saw every class's labels).",
        "",
        "The budget counts training steps only: loading the data and scoring the test split are outside it, and "
        "IsolationForest and kNN have no budget (they fit in seconds). No checkpoint is saved, so GANomaly's "
        "training-set score range (the [0, 1] scaling) is not computed here.",
        "",
        "| held-out digit | " + " | ".join(names[m] for m in METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    for d in digits:
        cells = [f"{summary[m]['digits'][d][0]:.4f} ± {summary[m]['digits'][d][1]:.4f}" for m in METHODS]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    cells = [f"**{summary[m]['mean']:.4f} ± {summary[m]['std']:.4f}**" for m in METHODS]
    lines.append("| **mean** | " + " | ".join(cells) + " |")
    g, a, i, k = (summary[m]["mean"] for m in METHODS)
    lines += [
        "",
        f"Target (must): GANomaly's mean above the autoencoder's and IsolationForest's: "
        f"{'met' if g > a and g > i else 'missed'} ({g:.4f} vs {a:.4f} and {i:.4f}). "
        f"Stretch: above kNN: {'met' if g > k else 'missed'} ({g:.4f} vs {k:.4f}).",
        "",
        "## Runs tried",
        "",
        "Every invocation of the script, from benchmarks/results/anomaly_trials.jsonl (means over the digits "
        "and seeds of that run; a run on fewer digits is not comparable with the full table; - : not run). "
        "Steps per budget vary with the machine's load (caches and memory bandwidth are shared), "
        "so equal budgets give unequal step counts.",
        "",
        "| when (UTC) | digits | seeds | budget (CPU-s) | GANomaly options | GANomaly | AE | IForest | kNN |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for line in TRIALS.read_text().splitlines() if TRIALS.exists() else []:
        t = json.loads(line)
        lines.append(
            f"| {t['when']} | {','.join(map(str, t['digits']))} | {','.join(map(str, t['seeds']))} | {t['budget']:g} | "
            f"{' '.join(t['ganomaly_options']) or '-'} | "
            + " | ".join("-" if np.isnan(t["means"][m]) else f"{t['means'][m]:.4f}" for m in METHODS)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", default="0,1,2,3,4,5,6,7,8,9", help="held-out digits, comma-separated")
    ap.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated")
    ap.add_argument("--budget", type=float, default=20.0, help="CPU seconds of training per GANomaly and per AE")
    ap.add_argument("--ganomaly", nargs="*", default=DEFAULT_GANOMALY, help="GANomaly config overrides key=value")
    ap.add_argument("--knn-k", type=int, default=5)
    ap.add_argument("--knn-n", type=int, default=10000, help="normal training images kNN compares with")
    ap.add_argument("--methods", default=",".join(METHODS), help="a subset to run (trials only)")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks/anomaly.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    digits = [int(d) for d in args.digits.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    z_dim, width = model_sizes(args.ganomaly)
    command = "GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python " + shlex.join(
        ["benchmarks/anomaly.py", *sys.argv[1:]]
    )
    load_before, wall0, cpu0 = os.getloadavg(), time.perf_counter(), time.process_time()
    rev = commit()  # the code that runs, whatever is committed meanwhile
    test = mnist("test")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in digits:
            train = mnist("train", exclude=d)
            is_anomaly = (test.y == d).numpy()
            for s in seeds:
                r = {"digit": d, "seed": s}
                if "ganomaly" in methods:
                    scores, r["ganomaly_steps"], _ = train_ganomaly(
                        train, test.x, d, s, args.budget, args.ganomaly, tmp
                    )
                    r["ganomaly"] = auroc(scores, is_anomaly)
                if "ae" in methods:
                    scores, r["ae_steps"], _ = train_ae(train, test.x, s, args.budget, z_dim, width)
                    r["ae"] = auroc(scores, is_anomaly)
                if "iforest" in methods:
                    r["iforest"] = auroc(iforest(train, test.x, s), is_anomaly)
                if "knn" in methods:
                    r["knn"] = auroc(knn(train, test.x, s, args.knn_k, args.knn_n), is_anomaly)
                results.append(r)
                print(json.dumps(r), f"(CPU {time.process_time() - cpu0:.0f} s)", flush=True)
    wall, cpu_total = time.perf_counter() - wall0, time.process_time() - cpu0
    ran = [m for m in METHODS if m in methods]
    means = {m: float(np.mean([r[m] for r in results])) for m in ran}
    trial = {
        "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": rev,
        "digits": digits,
        "seeds": seeds,
        "budget": args.budget,
        "ganomaly_options": args.ganomaly,
        "means": {m: means.get(m, float("nan")) for m in METHODS},
        "cpu_s": cpu_total,
        "results": results,
    }
    TRIALS.parent.mkdir(parents=True, exist_ok=True)
    with TRIALS.open("a") as f:
        f.write(json.dumps(trial) + "\n")
    print("means:", json.dumps(means), f"CPU {cpu_total:.0f} s, wall {wall:.0f} s")
    if args.write:
        if ran != list(METHODS):
            raise SystemExit("--write needs every method")
        summary = summarise(results, digits, seeds)
        text = markdown(
            args, summary, results, digits, seeds, load_before, os.getloadavg(), wall, cpu_total, command, rev
        )
        Path("docs/benchmarks/anomaly.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
