"""Inpainting (issue 14): the context encoder on MNIST and the masked-image GAN on photo crops, against
the non-learned baselines on the same images and the same masks.

    digits   context encoder (preset context-encoder-mnist), MNIST test split (10,000 digits, 28 px
             centre-padded to 32), the centre 16x16 hole. Scores: hole L1 (mean |completion - original|
             over the hole, [0, 1] pixels) and how often ganforge's `lenet-mnist` classifier reads the
             completed digit (cropped back to 28 px) as its label.
             Must: accuracy >= 95%, hole L1 <= 0.8 x OpenCV Telea's.
    photos   masked-image GAN (preset inpaint-photos), held-out 64 px crops of photos/set14 (16 seeded
             crops per image, never trained on), one random box of 25% of the area per crop (seeded).
             Scores: hole PSNR (PSNR over the hole's pixels, [0, 1] scale, mean over crops), whole-image
             PSNR, hole L1. Must: hole PSNR >= Telea's + 0.5 dB (stretch + 1.5 dB).
    baselines  OpenCV's Telea (2004) and Navier-Stokes (Bertalmio et al. 2001) `cv2.inpaint` (radius 3),
             and mean fill (the hole set to the mean of the image's known pixels, per channel). Every
             output, the models' too, is rounded to 8-bit pixels before it is scored.

Budgets are process CPU-seconds (time.process_time, one thread) checked between training steps.

    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/inpainting.py train-ce --budget 900
    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/inpainting.py train-gan --budget 3600
    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/inpainting.py baselines
    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/inpainting.py report --write

`report` scores what is trained (runs/inpainting/ce and runs/inpainting/gan by default) and the
baselines, stores the figures in benchmarks/results/inpainting.json and, with --write, writes
docs/benchmarks/inpainting.md and the side-by-side figures under docs/benchmarks/img/.
`markdown_section()` renders the stored figures for benchmarks/restoration.py's report.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / torch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "inpainting"
RESULTS = REPO / "benchmarks" / "results" / "inpainting.json"
RUNS_LOG = REPO / "benchmarks" / "results" / "inpainting_runs.jsonl"  # every run scored: `score`
DOC = REPO / "docs" / "benchmarks" / "inpainting.md"
IMG = REPO / "docs" / "benchmarks" / "img"
PRESETS = {"ce": "context-encoder-mnist", "gan": "inpaint-photos"}
EVAL_SEED = 14  # the photo masks: a property of the benchmark
TELEA_RADIUS = 3
BASELINES = ("mean", "telea", "ns")
LABELS = {
    "masked": "masked input (hole at mid grey)",
    "mean": "mean fill",
    "telea": "OpenCV Telea",
    "ns": "OpenCV Navier-Stokes",
    "ce": "context encoder (Pathak et al. 2016)",
    "gan": "masked-image GAN (gated convs, SN-PatchGAN)",
}
COMMAND = "GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/inpainting.py"


# --- training under a CPU budget ----------------------------------------------------------------------
def train(kind: str, budget: float, out: Path, overrides: list[str]) -> dict:
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    torch.set_num_threads(1)
    extra = [*QUIET_RUN, "train.steps=100000000", *overrides]  # precision: the default (auto), recorded
    cfg = load_config(PRESETS[kind], extra)
    trainer = Trainer(cfg, out, overwrite=True)
    t0, w0 = time.process_time(), time.perf_counter()
    logs: dict = {}
    while time.process_time() - t0 < budget:  # checked between steps
        logs = trainer.train_step()
    cpu = time.process_time() - t0
    trainer.save(final=True)
    info = {
        "kind": kind,
        "preset": PRESETS[kind],
        "overrides": overrides,
        "budget_cpu_s": budget,
        "cpu_s": cpu,
        "wall_s": time.perf_counter() - w0,
        "steps": trainer.step,
        "batch_size": cfg.train.batch_size,
        "precision": trainer.setup["precision"],
        "last_logs": logs,
        "machine": describe(),
        "load_after": os.getloadavg(),
    }
    (out / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps({k: v for k, v in info.items() if k != "last_logs"}))
    return info


# --- baselines --------------------------------------------------------------------------------------
def to_uint8_hwc(x: torch.Tensor) -> np.ndarray:
    """[C, H, W] in [-1, 1] -> uint8 [H, W, C]."""
    return x.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(1, 2, 0).numpy()


def from_uint8_hwc(a: np.ndarray) -> torch.Tensor:
    a = a[:, :, None] if a.ndim == 2 else a
    return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float().div(127.5).sub(1)


def quantise(x: torch.Tensor) -> torch.Tensor:
    """Round images in [-1, 1] to the 256 levels an 8-bit file holds."""
    return x.clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1)


def baseline(method: str, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Completions [N, C, H, W] (8-bit levels) of x [N, C, H, W] with holes m [N, 1, H, W]."""
    import cv2

    out = torch.empty_like(x)
    for i in range(len(x)):
        hole = m[i, 0].bool()
        if method == "mean":
            known = x[i][:, ~hole]  # [C, K]
            fill = known.mean(1) if known.numel() else torch.zeros(x.shape[1])
            out[i] = torch.where(hole, fill[:, None, None], x[i])
            continue
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        img = to_uint8_hwc(x[i])
        filled = cv2.inpaint(
            img if img.shape[2] == 3 else img[:, :, 0], hole.numpy().astype(np.uint8), TELEA_RADIUS, flag
        )
        out[i] = from_uint8_hwc(filled)
    return quantise(out)


# --- scores -------------------------------------------------------------------------------------------
def hole_l1(out: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per image: mean |out - x| over the hole, on the [0, 1] pixel scale."""
    w = m.expand_as(x)
    return ((out - x).abs() / 2 * w).flatten(1).sum(1) / w.flatten(1).sum(1)


def hole_psnr(out: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Per image: 10 log10(1 / MSE) over the hole's pixels, [0, 1] scale."""
    w = m.expand_as(x)
    mse = (((out - x) / 2).square() * w).flatten(1).sum(1) / w.flatten(1).sum(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def whole_psnr(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    from ganforge.metrics.image import psnr

    return psnr(out, x)


def classify(x: torch.Tensor, padded: bool) -> torch.Tensor:
    """lenet-mnist's labels [N] of 32 px digits: padded ones cropped back to their 28 px, resized ones
    resized back to 28 px by the extractor (antialiased bilinear, as for every lenet-mnist input)."""
    from ganforge.metrics import get_extractor

    ext = get_extractor("lenet-mnist")
    return torch.cat([ext(c[..., 2:30, 2:30] if padded else c).logits.argmax(1) for c in x.split(1000)])


def model_completions(run: Path, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    import ganforge

    model = ganforge.load(run)
    return quantise(torch.cat([model.inpaint(a, b, tile=None) for a, b in zip(x.split(500), m.split(500))]))


def digits_task(data_name: str = "mnist32", resolution: int | None = None):
    """(digits [N, 1, 32, 32], centre masks, labels) of the MNIST test split as the run saw MNIST:
    `mnist32` (28 px centre-padded) or `mnist` with data.resolution=32 (resized)."""
    from ganforge.data import build_dataset
    from ganforge.data.masks import center_mask
    from ganforge.schema import DataConfig

    data = build_dataset(DataConfig(name=data_name, split="test", resolution=resolution))
    return data.x, center_mask(len(data), 32, 32, 0.5), data.y


def run_data(run: Path | None) -> tuple[str, int | None]:
    """The MNIST variant a context-encoder run trained on (the preset's when there is no run)."""
    if run is None or not (run / "config.json").is_file():
        from ganforge.config import load_config

        data = load_config(PRESETS["ce"], []).data
        return data.name, data.resolution
    data = json.loads((run / "config.json").read_text())["data"]
    return data["name"], data.get("resolution")


def photos_task():
    from ganforge.data import build_dataset
    from ganforge.data.masks import batch_generator, make_masks
    from ganforge.schema import DataConfig

    data = build_dataset(DataConfig(name="photo-crops", split="test"))
    m = make_masks("box", len(data), 64, 64, batch_generator(EVAL_SEED, 0), coverage=0.25)
    return data.x, m


def evaluate(
    ce_run: Path | None, gan_run: Path | None, figures: bool = False, tasks: tuple[str, ...] = ("digits", "photos")
) -> dict:

    results: dict = {"machine": describe(), "load": os.getloadavg(), "telea_radius": TELEA_RADIUS}
    if "digits" in tasks:
        digits_rows(results, ce_run, figures)
    if "photos" in tasks:
        photos_rows(results, gan_run, figures)
    return results


def digits_rows(results: dict, ce_run: Path | None, figures: bool) -> None:
    from ganforge.data.masks import apply_mask, mask_to_image

    data_name, resolution = run_data(ce_run)
    padded = data_name != "mnist"
    x, m, y = digits_task(data_name, resolution)
    outs = {k: baseline(k, x, m) for k in BASELINES}
    runs = {"ce": ce_run}
    for k, run in runs.items():
        if run is not None and (run / "bench.json").is_file():
            outs[k] = model_completions(run, x, m)
            results.setdefault("train", {})[k] = {**json.loads((run / "bench.json").read_text()), "out": rel(run)}
    rows = {"original": {"acc": float((classify(x, padded) == y).float().mean())}}
    for k, out in {"masked": apply_mask(x, m), **outs}.items():
        rows[k] = {
            "hole_l1": float(hole_l1(out, x, m).mean()),
            "acc": float((classify(out, padded) == y).float().mean()),
        }
    results["digits"] = {"n": len(x), "padded": padded, "rows": rows}
    if figures:
        k = 8
        shown = torch.maximum(apply_mask(x[:k], m[:k]), mask_to_image(m[:k]))
        cols = [shown, outs["telea"][:k], outs["ns"][:k]] + ([outs["ce"][:k]] if "ce" in outs else []) + [x[:k]]
        save_columns(cols, IMG / "inpainting_digits.png")


def photos_rows(results: dict, gan_run: Path | None, figures: bool) -> None:
    from ganforge.data.masks import apply_mask, mask_to_image

    x, m = photos_task()
    outs = {k: baseline(k, x, m) for k in BASELINES}
    if gan_run is not None and (gan_run / "bench.json").is_file():
        outs["gan"] = model_completions(gan_run, x, m)
        results.setdefault("train", {})["gan"] = {
            **json.loads((gan_run / "bench.json").read_text()),
            "out": rel(gan_run),
        }
    rows = {}
    for k, out in outs.items():
        rows[k] = {
            "hole_psnr": float(hole_psnr(out, x, m).mean()),
            "psnr": float(whole_psnr(out, x).mean()),
            "hole_l1": float(hole_l1(out, x, m).mean()),
        }
    results["photos"] = {"n": len(x), "coverage": float(m.mean()), "rows": rows}
    if figures:
        pick = torch.arange(0, len(x), 16)[:6]  # one crop of each of the first six photos
        shown = torch.maximum(apply_mask(x[pick], m[pick]), mask_to_image(m[pick]))
        cols = [shown, outs["telea"][pick], outs["ns"][pick]]
        cols += ([outs["gan"][pick]] if "gan" in outs else []) + [x[pick]]
        save_columns(cols, IMG / "inpainting_photos.png")


def rel(path: Path) -> str:
    """A run's folder as the commands name it: relative to the repository where it lies inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def score(kind: str, run: Path) -> dict:
    """Score one trained run on its task and append the figures to the runs log (every run tried)."""
    task = "digits" if kind == "ce" else "photos"
    results = evaluate(run if kind == "ce" else None, run if kind == "gan" else None, tasks=(task,))
    rows = results[task]["rows"]
    record = {
        "kind": kind,
        "run": run.name,
        "train": results["train"][kind],
        "scores": rows[kind],
        "baseline": rows["telea"],
        "machine": results["machine"],
        "load": results["load"][0],
    }
    record["train"].pop("last_logs", None)
    with RUNS_LOG.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps({k: record[k] for k in ("kind", "run", "scores", "baseline")}))
    return record


def runs_lines(kind: str) -> list[str]:
    """The table of every run of `kind` scored (`score`), oldest first."""
    if not RUNS_LOG.is_file():
        return []
    recs = [r for r in map(json.loads, RUNS_LOG.read_text().splitlines()) if r["kind"] == kind]
    if not recs:
        return []
    head = (
        "| run | overrides on the preset | precision | steps x batch | CPU-min | accuracy | hole L1 / Telea's | machine, load |"
        if kind == "ce"
        else "| run | overrides on the preset | precision | steps x batch | CPU-min | hole PSNR (dB) | - Telea's | machine, load |"
    )
    lines = ["Every run tried (`score`), oldest first:", "", head, "|---|---|---|---|---|---|---|---|"]
    for r in recs:
        t, sc, base = r["train"], r["scores"], r["baseline"]
        figs = (
            f"{100 * sc['acc']:.2f}% | {sc['hole_l1'] / base['hole_l1']:.3f}"
            if kind == "ce"
            else f"{sc['hole_psnr']:.2f} | {sc['hole_psnr'] - base['hole_psnr']:+.2f} dB"
        )
        over = " ".join(f"`{o}`" for o in t["overrides"]) or "-"
        lines.append(
            f"| {r['run']} | {over} | {t.get('precision', '32')} | {t['steps']:,} x {t['batch_size']} | "
            f"{t['cpu_s'] / 60:.1f} | {figs} | {r['machine']}, load {r['load']:.1f} |"
        )
    return [*lines, ""]


def save_columns(cols: list[torch.Tensor], path: Path) -> None:
    from ganforge.io import save_grid, tiles

    path.parent.mkdir(parents=True, exist_ok=True)
    save_grid(tiles(cols), path, nrow=len(cols))


# --- the report -----------------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def markdown_section(results: dict | None = None, level: int = 2) -> str:
    """The inpainting part of the restoration report, from `results` (default: the stored
    benchmarks/results/inpainting.json written by `report`)."""
    if results is None:
        if not RESULTS.is_file():
            return f"{'#' * level} Inpainting\n\nNot measured yet: run `{COMMAND} report`.\n"
        results = json.loads(RESULTS.read_text())
    h = "#" * level
    train = results.get("train", {})
    d, p = results["digits"], results["photos"]
    lines = [
        f"{h} Inpainting",
        "",
        f"Machine: {results['machine']}; load average {results['load'][0]:.2f} when scored.",
        "",
        "Commands:",
        "",
        "```",
        *[
            f"{COMMAND} train-{k} --budget {train[k]['budget_cpu_s']:.0f}"
            + (f" --out {train[k]['out']}" if "out" in train[k] else "")
            + (f" {' '.join(train[k]['overrides'])}" if train[k]["overrides"] else "")
            for k in ("ce", "gan")
            if k in train
        ],
        f"{COMMAND} score ce|gan RUN   # each run tried, into the tables of runs below",
        f"{COMMAND} report --write"
        + "".join(f" --{k} {train[k]['out']}" for k in ("ce", "gan") if "out" in train.get(k, {})),
        "```",
        "",
        f"{h}# Digits: context encoder, MNIST 32 px, centre 16x16 hole",
        "",
        f"All {d['n']:,} MNIST test digits ("
        + (
            "28 px centre-padded to 32, `mnist32`"
            if d.get("padded")
            else "resized from 28 to 32 px, as the run trained"
        )
        + "), the centre 16x16 hole. Hole L1: mean |completion - original| over the hole ([0, 1] pixels, lower "
        "is better). Accuracy: `lenet-mnist` reads the completed digit ("
        + ("cropped back to 28 px" if d.get("padded") else "resized back to 28 px")
        + ") as its label.",
        "",
        "| method | hole L1 | accuracy | training |",
        "|---|---|---|---|",
    ]
    for k in ("original", "masked", *BASELINES, "ce"):
        if k not in d["rows"]:
            continue
        r = d["rows"][k]
        l1 = f"{r['hole_l1']:.4f}" if "hole_l1" in r else "0"
        tr = _train_note(train.get(k)) if k == "ce" else "-"
        lines.append(f"| {LABELS.get(k, 'original digits')} | {l1} | {100 * r['acc']:.2f}% | {tr} |")
    if "ce" in d["rows"]:
        ce, telea = d["rows"]["ce"], d["rows"]["telea"]
        ratio = ce["hole_l1"] / telea["hole_l1"]
        lines += [
            "",
            f"Targets: accuracy >= 95%: {100 * ce['acc']:.2f}%, {_verdict(ce['acc'] >= 0.95)}; hole L1 <= 0.8 x "
            f"Telea's: {ratio:.3f} x, {_verdict(ratio <= 0.8)}.",
        ]
    else:
        lines += ["", "The context encoder is not trained yet (`train-ce`); the baselines above are measured."]
    lines += [
        "",
        "![masked | Telea | Navier-Stokes | context encoder | original](img/inpainting_digits.png)",
        "",
        *runs_lines("ce"),
        f"{h}# Photos: masked-image GAN, 64 px crops, random boxes of 25%",
        "",
        f"{p['n']} held-out 64 px crops of photos/set14 (16 seeded crops per image; the model trains on bsd68 + "
        f"sun-hays80 only), one seeded random box per crop ({100 * p['coverage']:.1f}% of the pixels on "
        "average). Hole PSNR: over the hole's pixels, [0, 1] scale, mean over crops; PSNR: the whole crop.",
        "",
        "| method | hole PSNR (dB) | PSNR (dB) | hole L1 | training |",
        "|---|---|---|---|---|",
    ]
    for k in (*BASELINES, "gan"):
        if k in p["rows"]:
            r = p["rows"][k]
            tr = _train_note(train.get(k)) if k == "gan" else "-"
            lines.append(f"| {LABELS[k]} | {r['hole_psnr']:.2f} | {r['psnr']:.2f} | {r['hole_l1']:.4f} | {tr} |")
    if "gan" in p["rows"]:
        gain = p["rows"]["gan"]["hole_psnr"] - p["rows"]["telea"]["hole_psnr"]
        lines += [
            "",
            f"Target: hole PSNR >= Telea + 0.5 dB: {gain:+.2f} dB, {_verdict(gain >= 0.5)} "
            f"(stretch + 1.5 dB: {_verdict(gain >= 1.5)}).",
        ]
    else:
        lines += ["", "The masked-image GAN is not trained yet (`train-gan`); the baselines above are measured."]
    lines += [
        "",
        "![masked | Telea | Navier-Stokes | masked-image GAN | original](img/inpainting_photos.png)",
        "",
        *runs_lines("gan"),
        f"Baselines: OpenCV `cv2.inpaint` (Telea 2004 and Navier-Stokes, radius {results['telea_radius']}) and "
        "mean fill (the mean of the image's known pixels, per channel); every output, the models' too, rounded "
        "to 8-bit pixels before scoring.",
        "",
    ]
    return "\n".join(lines)


def _train_note(info: dict | None) -> str:
    if not info:
        return "-"
    return (
        f"{info['steps']:,} steps x {info['batch_size']} in {info['cpu_s'] / 60:.1f} CPU-min "
        f"({info['wall_s'] / 60:.1f} min wall)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for kind, budget in (("ce", 900.0), ("gan", 3600.0)):
        t = sub.add_parser(f"train-{kind}", help=f"train the {LABELS[kind]} (preset {PRESETS[kind]})")
        t.add_argument("--budget", type=float, default=budget, help="CPU-seconds of training steps")
        t.add_argument("--out", type=Path, default=RUNS / kind)
        t.add_argument("overrides", nargs="*", help="key=value config overrides on the preset")
    sub.add_parser("baselines", help="score the baselines alone (no trained model needed)")
    sc = sub.add_parser("score", help="score one trained run and add it to the table of runs tried")
    sc.add_argument("kind", choices=["ce", "gan"])
    sc.add_argument("run", type=Path)
    r = sub.add_parser("report", help="score the trained runs and the baselines; store the figures")
    r.add_argument("--ce", type=Path, default=RUNS / "ce")
    r.add_argument("--gan", type=Path, default=RUNS / "gan")
    r.add_argument("--write", action="store_true", help="also write docs/benchmarks/inpainting.md and the figures")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.cmd.startswith("train-"):
        kind = args.cmd.split("-")[1]
        train(kind, args.budget, args.out, args.overrides)
    elif args.cmd == "score":
        score(args.kind, args.run)
    elif args.cmd == "baselines":
        print(markdown_section(evaluate(None, None)))
    else:
        results = evaluate(args.ce, args.gan, figures=args.write)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        text = markdown_section(results)
        if args.write:
            doc = markdown_section(results, level=1).replace("\n", "\n\nWritten by `benchmarks/inpainting.py`.\n", 1)
            DOC.write_text(doc)
        print(text)


if __name__ == "__main__":
    main()
