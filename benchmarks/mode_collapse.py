"""Mode-collapse benchmarks of the literature (VEEGAN, PacGAN): 2-D ring / grid mixtures and Stacked MNIST.

    # train + evaluate presets over seeds; one JSON line per (preset, seed) is appended to --results
    python benchmarks/mode_collapse.py run grid25-gan grid25-wgan-gp ... --seeds 0-9
    python benchmarks/mode_collapse.py run stacked-mnist-dcgan --seeds 0
    # write the tables (mean +/- standard error over seeds) into docs/benchmarks/mode_collapse.md
    python benchmarks/mode_collapse.py report

Each run is `ganforge train PRESET train.seed=S` (with threads=1, no TensorBoard or sample grids, one
checkpoint at the end), then an evaluation of the trained generator (its EMA copy when the preset keeps
one) through `ganforge.load`:
  2-D:    2,500 samples (seed S) -> ganforge.modes.mixture_scores: modes captured, % high quality
          (within 3 sigma of a mode), reverse KL of the HQ mode histogram to uniform.
  Stacked MNIST: 26,000 samples -> each channel read by the `lenet-mnist` classifier ->
          ganforge.modes.stacked_mnist_scores: modes covered of 1,000, KL(histogram || uniform).
CPU time is the process's CPU seconds for the training alone (time.process_time), the figure the
budgets are stated in; wall time is recorded too but depends on the other load on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mode_collapse.jsonl"
DOC = ROOT / "docs" / "benchmarks" / "mode_collapse.md"
IMG = ROOT / "docs" / "benchmarks" / "img"
RUNS = Path(os.environ.get("GANFORGE_BENCH_RUNS", "/tmp/ganforge-mode-collapse"))
FAST = [
    "train.threads=1",
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.ckpt_every=0",
    "train.log_every=1000",
]


def machine() -> str:
    """The machine in each record: no commit or load, so records of one machine group together in the report."""
    return f"{os.cpu_count()} cores ({cpu_name()}), torch {torch.__version__}, Python {platform.python_version()}"


def seeds(spec: str) -> list[int]:
    """'0-9' or '0,3,5' -> list of ints."""
    if "-" in spec:
        lo, hi = spec.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in spec.split(",")]


# --- one run -----------------------------------------------------------------------------------------
def evaluate_points(model, preset: str, seed: int, picture: bool, n: int = 2500) -> dict:
    from ganforge.data.datasets import MIXTURES
    from ganforge.modes import mixture_scores

    mix = MIXTURES[model.config.data.name]()
    x = model.sample(n, seed=seed)
    scores = mixture_scores(x, mix.modes, mix.sigma)
    if picture:
        from ganforge.training.logging import scatter

        IMG.mkdir(parents=True, exist_ok=True)
        real = mix.sample(n, torch.Generator().manual_seed(1))
        scatter(x.clamp(-6, 6), IMG / f"{preset}.png", real=real, modes=mix.modes)
    return scores


def stacked_classifier():
    """lenet-mnist's logits as a function of grey [n, 1, 28, 28] images in [-1, 1]."""
    from ganforge.metrics import get_extractor

    ext = get_extractor("lenet-mnist")
    return lambda grey: ext(grey).logits


def evaluate_stacked(model, preset: str, seed: int, picture: bool, n: int = 26_000) -> dict:
    from ganforge.modes import classify_channels, stacked_mnist_scores, stacked_mode_ids

    x = model.sample(n, seed=seed, batch_size=500)  # [n, 3, 28, 28]
    digits = classify_channels(x, stacked_classifier())
    scores = stacked_mnist_scores(digits)
    if picture:
        save_histogram(stacked_mode_ids(digits), IMG / f"{preset}.png", preset)
        from ganforge.training.logging import save_samples

        save_samples(x[:64], IMG / f"{preset}-samples.png")
    return scores


def save_histogram(mode_ids: torch.Tensor, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = torch.bincount(mode_ids, minlength=1000).numpy()
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    ax.bar(range(1000), counts, width=1.0, color="tab:orange")
    ax.axhline(len(mode_ids) / 1000, color="black", lw=0.8, label="uniform")
    ax.set_xlabel("mode (100 R + 10 G + B digit)")
    ax.set_ylabel("samples")
    ax.set_title(f"{title}: {int((counts > 0).sum())} / 1000 modes")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def run_one(preset: str, seed: int, extra: list[str], eval_only: bool = False) -> dict:
    import ganforge
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    cfg = load_config(preset, [*FAST, f"train.seed={seed}", *extra])
    run_dir = RUNS / f"{preset}-s{seed}"
    timing = run_dir / "bench_timing.json"
    if not (eval_only and timing.exists()):
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        Trainer(cfg, run_dir, overwrite=True).fit()
        timing.write_text(json.dumps({"cpu_s": time.process_time() - t_cpu, "wall_s": time.perf_counter() - t_wall}))
    cpu, wall = json.loads(timing.read_text()).values()
    model = ganforge.load(run_dir)
    kind = "stacked" if cfg.data.name == "stacked-mnist" else cfg.data.name
    picture = seed == 0 and not extra  # one picture per preset, never from an experiment
    scores = (evaluate_stacked if kind == "stacked" else evaluate_points)(model, preset, seed, picture)
    return {
        "bench": kind,
        "preset": preset,
        "seed": seed,
        "overrides": extra,
        **scores,
        "cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
        "steps": cfg.train.steps,
        "ema": cfg.train.ema is not None,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def cmd_run(args) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    done = {(r["preset"], r["seed"]) for r in load_results() if not r.get("overrides")} if args.skip_done else set()
    for seed in seeds(args.seeds):  # seed-major: an interrupted sweep still covers every preset
        for preset in args.presets:
            if (preset, seed) in done and not args.set:
                continue
            rec = run_one(preset, seed, args.set or [], args.eval_only)
            with open(RESULTS, "a") as f:
                f.write(json.dumps(rec) + "\n")
            shown = {k: rec[k] for k in ("modes", "hq", "reverse_kl", "kl", "kl_digits", "cpu_s", "wall_s") if k in rec}
            print(preset, seed, shown, flush=True)


def cmd_reference(args) -> None:
    """The scores of real data under the same evaluation: the ceiling each column can reach."""
    from ganforge.config import load_config
    from ganforge.data import build_dataset
    from ganforge.data.datasets import MIXTURES
    from ganforge.modes import classify_channels, mixture_scores, stacked_mnist_scores

    torch.set_num_threads(1)
    recs = []
    for bench in ("ring8", "grid25"):
        mix = MIXTURES[bench]()
        for seed in seeds(args.seeds):
            x = mix.sample(2500, torch.Generator().manual_seed(1000 + seed))
            recs.append(
                {"bench": bench, "preset": "real data", "seed": seed, **mixture_scores(x, mix.modes, mix.sigma)}
            )
    # 26,000 stacks of MNIST *test* digits: the classifier was trained on the training digits
    data = build_dataset(
        load_config(None, ["data.name=stacked-mnist", "data.split=test", "data.num_points=26000"]).data
    )
    digits = classify_channels(data.x, stacked_classifier())
    recs.append(
        {
            "bench": "stacked",
            "preset": "real data",
            "seed": 0,
            "steps": 0,
            "cpu_s": 0.0,
            **stacked_mnist_scores(digits),
            "accuracy": float((digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2] == data.y).float().mean()),
        }
    )
    stamp = {"overrides": [], "cpu_s": 0.0, "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    for rec in recs:
        rec.update(stamp)
    with open(RESULTS, "a") as f:
        for rec in recs:
            f.write(json.dumps(rec) + "\n")
    print(recs[-1])


# --- the report --------------------------------------------------------------------------------------
def mean_se(values: list[float], fmt: str) -> str:
    if any(math.isinf(v) for v in values):
        finite = [v for v in values if not math.isinf(v)]
        return (
            f"inf ({len(values) - len(finite)} runs)"
            if not finite
            else f"{mean_se(finite, fmt)} ({len(values) - len(finite)} inf)"
        )
    m = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{m:{fmt}} ± {se:{fmt}}" if len(values) > 1 else f"{m:{fmt}}"


def load_results() -> list[dict]:
    """The latest record per (preset, seed, overrides): a rerun replaces an older one."""
    latest: dict = {}
    if not RESULTS.exists():
        return []
    for line in RESULTS.read_text().splitlines():
        rec = json.loads(line)
        latest[(rec["bench"], rec["preset"], rec["seed"], tuple(rec.get("overrides", [])))] = rec
    return list(latest.values())


def table_2d(recs: list[dict], bench: str, k: int) -> str:
    from ganforge.config import PRESETS

    groups: dict = {}
    for r in recs:  # presets renamed or removed since a record was made are left out
        if r["bench"] == bench and not r.get("overrides") and (r["preset"] == "real data" or r["preset"] in PRESETS):
            groups.setdefault(r["preset"], []).append(r)
    rows = [
        f"| preset | what | seeds | modes (of {k}) | % high quality | reverse KL | CPU s / seed |",
        "|---|---|---|---|---|---|---|",
    ]
    order = ["real data", "vanilla", "pacgan2", "r1", "hinge-sn", "wgan", "wgan-gp", "ema", "pacgan2-ema", "r1-ema"]

    def rank(preset: str) -> int:  # rows in `order`, by the preset's suffix
        suffix = preset.removeprefix(f"{bench}-")
        return order.index(suffix) if suffix in order else len(order)

    for preset, rs in sorted(groups.items(), key=lambda kv: (rank(kv[0]), kv[0])):
        rs.sort(key=lambda r: r["seed"])
        real = preset == "real data"
        what = "2,500 points drawn from the mixture" if real else PRESETS.doc(preset) if preset in PRESETS else ""
        cpu = "—" if real else f"{statistics.fmean(r['cpu_s'] for r in rs):.0f}"
        rows.append(
            f"| {preset if real else f'`{preset}`'} | {what} | {len(rs)} | "
            f"{mean_se([r['modes'] for r in rs], '.1f')} | "
            f"{mean_se([100 * r['hq'] for r in rs], '.1f')} | "
            f"{mean_se([r['reverse_kl'] for r in rs], '.3f')} | "
            f"{cpu} |"
        )
    return "\n".join(rows)


def table_tried(recs: list[dict]) -> str:
    """2-D runs with --set overrides (the experiments behind "what was tried"), each beside its preset's
    own runs on the same seeds."""
    from ganforge.config import PRESETS

    base = {(r["preset"], r["seed"], r.get("steps")): r for r in recs if not r.get("overrides")}
    groups: dict = {}
    for r in recs:
        if r["bench"] != "stacked" and r.get("overrides") and r["preset"] in PRESETS:
            groups.setdefault((r["preset"], tuple(r["overrides"]), r["steps"]), []).append(r)
    rows = [
        "| preset | overrides | steps | seeds | modes | % high quality | CPU s / seed | the preset alone on the "
        "same seeds and steps: modes, % HQ |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (preset, over, steps), rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["seed"])
        same = [base[(preset, r["seed"], steps)] for r in rs if (preset, r["seed"], steps) in base]
        ref = (
            f"{mean_se([b['modes'] for b in same], '.1f')}, {mean_se([100 * b['hq'] for b in same], '.1f')}"
            if len(same) == len(rs)
            else "—"
        )
        rows.append(
            f"| `{preset}` | `{' '.join(over)}` | {steps} | {','.join(str(r['seed']) for r in rs)} | "
            f"{mean_se([r['modes'] for r in rs], '.1f')} | {mean_se([100 * r['hq'] for r in rs], '.1f')} | "
            f"{statistics.fmean(r['cpu_s'] for r in rs):.0f} | {ref} |"
        )
    return "\n".join(rows)


def table_stacked(recs: list[dict]) -> str:
    from ganforge.config import PRESETS

    rows = [
        "| preset | what | seed | steps | modes (of 1000) | KL | of which digit frequencies | CPU min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        (r for r in recs if r["bench"] == "stacked"), key=lambda r: (r["preset"] != "real data", r["preset"], r["seed"])
    ):
        over = f" `{' '.join(r['overrides'])}`" if r.get("overrides") else ""
        digits = f"{r['kl_digits']:.3f}" if "kl_digits" in r else "—"  # records from before it was measured
        if r["preset"] == "real data":
            rows.append(
                f"| real data | 26,000 stacks of MNIST test digits (classifier accuracy on whole stacks "
                f"{100 * r['accuracy']:.1f} %) | — | — | {r['modes']:.0f} | {r['kl']:.3f} | {digits} | — |"
            )
            continue
        rows.append(
            f"| `{r['preset']}`{over} | {PRESETS.doc(r['preset']) if r['preset'] in PRESETS else ''} | "
            f"{r['seed']} | {r['steps']} | {r['modes']:.0f} | {r['kl']:.3f} | {digits} | "
            f"{r['cpu_s'] / 60:.1f} |"
        )
    return "\n".join(rows)


def replace_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- BEGIN {name} (written by benchmarks/mode_collapse.py report) -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body}\n{end}"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no '{begin}' marker")
    return pattern.sub(lambda _: block, text)


def cmd_report(args) -> None:
    recs = load_results()
    text = DOC.read_text()
    machines = sorted({r["machine"] for r in recs})
    text = replace_block(text, "machine", "Measured on: " + "; ".join(machines) + ".")
    text = replace_block(text, "grid25", table_2d(recs, "grid25", 25))
    text = replace_block(text, "ring8", table_2d(recs, "ring8", 8))
    text = replace_block(text, "stacked", table_stacked(recs))
    text = replace_block(text, "tried", table_tried(recs))
    DOC.write_text(text)
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train and evaluate presets over seeds")
    r.add_argument("presets", nargs="+")
    r.add_argument("--seeds", default="0-9", help="'0-9' or '0,1,2'")
    r.add_argument("--set", nargs="*", help="extra key=value overrides (recorded with the result)")
    r.add_argument("--skip-done", action="store_true", help="skip (preset, seed) pairs already in the results")
    r.add_argument(
        "--eval-only",
        action="store_true",
        help="evaluate runs already trained by an earlier `run` (kept under $GANFORGE_BENCH_RUNS)",
    )
    r.set_defaults(fn=cmd_run)
    ref = sub.add_parser("reference", help="score real data with the same evaluation (the ceiling)")
    ref.add_argument("--seeds", default="0-9")
    ref.set_defaults(fn=cmd_reference)
    sub.add_parser("report", help="write the tables into docs/benchmarks/mode_collapse.md").set_defaults(fn=cmd_report)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
