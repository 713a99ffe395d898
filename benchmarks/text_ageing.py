"""Text-to-image (StackGAN) on captioned MNIST and attribute editing (Age-cGAN) on MNIST stroke thickness,
each row trained for a budget of process CPU-seconds, scored on what can be measured on the outputs.

Rows (`train ROW`), each a run directory under --runs:

    stage1        StackGAN stage I (16 px), preset stackgan-mnist
    stage2        StackGAN stage II (32 px) on the frozen stage1 run (model.stage=2 model.init_from=stage1)
    no-ca         stage I without conditioning augmentation (model.ca=false; no KL)      ablation
    no-mismatch   stage I without D's (real image, wrong text) term (loss.mismatch=0)     ablation
    agecgan       Age-cGAN, preset agecgan-mnist (the "age" of a digit: its thickness quintile)

Scores (`report`), on the MNIST test split, the models as `ganforge.load` gives them:

    StackGAN   one image per test caption (each test image's fullest caption, e.g. "a thick, slanted
               seven"): class named = lenet-mnist's class of the image is the caption's digit; attribute
               agreement = each attribute the caption names (thick / thin, slanted / upright, large /
               small) measured on the image lies on the named side of that digit's training median;
               FID (lenet-mnist features) against the test images
    Age-cGAN   each test digit edited to every thickness bucket k (source: its own bucket): the measured
               bucket of the output is k; the digit is kept (lenet-mnist); the identity distance
               ||F(x) - F(G(z, y0))||^2 (F = lenet-mnist features) with the latent optimisation and without
               it (z = E(x) alone)

    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/text_ageing.py train stage1 --budget 1800
    ... train stage2 --budget 1800     (after stage1)
    ... train no-ca --budget 1800; ... train no-mismatch --budget 1800; ... train agecgan --budget 1800
    ... report [--n 5000] [--edit-n 500]   -> docs/benchmarks/text_ageing.md (+ docs/benchmarks/img/text_ageing_*.png)

The budget is process CPU time (time.process_time, one thread), checked between steps; loading the data
is outside it. Every `train` appends a line to benchmarks/results/text_ageing_trials.jsonl.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ganforge.api import load  # noqa: E402
from ganforge.config import load_config  # noqa: E402
from ganforge.data import build_dataset  # noqa: E402
from ganforge.data.captions import (  # noqa: E402
    attribute_agreement,
    caption_texts,
    named_class,
    quantile_buckets,
    stroke_thickness,
)
from ganforge.inference.ageing import edit  # noqa: E402
from ganforge.io import save_grid  # noqa: E402
from ganforge.metrics.extractors import get_extractor  # noqa: E402
from ganforge.metrics.fid import fid_from_features  # noqa: E402
from ganforge.schema import DataConfig  # noqa: E402
from ganforge.training.loop import Trainer  # noqa: E402

from _machine import QUIET_RUN, describe  # noqa: E402

TRIALS = Path("benchmarks/results/text_ageing_trials.jsonl")
DOC = Path("docs/benchmarks/text_ageing.md")
IMG = Path("docs/benchmarks/img")
ROWS = {
    "stage1": ("stackgan-mnist", []),
    "stage2": ("stackgan-mnist", ["model.stage=2"]),  # + model.init_from=<runs>/stage1
    "no-ca": ("stackgan-mnist", ["model.ca=false", "loss.kl=0"]),
    "no-mismatch": ("stackgan-mnist", ["loss.mismatch=0"]),
    "agecgan": ("agecgan-mnist", []),
}
STACKGAN_ROWS = ("stage1", "stage2", "no-ca", "no-mismatch")


def command_line() -> str:
    return "GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python " + shlex.join(
        ["benchmarks/text_ageing.py", *sys.argv[1:]]
    )


# --- train ---------------------------------------------------------------------------------------------
def train(row: str, runs: Path, budget: float, seed: int, overrides: list[str]) -> dict:
    preset, extra = ROWS[row]
    if row == "stage2":
        if not (runs / "stage1" / "checkpoints").is_dir():
            raise SystemExit(f"train stage1 first: {runs / 'stage1'} has no checkpoints")
        extra = [*extra, f"model.init_from={runs / 'stage1'}"]
    cfg = load_config(
        preset,
        [*extra, f"train.seed={seed}", "train.steps=100000000", "train.precision=32", *QUIET_RUN, *overrides],
    )
    out = runs / row
    trainer = Trainer(cfg, out, overwrite=True)
    t0 = time.process_time()
    t = trainer.cfg.train  # the trainer's own copy, which its objective reads
    while (spent := time.process_time() - t0) < budget:
        if trainer.step >= 20:  # the schedule's length as the budget will make it (Age-cGAN's encoder start)
            t.steps = max(trainer.step + 1, int(trainer.step * budget / spent))
        trainer.train_step()
    t.steps = trainer.step
    trainer.save(final=True)
    cpu = time.process_time() - t0
    trial = {
        "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "row": row,
        "budget": budget,
        "steps": trainer.step,
        "cpu_s": round(cpu, 1),
        "seed": seed,
        "overrides": overrides,
        "command": command_line(),
    }
    TRIALS.parent.mkdir(parents=True, exist_ok=True)
    with TRIALS.open("a") as f:
        f.write(json.dumps(trial) + "\n")
    print(json.dumps(trial), flush=True)
    return trial


# --- report --------------------------------------------------------------------------------------------
def lenet_read(ext, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    feats, logits = [], []
    for chunk in images.split(500):
        f = ext(chunk)
        feats.append(f.features.numpy())
        logits.append(f.logits.argmax(1).numpy())
    return np.concatenate(feats), np.concatenate(logits)


def score_stackgan(run: Path, test, texts: list[str], real_feats: np.ndarray, ext, seed: int) -> dict:
    model = load(run)
    z = model.latents(len(texts), seed)
    images = model.generate(z, text=texts)  # [N, 1, R, R]: image i for caption i
    feats, read = lenet_read(ext, images)
    nouns = tuple(model.data_meta["nouns"])
    named = np.array([named_class(t, nouns) for t in texts])
    agree = attribute_agreement(images, texts, model.data_meta)
    a, n = sum(v[0] for v in agree.values()), sum(v[1] for v in agree.values())
    return {
        "steps": model.step,
        "resolution": images.shape[-1],
        "class": float((read == named).mean()),
        "attributes": a / max(n, 1),
        "per_attribute": {k: v[0] / max(v[1], 1) for k, v in agree.items()},
        "named": n,
        "fid": fid_from_features(feats, real_feats),
    }


def caption_grid(run: Path, texts: list[str], path: Path, per: int = 8) -> None:
    model = load(run)
    rows = [model.sample(per, seed=1, text=t) for t in texts]
    save_grid(torch.cat(rows), path, nrow=per)


def score_agecgan(run: Path, test, n: int, steps: int, ext) -> tuple[dict, torch.Tensor]:
    model = load(run)
    edges = np.array(model.data_meta["edges"])
    x, groups, digits = test.x[:n], test.y[:n], test.extra["digit"][:n].numpy()
    k = model.num_classes
    out = {"n": n, "steps": model.step}
    strips = None
    for label, opt_steps in (("optimised", steps), ("encoder", 0)):
        torch.manual_seed(0)
        outs, dist, dist0 = [], [], []
        for i in range(0, n, 250):  # the source group: the digit's own bucket (known, as a person's age is)
            part = []
            for s in groups[i : i + 250].unique().tolist():
                sel = torch.nonzero(groups[i : i + 250] == s).flatten() + i
                e = edit(model, x[sel], None, source=s, steps=opt_steps)
                part.append((sel, e))
            for sel, e in part:
                outs.append((sel, e.outputs))
                dist.append((sel, e.identity_distance))
                dist0.append((sel, e.encoder_distance))
        order = torch.cat([s for s, _ in outs])
        edited = torch.cat([o for _, o in outs])[torch.argsort(order)]  # [n, K, 1, H, W]
        d = torch.cat([v for _, v in dist])[torch.argsort(order)]
        flat = edited.flatten(0, 1)  # [n K, 1, H, W]
        measured = quantile_buckets(stroke_thickness(flat), edges).reshape(n, k)
        _, read = lenet_read(ext, flat)
        read = read.reshape(n, k)
        out[label] = {
            "bucket": float((measured == np.arange(k)[None]).mean()),
            "bucket_per_target": [float((measured[:, t] == t).mean()) for t in range(k)],
            "digit_kept": float((read == digits[:, None]).mean()),
            "identity": float(d.mean()),
        }
        if label == "optimised":
            out["encoder_identity"] = float(torch.cat([v for _, v in dist0]).mean())
            strips = torch.cat([x[:8, None], edited[:8]], 1).flatten(0, 1)  # [8 (1 + K), 1, H, W]
    return out, strips


def report(runs: Path, n: int, edit_n: int, edit_steps: int, seed: int, img: Path = IMG) -> str:
    torch.set_num_threads(1)
    ext = get_extractor("lenet-mnist")
    test = build_dataset(DataConfig(name="mnist-captions", split="test"))
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(test), generator=gen)[:n]
    every = caption_texts(test)
    texts = [every[i] for i in idx.tolist()]
    real_feats, _ = lenet_read(ext, test.x[idx])
    img.mkdir(parents=True, exist_ok=True)
    stack = {}
    for row in STACKGAN_ROWS:
        if (runs / row / "checkpoints").is_dir():
            stack[row] = score_stackgan(runs / row, test, texts, real_feats, ext, seed)
            print(row, json.dumps(stack[row]), flush=True)
    shown = [
        "a thick seven",
        "a thin seven",
        "a thick, slanted two",
        "a thin, upright two",
        "a large zero",
        "a small zero",
        "a slanted one",
        "an upright one",
    ]
    for row in ("stage1", "stage2"):
        if row in stack:
            caption_grid(runs / row, shown, img / f"text_ageing_{row}.png")
    age, strips = None, None
    if (runs / "agecgan" / "checkpoints").is_dir():
        age_test = build_dataset(DataConfig(name="mnist-thickness", split="test"))
        perm = torch.randperm(len(age_test), generator=torch.Generator().manual_seed(seed))[:edit_n]
        sub = type(age_test)(
            age_test.x[perm],
            age_test.y[perm],
            age_test.classes,
            "image",
            {k: v[perm] for k, v in age_test.extra.items()},
            age_test.meta,
        )
        age, strips = score_agecgan(runs / "agecgan", sub, edit_n, edit_steps, ext)
        save_grid(strips, img / "text_ageing_strips.png", nrow=strips.shape[0] // 8)
        print("agecgan", json.dumps(age), flush=True)
    return markdown(stack, age, shown, n, edit_n, edit_steps)


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def markdown(stack: dict, age: dict | None, shown: list[str], n: int, edit_n: int, edit_steps: int) -> str:
    trials = [json.loads(l) for l in TRIALS.read_text().splitlines()] if TRIALS.exists() else []
    last = {t["row"]: t for t in trials}
    lines = [
        "# Text-to-image (StackGAN) and attribute editing (Age-cGAN) on MNIST",
        "",
        f"Machine: {describe()}.",
        "",
        "Commands (each row trained for `--budget` process CPU-seconds, one thread; then `report`):",
        "",
    ]
    lines += [
        f"- `{last[r]['command']}` ({last[r]['steps']} steps, {last[r]['cpu_s']:.0f} CPU-s)" for r in ROWS if r in last
    ]
    lines += [f"- `{command_line()}`", ""]
    short = sorted({r for r in ROWS if r in last and last[r]["budget"] < 1800})
    if short:
        lines += [
            f"**Smoke run**: {', '.join(short)} trained for less than the targets' 30 CPU-minutes "
            f"({', '.join(format(last[r]['budget'], 'g') + ' s' for r in short)}); the figures show the pipeline works, "
            "not what the recipe reaches.",
            "",
        ]
    if stack:
        lines += [
            "## StackGAN on captioned MNIST",
            "",
            f'{n:,} test captions (each a test digit\'s fullest caption, e.g. "a thick, slanted seven"), one '
            "image each (seed fixed). *class named*: lenet-mnist reads the caption's digit; *attributes*: each "
            "attribute the caption names, measured on the image (resized to 28 px), lies on the named side of "
            "that digit's training median; FID: lenet-mnist features against the same test images.",
            "",
            "| row | px | steps | class named | attributes (all) | thickness | slant | size | FID (lenet) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row, s in stack.items():
            pa = s["per_attribute"]
            lines.append(
                f"| {row} | {s['resolution']} | {s['steps']} | {pct(s['class'])} | {pct(s['attributes'])} | "
                f"{pct(pa.get('thickness', 0))} | {pct(pa.get('slant', 0))} | {pct(pa.get('size', 0))} | {s['fid']:.2f} |"
            )
        lines.append("")
        if "stage1" in stack:
            s1 = stack["stage1"]
            checks = [f"class named >= 90%: {'met' if max(s['class'] for s in stack.values()) >= 0.9 else 'missed'}"]
            if "stage2" in stack:
                s2 = stack["stage2"]
                checks.append(
                    f"stage II class {pct(s2['class'])}, attributes {pct(s2['attributes'])} "
                    f"(>= 80%: {'met' if s2['attributes'] >= 0.8 else 'missed'})"
                )
                checks.append(
                    f"FID stage II {s2['fid']:.2f} below stage I {s1['fid']:.2f}: "
                    f"{'met' if s2['fid'] < s1['fid'] else 'missed'}"
                )
            for abl in ("no-ca", "no-mismatch"):
                if abl in stack:
                    a = stack[abl]
                    worse = [
                        m
                        for m, better in (
                            ("class", a["class"] < s1["class"]),
                            ("attributes", a["attributes"] < s1["attributes"]),
                            ("FID", a["fid"] > s1["fid"]),
                        )
                        if better
                    ]
                    checks.append(f"{abl} worse than stage1 on: {', '.join(worse) or 'nothing'}")
            lines += ["Targets: " + "; ".join(checks) + ".", ""]
        for row in ("stage1", "stage2"):
            if row in stack:
                lines += [
                    f"{row}: one row per caption, top to bottom: " + "; ".join(f'"{t}"' for t in shown),
                    "",
                    f"![{row}](img/text_ageing_{row}.png)",
                    "",
                ]
    if age is not None:
        o, e = age["optimised"], age["encoder"]
        lines += [
            "## Age-cGAN on MNIST stroke thickness",
            "",
            f"{edit_n} test digits, each edited to all 5 thickness buckets (thinnest .. thickest, the training "
            "split's quintiles of ink area / skeleton length), starting from its own bucket. *bucket*: the "
            "output's measured bucket is the target; *digit kept*: lenet-mnist reads the input's digit; "
            "*identity*: ||F(x) - F(G(z, y0))||^2 with F = lenet-mnist's 128 features.",
            "",
            "| z | bucket = target | per target (0..4) | digit kept | identity distance |",
            "|---|---|---|---|---|",
            f"| E(x), then {edit_steps} steps of the identity-preserving optimisation | {pct(o['bucket'])} | "
            f"{', '.join(pct(v) for v in o['bucket_per_target'])} | {pct(o['digit_kept'])} | {o['identity']:.1f} |",
            f"| E(x) alone | {pct(e['bucket'])} | {', '.join(pct(v) for v in e['bucket_per_target'])} | "
            f"{pct(e['digit_kept'])} | {e['identity']:.1f} |",
            "",
            f"Targets: bucket >= 80%: {'met' if o['bucket'] >= 0.8 else 'missed'}; digit kept >= 95%: "
            f"{'met' if o['digit_kept'] >= 0.95 else 'missed'}; identity lower with the optimisation: "
            f"{'met' if o['identity'] < e['identity'] else 'missed'}.",
            "",
            "Age strips: each row an input test digit, then its edits to buckets 0..4.",
            "",
            "![strips](img/text_ageing_strips.png)",
            "",
        ]
    lines += ["## Runs tried", "", "| when (UTC) | row | budget (CPU-s) | steps | overrides |", "|---|---|---|---|---|"]
    lines += [
        f"| {t['when']} | {t['row']} | {t['budget']:g} | {t['steps']} | {' '.join(t['overrides']) or '-'} |"
        for t in trials
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train one row for a CPU budget")
    t.add_argument("row", choices=list(ROWS))
    t.add_argument("--budget", type=float, default=1800.0, help="process CPU-seconds of training steps")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("overrides", nargs="*", help="config overrides key=value")
    r = sub.add_parser("report", help="score the rows trained and write docs/benchmarks/text_ageing.md")
    r.add_argument("--n", type=int, default=5000, help="test captions scored per StackGAN row")
    r.add_argument("--edit-n", type=int, default=500, help="test digits edited")
    r.add_argument("--edit-steps", type=int, default=50, help="identity-preserving optimisation steps")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--no-write", action="store_true", help="print, do not write the .md (grids go to --runs)")
    for p in (t, r):
        p.add_argument("--runs", type=Path, default=Path("runs/text_ageing"), help="run directories (git-ignored)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "train":
        train(args.row, args.runs, args.budget, args.seed, args.overrides)
        return
    text = report(args.runs, args.n, args.edit_n, args.edit_steps, args.seed, args.runs if args.no_write else IMG)
    if not args.no_write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
