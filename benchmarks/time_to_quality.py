"""Time to quality: each family's main preset trained for a budget of process CPU-seconds, scored at
fixed fractions of the budget, beside the same networks trained by the plain DCGAN-tutorial recipe.

    export GANFORGE_DATA=../shared/data
    python benchmarks/time_to_quality.py train dcgan-mnist [--recipe ganforge|plain] [--budget-min 10]
    python benchmarks/time_to_quality.py eval dcgan-mnist [--recipe ...] [--n 10000]
    python benchmarks/time_to_quality.py report

Budget: `time.process_time()` of the training process (all of its threads counted; the runs use one
torch thread, `train.threads=1`), checked after every step; the checkpoints written at 1/8, 1/4, 1/2
and 1 of the budget are not counted in it. The plain recipe is what a user would run instead: the
same networks, Adam 2e-4 (0.5, 0.999), the BCE (non-saturating) loss, one D step, no EMA, no
regulariser or augmentation, fp32, separate fakes for D and G, run through the same loop.

Scores: ganforge's LeNet features (`lenet-mnist` / `lenet-fashion`), n samples (10,000 by default)
against the whole test split; the share of each class as read by the same LeNet; for conditional
models the class accuracy (the LeNet reads the class G was asked for) and intra-class FID.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "time-to-quality"
# each evaluated run's record (bench.json + its saved config), kept in git: the runs folder is not
RECORDS = REPO / "benchmarks" / "results" / "time_to_quality_runs"
OUT_MD = REPO / "docs" / "benchmarks" / "time_to_quality.md"
IMG_DIR = REPO / "docs" / "benchmarks" / "img"
FRACTIONS = (0.125, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Row:
    """One line of the issue's table: a preset, its budget, how it is scored, what it must reach."""

    label: str
    preset: str
    budget_min: float
    data: str  # mnist | fashion-mnist: the reference test split and the LeNet that scores it
    must: str  # the target, as the issue states it
    overrides: tuple[str, ...] = ()  # on the preset: the recipe under test
    conditional: bool = False
    plain_extra: tuple[str, ...] = field(default=())  # what the plain recipe still needs (e.g. its own loss name)


ROWS: dict[str, Row] = {
    "dcgan-mnist": Row("DCGAN, MNIST 28 px", "dcgan-mnist", 10, "mnist", "FID <= 80, 10 classes each 7-13%"),
    "dcgan-fashion": Row("DCGAN, Fashion-MNIST 28 px", "dcgan-fashion", 10, "fashion-mnist", "FID <= 60"),
    "cdcgan-mnist": Row(
        "conditional DCGAN (cond. BN G, projection D), MNIST",
        "cdcgan-mnist",
        15,
        "mnist",
        "class acc >= 97%, FID <= 1.5x the unconditional",
        conditional=True,
    ),
    "acgan-mnist": Row(
        "AC-GAN, MNIST", "acgan-mnist", 15, "mnist", "class acc >= 97%, intra-class FID <= 3x FID", conditional=True
    ),
    "cgan-mnist": Row(
        "CGAN, MNIST", "cgan-mnist", 15, "mnist", "class acc >= 97%, intra-class FID <= 3x FID", conditional=True
    ),
    "quickstart": Row("quickstart (embedded test split)", "quickstart", 3, "mnist", "FID <= 250 on 2,000 samples"),
    # the other rows: listed so the table shows what is not measured yet
    "sngan-proj-mnist": Row(
        "projection-D ResNet (SNGAN, cond. BN), MNIST 32 px",
        "sngan-proj-mnist",
        15,
        "mnist",
        "class acc >= 97%, FID <= 1.5x the unconditional",
        conditional=True,
    ),
    "biggan-mnist": Row(
        "BigGAN, MNIST 32 px",
        "biggan-mnist",
        15,
        "mnist",
        "class acc >= 97%, FID <= 1.5x the unconditional",
        conditional=True,
    ),
    "stylegan-mnist": Row("StyleGAN2, MNIST 32 px", "stylegan-mnist", 30, "mnist", "FID <= 150, 10 classes each 5-15%"),
}

PLAIN = [
    "loss.name=nonsaturating",
    "g_optim.name=adam",
    "d_optim.name=adam",
    "g_optim.lr=2e-4",
    "d_optim.lr=2e-4",
    "g_optim.beta1=0.5",
    "d_optim.beta1=0.5",
    "g_optim.beta2=0.999",
    "d_optim.beta2=0.999",
    "train.ema=null",
    "train.d_steps=1",
    "train.precision=32",
    "train.channels_last=false",
    "loss.share_fake=false",
]


def run_dir(name: str, recipe: str, seed: int, tag: str = "") -> Path:
    """runs/time-to-quality/ROW-RECIPE[-TAG]-sSEED: a tag names a recipe tried beside the preset's."""
    return RUNS / f"{name}-{recipe}{'-' + tag if tag else ''}-s{seed}"


def config_for(name: str, recipe: str, seed: int, extra: list[str]):
    from ganforge.config import load_config

    row = ROWS[name]
    common = [*QUIET_RUN, "train.steps=100000000", f"train.seed={seed}", f"train.keep_ckpts={len(FRACTIONS) + 1}"]
    recipe_overrides = list(row.overrides) if recipe == "ganforge" else [*PLAIN, *row.plain_extra]
    return load_config(row.preset, [*common, *recipe_overrides, *extra])


def train(name: str, recipe: str, seed: int, budget_min: float | None, extra: list[str], tag: str = "") -> dict:
    """Train for the row's budget of process CPU-seconds; a checkpoint at each fraction of it."""
    from ganforge.training.loop import Trainer

    row = ROWS[name]
    budget = 60.0 * (budget_min if budget_min is not None else row.budget_min)
    cfg = config_for(name, recipe, seed, extra)
    out = run_dir(name, recipe, seed, tag)
    trainer = Trainer(cfg, out, overwrite=True)
    for net in trainer.nets.values():
        net.train()
    points, excluded, load_start = [], 0.0, os.getloadavg()[0]
    t0, w0 = time.process_time(), time.perf_counter()
    for frac in FRACTIONS:
        while time.process_time() - t0 - excluded < frac * budget:
            trainer.train_step()
        s0 = time.process_time()
        trainer.cfg.train.steps = trainer.step
        path = trainer.save(final=frac == FRACTIONS[-1])
        excluded += time.process_time() - s0
        points.append(
            {"fraction": frac, "step": trainer.step, "cpu_s": time.process_time() - t0 - excluded, "ckpt": str(path)}
        )
        print(json.dumps(points[-1]), flush=True)
    trainer.sample_grid()
    info = {
        "row": name,
        "recipe": recipe,
        "seed": seed,
        "tag": tag,
        "budget_cpu_s": budget,
        "wall_s": time.perf_counter() - w0,
        "finished": time.time(),
        "points": points,
        "batch_size": cfg.train.batch_size,
        "overrides": [*(row.overrides if recipe == "ganforge" else PLAIN), *extra],
        "precision": trainer.setup["precision"],
        "machine": describe(),
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
    }
    (out / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def class_shares(model, n: int, extractor: str) -> list[float]:
    """The share of each class among n unconditional samples, as the LeNet reads them."""
    from ganforge.inference.sampling import sample_batches
    from ganforge.metrics.extractors import get_extractor

    net = get_extractor(extractor)
    counts = torch.zeros(10)
    for x, _ in sample_batches(model, n, seed=1, batch_size=500):
        counts += torch.bincount(net(x).logits.argmax(1), minlength=10).float()
    return (counts / counts.sum()).tolist()


def evaluate_run(name: str, recipe: str, seed: int, n: int, tag: str = "") -> dict:
    from ganforge.inference.model import load_model
    from ganforge.metrics import evaluate
    from ganforge.metrics.pipeline import model_sampler
    from ganforge.metrics.sources import SamplerSource

    row = ROWS[name]
    info = json.loads((run_dir(name, recipe, seed, tag) / "bench.json").read_text())
    ref, extractor = f"{row.data}:test", f"lenet-{'fashion' if row.data == 'fashion-mnist' else 'mnist'}"
    metrics = "fid,ifid,acc" if row.conditional else "fid"
    for point in info["points"]:
        t0 = time.process_time()
        model = load_model(point["ckpt"])  # the EMA generator where the run kept one
        source = SamplerSource(model_sampler(model), n, 0, name=f"{name}-{recipe}-step{point['step']}")
        out = evaluate(source, ref=ref, metrics=metrics, n=n, extractor=extractor, progress=False)
        if not row.conditional:
            out["class_shares"] = class_shares(model, n, extractor)
        point["scores"] = {"n": n, **out, "eval_cpu_s": time.process_time() - t0}
        print(json.dumps({"fraction": point["fraction"], **point["scores"]}), flush=True)
    info["eval_load"] = os.getloadavg()[0]
    out = run_dir(name, recipe, seed, tag)
    (out / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    keep_record(out, info)
    return info


def keep_record(out: Path, info: dict) -> None:
    """Copy what the report needs of an evaluated run (scores, saved config, last grid) into git's reach."""
    RECORDS.mkdir(parents=True, exist_ok=True)
    record = {**info, "config": json.loads((out / "config.json").read_text())}
    (RECORDS / f"{out.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    copy_grid({**info, "dir": out})


# --- probes: short runs that diagnose a defect (label ignored, collapse) before a full budget -------------
PROBES = REPO / "benchmarks" / "results" / "time_to_quality_probes.jsonl"


def probe(preset: str, steps: int, tag: str, overrides: list[str]) -> dict:
    """Train `preset` + overrides for `steps` steps (one thread); at each quarter, sample 1,000 images from
    G and from its EMA copy and record what the LeNet reads: for a conditional G, how often it reads
    the label G was given (class accuracy; chance 0.10), else the largest class share; and the
    per-pixel standard deviation over the samples (variety: 0 when every z draws the same image)."""
    import copy

    from ganforge.config import load_config
    from ganforge.metrics.extractors import get_extractor
    from ganforge.training.loop import Trainer

    cfg = load_config(preset, [*QUIET_RUN, f"train.steps={steps}", *overrides])
    trainer = Trainer(cfg, RUNS / "probes" / f"{preset}-{tag}", overwrite=True)
    for net in trainer.nets.values():
        net.train()
    lenet = get_extractor("lenet-mnist")
    conditional = trainer.objective.conditional if hasattr(trainer.objective, "conditional") else False
    conditional = conditional or getattr(trainer.nets["G"], "num_classes", 0) > 0

    def read(G) -> dict:
        G = copy.deepcopy(G).eval()
        gen = torch.Generator().manual_seed(0)
        y = torch.arange(1000) % 10
        with torch.no_grad():
            z = torch.randn(1000, G.z_dim, generator=gen)
            x = torch.cat(
                [G(z[i : i + 250], y[i : i + 250]) if conditional else G(z[i : i + 250]) for i in range(0, 1000, 250)]
            )
            pred = torch.cat([lenet(x[i : i + 250]).logits.argmax(1) for i in range(0, 1000, 250)])
        shares = torch.bincount(pred, minlength=10).float() / 1000
        out = {"max_share": round(shares.max().item(), 3), "pixstd": round(x.std(0).mean().item(), 3)}
        if conditional:
            out["acc"] = round((pred == y).float().mean().item(), 3)
        return out

    points, t0 = [], time.process_time()
    for k in range(1, steps + 1):
        logs = trainer.train_step()
        if k % max(1, steps // 4) == 0:
            point = {"step": k, "cpu_s": round(time.process_time() - t0, 1), "G": read(trainer.nets["G"])}
            if trainer.ema is not None:
                point["G_ema"] = read(trainer.ema.model)
            point["logs"] = {key: round(v, 3) for key, v in logs.items()}
            points.append(point)
            print(json.dumps(point), flush=True)
    trainer.sample_grid()
    grid = sorted((trainer.run_dir / "samples").glob("step_*.png"))[-1]
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    (IMG_DIR / f"ttq_probe_{preset}-{tag}.png").write_bytes(grid.read_bytes())
    record = {
        "preset": preset,
        "tag": tag,
        "steps": steps,
        "overrides": overrides,
        "points": points,
        "precision": trainer.setup["precision"],
        "commit": describe().split("ganforge commit ")[1].split(",")[0],
        "load": os.getloadavg()[0],
    }
    PROBES.parent.mkdir(parents=True, exist_ok=True)
    with PROBES.open("a") as f:
        f.write(json.dumps(record) + "\n")
    return record


def probe_lines() -> list[str]:
    if not PROBES.exists():
        return []
    records = [json.loads(line) for line in PROBES.read_text().splitlines() if line.strip()]
    lines = [
        "## Probes: short runs that looked for the defects",
        "",
        "`python benchmarks/time_to_quality.py probe PRESET --steps N --tag TAG OVERRIDES...`: G and its EMA copy "
        "read by the LeNet at each quarter of the run (1,000 samples; conditional: the labels 0-9 in turn): "
        "class accuracy (chance 0.10), the largest class share, and the per-pixel standard deviation over the "
        "samples (0: every z draws the same image). One thread; the commit and load of each run at the right.",
        "",
        "| preset | tag | overrides | " + " | ".join(f"step {q}/4" for q in range(1, 5)) + " | grid | commit, load |",
        "|---|---|---|" + "---|" * 4 + "---|---|",
    ]
    for r in records:
        cells = []
        for p in r["points"]:
            g = p.get("G_ema", p["G"])
            what = f"acc {g['acc']:.2f}" if "acc" in g else f"max share {g['max_share']:.2f}"
            cells.append(f"{p['step']}: {what}, std {g['pixstd']:.2f}")
        over = " ".join(f"`{o}`" for o in r["overrides"]) or "-"
        grid = f"![](img/ttq_probe_{r['preset']}-{r['tag']}.png)"
        lines.append(
            f"| {r['preset']} | {r['tag']} | {over} | "
            + " | ".join(cells)
            + f" | {grid} | {r['commit']}, {r['load']:.1f} |"
        )
    return [*lines, "", "Figures are for the EMA generator where the run keeps one.", ""]


# --- synthetic training data ----------------------------------------------------------------------------
SYNTH_JSON = REPO / "benchmarks" / "results" / "time_to_quality_synth.json"


def synth(name: str, seed: int, tag: str, per_class: int, live: bool = False, last: int = 1) -> dict:
    """Class-balanced synthetic digits from a conditional run (through the code of `ganforge synth`), then
    the small classifier of benchmarks/conditional.py trained (3 seeds each) on 600 real digits, on those
    600 + the synthetic set, and on the synthetic set alone, scored on the MNIST test split.
    live: G's live weights rather than its EMA; last: an equal share from each of the run's last
    `last` scored checkpoints (the fractions of the budget), not only the final one."""
    import numpy as np

    import ganforge
    from conditional import test_accuracy, train_classifier
    from ganforge.config import load_config
    from ganforge.data import build_dataset
    from ganforge.inference.sampling import write_synthetic

    t0 = time.process_time()
    run = run_dir(name, "ganforge", seed, tag)
    small = build_dataset(load_config(None, ["data.name=mnist", "data.limit=600"]).data, 0)  # 600 real digits
    test = build_dataset(load_config(None, ["data.name=mnist", "data.split=test"]).data)
    ckpts = [p["ckpt"] for p in json.loads((run / "bench.json").read_text())["points"]][-last:]
    pieces = []
    for i, ckpt in enumerate(ckpts):  # per_class split over the checkpoints, the remainder to the last
        npz = run / f"synthetic-{i}.npz"
        share = per_class // len(ckpts) + (per_class % len(ckpts) if i == len(ckpts) - 1 else 0)
        write_synthetic(ganforge.load(ckpt, ema=not live), npz, share, seed=1 + i, overwrite=True)
        with np.load(npz) as d:
            pieces.append((torch.from_numpy(d["images"]).permute(0, 3, 1, 2), torch.from_numpy(d["labels"])))
    xs = torch.cat([x for x, _ in pieces]).float().div(127.5).sub(1)  # [N, 1, 28, 28]
    ys = torch.cat([y for _, y in pieces])
    sets = {
        "600 real": (small.x, small.y),
        f"600 real + {len(ys):,} synthetic": (torch.cat([small.x, xs]), torch.cat([small.y, ys])),
        f"{len(ys):,} synthetic only": (xs, ys),
    }
    source = ("live G" if live else "EMA G") + (f", last {last} checkpoints" if last > 1 else "")
    out = {"run": str(run.relative_to(REPO)), "per_class": per_class, "source": source, "sets": {}}
    for key, (x, y) in sets.items():
        out["sets"][key] = [test_accuracy(train_classifier(x, y, s), test.x, test.y) for s in (0, 1, 2)]
        print(key, out["sets"][key], flush=True)
    # the same classifier on as many real digits as there are synthetic ones: what it reaches on real data
    real = build_dataset(load_config(None, ["data.name=mnist", f"data.limit={len(ys)}"]).data, 0)
    out["reference"] = {
        f"{len(ys):,} real (reference)": [
            test_accuracy(train_classifier(real.x, real.y, s), test.x, test.y) for s in (0, 1, 2)
        ]
    }
    print(out["reference"], flush=True)
    out |= {"cpu_s": time.process_time() - t0, "machine": describe(), "load": os.getloadavg()[0]}
    key = (out["run"], per_class, source)
    records = [r for r in synth_records() if (r["run"], r["per_class"], r.get("source", "EMA G")) != key]
    SYNTH_JSON.write_text(json.dumps([*records, out], indent=2) + "\n")
    return out


def synth_records() -> list[dict]:
    """Every synth study recorded, one per (run, images per class)."""
    if not SYNTH_JSON.exists():
        return []
    data = json.loads(SYNTH_JSON.read_text())
    return data if isinstance(data, list) else [data]


def synth_lines() -> list[str]:
    records = synth_records()
    if not records:
        return []
    lines = [
        "## Synthetic training data (issue 13: synthetic-only >= 95%, 600 real + synthetic >= 600 real + 1 point)",
        "",
        "`python benchmarks/time_to_quality.py synth cdcgan-mnist [--per-class N]`: N digits per class from the "
        "run (through `ganforge synth`'s code), and the small CNN of `benchmarks/conditional.py` (600 Adam steps "
        "of 64) trained on each set with seeds 0, 1, 2 and scored on the 10,000 MNIST test digits.",
        "",
        "| run | sampled from | per class | training set | test accuracy, seeds 0 / 1 / 2 | mean | machine, CPU-s |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for r in records:
        accs = {k: sum(v) / len(v) for k, v in r["sets"].items()}
        for k, v in {**r["sets"], **r.get("reference", {})}.items():
            lines.append(
                f"| `{r['run']}` | {r.get('source', 'EMA G')} | {r['per_class']} | {k} | {' / '.join(f'{a:.4f}' for a in v)} | {sum(v) / len(v):.4f} | "
                f"{r['machine']}; {r['cpu_s']:.0f} |"
            )
        real, mixed, only = list(accs.values())
        verdicts.append(
            f"- `{Path(r['run']).name}`, {r['per_class']} per class from the {r.get('source', 'EMA G')}: synthetic only {only:.2%} (must >= 95%: "
            f"{'holds' if only >= 0.95 else '**missed**'}); 600 real + synthetic against 600 real: "
            f"{100 * (mixed - real):+.2f} points (must >= +1: {'holds' if mixed - real >= 0.01 else '**missed**'})"
        )
    return [*lines, "", *verdicts, ""]


# --- the quickstart as a new user meets it ---------------------------------------------------------------
QUICKSTART_JSON = REPO / "benchmarks" / "results" / "time_to_quality_quickstart.json"


def quickstart(clone_dir: Path) -> dict:
    """`git clone` this commit, `make install` (timed apart: the target excludes it), then `make quickstart`
    timed on the wall clock; its printed FID (2,000 samples against MNIST test, lenet-mnist) recorded."""
    import re
    import shutil
    import subprocess

    if clone_dir.exists():
        shutil.rmtree(clone_dir)
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone_dir)], check=True)
    env = {**os.environ, "GANFORGE_DATA": os.environ.get("GANFORGE_DATA", str(REPO.parent / "shared" / "data"))}
    env.pop("OMP_NUM_THREADS", None)  # as a user runs it: train.threads=auto decides
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run(["make", "install"], cwd=clone_dir, check=True, env=env, capture_output=True)
    install_s = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    t1 = time.perf_counter()
    proc = subprocess.run(["make", "quickstart"], cwd=clone_dir, check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t1
    fid = float(re.search(r"^\s*fid\s+([0-9.]+)\s*$", proc.stdout, re.M).group(1))
    out = {
        "commit": describe().split("ganforge commit ")[1].split(",")[0],
        "install_s": install_s,
        "quickstart_wall_s": wall,
        "fid_2000": fid,
        "stdout_tail": proc.stdout.strip().splitlines()[-6:],
        "load_before_install": load0,
        "load_before_quickstart": load1,
        "load_after": os.getloadavg()[0],
        "machine": describe(),
    }
    QUICKSTART_JSON.write_text(json.dumps(out, indent=2) + "\n")
    grid = clone_dir / "runs" / "quickstart" / "grid.png"
    (REPO / "docs" / "img" / "quickstart.png").write_bytes(grid.read_bytes())
    print(json.dumps(out, indent=2))
    return out


def quickstart_cells() -> str | None:
    if not QUICKSTART_JSON.exists():
        return None
    q = json.loads(QUICKSTART_JSON.read_text())
    return (
        f"FID {q['fid_2000']:.1f} (2,000 samples) in {q['quickstart_wall_s'] / 60:.1f} min wall after "
        f"{q['install_s'] / 60:.1f} min of install (fresh clone of {q['commit']}, load {q['load_before_quickstart']:.1f})"
    )


# --- report ---------------------------------------------------------------------------------------
def holds(name: str, scores: dict, uncond_fid: float | None) -> tuple[bool, str]:
    """Whether a row's must target holds on these scores, and the figures it was judged on."""
    fid = scores["fid"]
    if name == "dcgan-mnist":
        lo, hi = min(scores["class_shares"]), max(scores["class_shares"])
        return fid <= 80 and lo >= 0.07 and hi <= 0.13, f"FID {fid:.1f}; classes {lo:.1%}-{hi:.1%}"
    if name == "stylegan-mnist":
        lo, hi = min(scores["class_shares"]), max(scores["class_shares"])
        return fid <= 150 and lo >= 0.05 and hi <= 0.15, f"FID {fid:.1f}; classes {lo:.1%}-{hi:.1%}"
    if name == "dcgan-fashion":
        return fid <= 60, f"FID {fid:.1f}"
    if name == "quickstart":
        return fid <= 250, f"FID {fid:.1f} ({scores['n']} samples)"
    acc, ifid = scores["acc"], scores["ifid"]
    text = f"acc {acc:.1%}; FID {fid:.1f}; intra-class FID {ifid:.1f}"
    if name in ("cdcgan-mnist", "sngan-proj-mnist", "biggan-mnist"):
        ok = acc >= 0.97 and uncond_fid is not None and fid <= 1.5 * uncond_fid
        return ok, text + (
            f" (unconditional {uncond_fid:.1f})"
            if uncond_fid is not None
            else " (no unconditional DCGAN run at 15 CPU-min)"
        )
    return acc >= 0.97 and ifid <= 3 * fid, text


# what a benchmark run sets for itself (length, logging, checkpoints) and what `auto` resolved to: not the recipe
RUN_KEYS = {
    "steps",
    "seed",
    "keep_ckpts",
    "threads",
    "progress",
    "tensorboard",
    "sample_every",
    "ckpt_every",
    "log_every",
    "precision",
    "channels_last",
}


def recipe_of(config: dict) -> dict:
    """A saved config without the keys a benchmark run sets for itself: what the recipe is."""
    out = json.loads(json.dumps(config))
    out["train"] = {k: v for k, v in out["train"].items() if k not in RUN_KEYS}
    return out


def is_shipped(info: dict) -> bool:
    """Whether this run trained the row's preset exactly as the library ships it now."""
    from ganforge.config import load_config
    from ganforge.config.loader import from_saved

    saved = from_saved(info["config"]).to_dict()  # keys added since the run at their defaults
    return info["recipe"] == "ganforge" and recipe_of(saved) == recipe_of(
        load_config(ROWS[info["row"]].preset, []).to_dict()
    )


def load_runs() -> list[dict]:
    """Every evaluated run's record, oldest first (benchmarks/results/time_to_quality_runs)."""
    runs = []
    for path in RECORDS.glob("*.json"):
        info = json.loads(path.read_text())
        if info.get("row") in ROWS and all("scores" in p for p in info["points"]):
            info["dir"] = RUNS / path.stem
            info.setdefault("tag", "")
            runs.append(info)
    return sorted(runs, key=lambda r: r["finished"])


def plot_curves(name: str, runs: list[dict]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    for info in runs:
        xs = [p["cpu_s"] / 60 for p in info["points"]]
        ys = [p["scores"]["fid"] for p in info["points"]]
        label = info["recipe"] + (f" ({info['tag']})" if info["tag"] else "") + f" s{info['seed']}"
        main = not info["tag"]
        ax.plot(xs, ys, marker="o", lw=2 if main else 1, alpha=1 if main else 0.5, label=label)
    ax.set_xlabel("training CPU-minutes")
    ax.set_ylabel("FID (LeNet features)")
    ax.set_yscale("log")
    ax.set_title(ROWS[name].label, fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    out = IMG_DIR / f"ttq_{name}.png"
    fig.savefig(out)
    plt.close(fig)
    return out


def copy_grid(info: dict) -> Path | None:
    """The run's last sample grid in docs/benchmarks/img (copied when the run was scored)."""
    out = IMG_DIR / f"ttq_{info['row']}_{info['recipe']}{'_' + info['tag'] if info['tag'] else ''}.png"
    grids = sorted((info["dir"] / "samples").glob("step_*.png"))
    if grids:
        out.write_bytes(grids[-1].read_bytes())
    return out if out.exists() else None


def report() -> None:
    runs = load_runs()
    if not runs:
        raise SystemExit(f"no evaluated runs in {RECORDS}: run `train` and `eval` first")
    IMG_DIR.mkdir(parents=True, exist_ok=True)
    by_row = {name: [r for r in runs if r["row"] == name] for name in ROWS}
    # the conditional rows compare with the unconditional DCGAN trained for their own budget (15 CPU-min)
    at_15 = [r for r in by_row["dcgan-mnist"] if r["recipe"] == "ganforge" and r["budget_cpu_s"] == 900]
    uncond_fid = min((r["points"][-1]["scores"]["fid"] for r in at_15), default=None)
    lines = [
        "# Time to quality: each family's preset under a CPU budget, beside the plain recipe",
        "",
        "Written by `benchmarks/time_to_quality.py report` from the runs it trained and scored; every run "
        "below, with its command line (`train ROW [--recipe plain] [--tag TAG] OVERRIDES...`, then `eval`):",
        "",
        "```",
        *textwrap.dedent(__doc__.split("\n\n")[1]).strip().splitlines(),
        "```",
        "",
        *[" ".join(part.split()) + "\n" for part in __doc__.split("\n\n")[2:4]],
        "## The targets (issue 13), at the full budget",
        "",
        "| row | budget (CPU-min) | must | ganforge (preset as shipped) | holds | plain recipe | ganforge beats plain |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in ROWS.items():
        if name == "quickstart":  # measured as a user meets it: `make quickstart` on a fresh clone
            q = quickstart_cells()
            if q is None:
                lines.append(f"| {row.label} | {row.budget_min:g} min wall | {row.must} | not measured | - | - | - |")
            else:
                qs = json.loads(QUICKSTART_JSON.read_text())
                ok = qs["fid_2000"] <= 250 and qs["quickstart_wall_s"] <= 180
                lines.append(
                    f"| {row.label} | {row.budget_min:g} min wall | {row.must} | {q} | {'yes' if ok else '**no**'} | - | - |"
                )
            continue
        # the newest run of the preset as shipped (whatever it was tagged when it ran as a candidate)
        mine = next(
            (r for r in reversed(by_row[name]) if r["budget_cpu_s"] == 60 * row.budget_min and is_shipped(r)), None
        )
        plain = next((r for r in by_row[name] if r["recipe"] == "plain" and not r["tag"]), None)
        if mine is None:
            lines.append(
                f"| {row.label} | {row.budget_min:g} | {row.must} | no run of the preset as shipped | - | - | - |"
            )
            continue
        ok, text = holds(name, mine["points"][-1]["scores"], uncond_fid)
        ptext = holds(name, plain["points"][-1]["scores"], uncond_fid)[1] if plain else "not run"
        beats = (
            "-"
            if plain is None
            else ("yes" if mine["points"][-1]["scores"]["fid"] < plain["points"][-1]["scores"]["fid"] else "no")
        )
        lines.append(
            f"| {row.label} | {row.budget_min:g} | {row.must} | {text} | {'yes' if ok else '**no**'} | {ptext} | {beats} |"
        )
    lines += ["", "## Curves, grids and every run tried", ""]
    for name, rows in by_row.items():
        if not rows:
            continue
        lines += [f"### {ROWS[name].label}", "", f"![curves](img/{plot_curves(name, rows).name})", ""]
        lines += [
            "| recipe | overrides on the preset | seed | steps x batch | "
            + " | ".join(f"FID at {f:g}" for f in FRACTIONS)
            + " | at the end | machine |",
            "|---|---|---|---|" + "---|" * len(FRACTIONS) + "---|---|",
        ]
        for info in rows:
            pts = info["points"]
            fids = " | ".join(f"{p['scores']['fid']:.1f} ({p['cpu_s'] / 60:.1f} min)" for p in pts)
            over = " ".join(f"`{o}`" for o in info["overrides"] if info["recipe"] == "ganforge" or o not in PLAIN)
            recipe = (
                info["recipe"]
                + (f" ({info['tag']})" if info["tag"] else "")
                + (" = preset as shipped" if is_shipped(info) else "")
            )
            end = holds(name, pts[-1]["scores"], uncond_fid)[1]
            lines.append(
                f"| {recipe} | {over or '-'} | {info['seed']} | {pts[-1]['step']} x {info['batch_size']} | {fids} | {end} | "
                f"{info['machine']}, load {info['load_start']:.1f} -> {info.get('load_end', float('nan')):.1f}, {info['wall_s'] / 60:.0f} min wall |"
            )
        lines.append("")
        for info in rows:
            grid = copy_grid(info)
            if grid is not None:
                lines.append(f"![{info['recipe']} {info['tag']}](img/{grid.name}) ")
        lines.append("")
    lines += synth_lines()
    lines += probe_lines()
    OUT_MD.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT_MD}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for cmd in ("train", "eval"):
        p = sub.add_parser(cmd)
        p.add_argument("row", choices=sorted(ROWS))
        p.add_argument("--recipe", choices=["ganforge", "plain"], default="ganforge")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--tag", default="", help="names a recipe tried beside the preset (its overrides)")
        if cmd == "train":
            p.add_argument("--budget-min", type=float, default=None, help="CPU-minutes (default: the row's)")
        else:
            p.add_argument("--n", type=int, default=10000)
    p = sub.add_parser("probe")
    p.add_argument("preset")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--tag", required=True)
    p = sub.add_parser("quickstart")
    p.add_argument("--clone", type=Path, default=Path("/tmp/ganforge-quickstart-clone"))
    p = sub.add_parser("synth")
    p.add_argument("row", choices=sorted(r for r in ROWS if ROWS[r].conditional))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="")
    p.add_argument("--per-class", type=int, default=600)
    p.add_argument("--live", action="store_true", help="G's live weights, not its EMA copy")
    p.add_argument("--last", type=int, default=1, help="share the samples among the last N scored checkpoints")
    sub.add_parser("report")
    args, overrides = ap.parse_known_args()  # train: key=value overrides (a recipe being tried) anywhere
    if args.cmd not in ("train", "probe") and overrides or any("=" not in o or o.startswith("-") for o in overrides):
        ap.error(f"unrecognized arguments: {' '.join(overrides)}")
    torch.set_num_threads(1)
    if args.cmd == "train":
        train(args.row, args.recipe, args.seed, args.budget_min, overrides, args.tag)
    elif args.cmd == "quickstart":
        quickstart(args.clone)
    elif args.cmd == "synth":
        synth(args.row, args.seed, args.tag, args.per_class, args.live, args.last)
    elif args.cmd == "probe":
        probe(args.preset, args.steps, args.tag, overrides)
    elif args.cmd == "eval":
        evaluate_run(args.row, args.recipe, args.seed, args.n, args.tag)
    else:
        report()


if __name__ == "__main__":
    main()
