"""StyleGAN2 against DCGAN at 32x32 on MNIST and Fashion-MNIST under one fixed CPU budget per model,
then projection (GAN inversion) of held-out test images, perceptual path length and a style-mixing grid.

    stylegan-mnist          preset stylegan-mnist (StyleGAN2 sized for the CPU: widths 16 at 32 px), lr 0.001
    stylegan-mnist-lr0025   preset stylegan-mnist as it is: the paper's learning rate 0.0025
    stylegan-fashion        preset stylegan-fashion, lr 0.001
    dcgan-mnist        preset dcgan-mnist at data.resolution=32, widths 32 (a similar parameter count)
    dcgan-fashion      preset dcgan-fashion, the same overrides

Each model trains until its process has used --budget CPU-seconds (time.process_time, 1 torch
thread), checked after every step, so wall-clock time on a shared machine does not change what a
model gets. Then `report` scores every run:

    FID     10,000 -> --n samples against the data set's test split, in ganforge's LeNet features
            (lenet-mnist / lenet-fashion); StyleGAN also with truncation psi = 0.7 in W
    PPL     perceptual path length in W and Z (eps 1e-4, LeNet features; see ganforge.metrics.path_length)
    PSNR    projection of --proj held-out test images into W and W+ (300 steps), on the [0, 1] scale;
            the start point (the image of mean w) as a baseline

    GANFORGE_DATA=../shared/data python benchmarks/stylegan.py train stylegan-mnist --budget 240   # one per process
    GANFORGE_DATA=../shared/data python benchmarks/stylegan.py report                              # -> docs/benchmarks/stylegan.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COMMON = [
    *QUIET_RUN,
    "train.log_every=25",
    "data.split=train",
]
DCGAN = ["data.resolution=32", "model.g_width=32", "model.d_width=32"]
LR001 = ["g_optim.lr=0.001", "d_optim.lr=0.001"]  # below the paper's 0.0025 (the presets' value)
MODELS = {  # name -> (preset, extra overrides, data set of the test split, extractor, label)
    "stylegan-mnist": ("stylegan-mnist", LR001, "mnist", "lenet-mnist", "StyleGAN2, lr 0.001"),
    "stylegan-mnist-lr0025": ("stylegan-mnist", [], "mnist", "lenet-mnist", "StyleGAN2, lr 0.0025 (preset)"),
    "dcgan-mnist": ("dcgan-mnist", DCGAN, "mnist", "lenet-mnist", "DCGAN"),
    "stylegan-fashion": ("stylegan-fashion", LR001, "fashion-mnist", "lenet-fashion", "StyleGAN2, lr 0.001"),
    "dcgan-fashion": ("dcgan-fashion", DCGAN, "fashion-mnist", "lenet-fashion", "DCGAN"),
}


def machine() -> str:
    return (
        describe() + "; wall times depend on the other load on the machine, CPU times (time.process_time) do much less"
    )


# --- training -------------------------------------------------------------------------------------
def train_one(name: str, runs: Path, budget: float) -> dict:
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    torch.set_num_threads(1)
    preset, extra, *_ = MODELS[name]
    overrides = [*COMMON, *extra, "train.steps=1000000"]  # stopped by the CPU budget, not the count
    cfg = load_config(preset, overrides)
    trainer = Trainer(cfg, runs / name, overwrite=True)
    t0, w0 = time.process_time(), time.perf_counter()
    while time.process_time() - t0 < budget:
        trainer.train_step()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    trainer.cfg.train.steps = trainer.step  # what the saved config should say
    trainer.save()
    trainer.sample_grid()
    info = {
        "name": name,
        "preset": preset,
        "overrides": [*COMMON, *extra],
        "budget": budget,
        "steps": trainer.step,
        "batch_size": cfg.train.batch_size,
        "cpu_s": cpu,
        "wall_s": wall,
        "params": {k: sum(p.numel() for p in v.parameters()) for k, v in trainer.nets.items()},
    }
    (runs / name / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
    return info


# --- evaluation -----------------------------------------------------------------------------------
def test_images(dataset: str, n: int, seed: int = 2024) -> torch.Tensor:
    """n seeded images of the test split at 32x32, [n, 1, 32, 32] in [-1, 1] (never seen in training)."""
    from ganforge.config import load_config
    from ganforge.data import build_dataset

    data = build_dataset(load_config(None, [f"data.name={dataset}", "data.split=test", "data.resolution=32"]).data)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    return data.x[idx]


def fid(sampler, dataset: str, extractor: str, n: int) -> float:
    from ganforge.metrics import evaluate

    return evaluate(sampler, ref=f"{dataset}:test", metrics=("fid",), n=n, extractor=extractor, progress=False)["fid"]


def real_floor(dataset: str, extractor: str, n: int) -> float:
    """FID of n real training images put through the same 28 -> 32 resize as the training data."""
    from ganforge.config import load_config
    from ganforge.data import build_dataset

    data = build_dataset(load_config(None, [f"data.name={dataset}", "data.split=train", "data.resolution=32"]).data)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(7))[:n]
    x = data.x[idx]
    return fid(lambda b, s, _it=iter(x.split(250)): next(_it)[:b], dataset, extractor, n)


def report(runs: Path, n: int, n_proj: int, n_ppl: int, out_md: Path, img_dir: Path) -> None:
    import ganforge
    from ganforge.inference.styles import project, sample_truncated, style_mixing_grid
    from ganforge.metrics.image import psnr
    from ganforge.metrics.path_length import perceptual_path_length
    from ganforge.training.logging import save_samples

    torch.set_num_threads(1)
    t_report = time.process_time()
    img_dir.mkdir(parents=True, exist_ok=True)
    rows, extras, figures = [], [], []
    for name, (preset, _extra, dataset, extractor, label) in MODELS.items():
        run = runs / name
        if not (run / "bench.json").is_file():
            print(f"skipping {name}: {run}/bench.json not found (train it first)")
            continue
        info = json.loads((run / "bench.json").read_text())
        model = ganforge.load(run)
        row = {
            "name": name,
            "label": label,
            "dataset": dataset,
            "info": info,
            "fid": fid(lambda b, s, model=model: model.sample(b, seed=s), dataset, extractor, n),
        }
        grid = save_samples(model.sample(64, seed=0), img_dir / f"{name}-samples.png", nrow=8)
        figures.append((f"{label} on {dataset}, {info['steps']} steps", grid))
        if preset.startswith("stylegan"):
            row["fid_psi07"] = fid(
                lambda b, s, model=model: model.sample(b, seed=s, truncation=0.7), dataset, extractor, n
            )
            for space in ("w", "z"):
                row[f"ppl_{space}"] = perceptual_path_length(model, space=space, n=n_ppl, seed=0)["ppl"]
        if name == preset and preset.startswith("stylegan"):  # projection and figures: the presets only
            targets = test_images(dataset, n_proj)
            start, proj_w, proj_wplus, tiles = [], [], [], []
            with torch.no_grad():
                mean_img = sample_truncated(model, 1, psi=0.0)[0]  # the image of w_avg
            for t in targets:
                start.append(float(psnr(mean_img[None], t[None])))
                a = project(model, t, steps=300, seed=0)
                b = project(model, t, steps=300, seed=0, wplus=True)
                proj_w.append(a.psnr)
                proj_wplus.append(b.psnr)
                tiles += [t, a.image.clamp(-1, 1), b.image.clamp(-1, 1)]
            row["psnr_start"] = sum(start) / len(start)
            row["psnr_w"] = sum(proj_w) / len(proj_w)
            row["psnr_wplus"] = sum(proj_wplus) / len(proj_wplus)
            proj_png = save_samples(torch.stack(tiles), img_dir / f"{name}-projection.png", nrow=6)
            images, nrow = style_mixing_grid(model, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], crossover=4)
            mix_png = save_samples(images, img_dir / f"{name}-mixing.png", nrow=nrow)
            trunc = torch.cat([sample_truncated(model, 8, seed=0, psi=p) for p in (1.0, 0.7, 0.4, 0.0)])
            trunc_png = save_samples(trunc, img_dir / f"{name}-truncation.png", nrow=8)
            extras.append((name, label, dataset, proj_png, mix_png, trunc_png, model.generator.num_ws))
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "info"}))
    floors = {ds: real_floor(ds, ex, n) for ds, ex in {(r["dataset"], MODELS[r["name"]][3]) for r in rows}}
    eval_cpu = time.process_time() - t_report
    (runs / "report.json").write_text(
        json.dumps({"rows": rows, "floors": floors, "eval_cpu_s": eval_cpu}, indent=2) + "\n"
    )
    write_md(rows, extras, figures, floors, n, n_proj, n_ppl, eval_cpu, out_md)


def findings(rows, floors) -> list[str]:
    """The comparisons the table supports, worded from the numbers themselves."""
    out = ["Reading the table:", ""]
    for ds in sorted({r["dataset"] for r in rows}):
        sg = [r for r in rows if r["dataset"] == ds and r["label"].startswith("StyleGAN2")]
        dc = [r for r in rows if r["dataset"] == ds and r["label"] == "DCGAN"]
        if not sg or not dc:
            continue
        best = min(sg, key=lambda r: r["fid"])
        d = dc[0]
        who = "DCGAN" if d["fid"] < best["fid"] else "StyleGAN2"
        out.append(
            f"- {ds}: {who} has the lower FID at this budget ({d['fid']:.0f} for DCGAN after "
            f"{d['info']['steps']} steps of {d['info']['batch_size']}, {best['fid']:.0f} for the best StyleGAN2 "
            f"run after {best['info']['steps']} steps of {best['info']['batch_size']}; real-data floor "
            f"{floors.get(ds, float('nan')):.0f}). One StyleGAN2 step costs "
            f"{best['info']['cpu_s'] / best['info']['steps']:.2f} CPU-s, one DCGAN step "
            f"{d['info']['cpu_s'] / d['info']['steps']:.2f} CPU-s."
        )
        if all("fid_psi07" in r for r in sg):
            worse = all(r["fid_psi07"] > r["fid"] for r in sg)
            out.append(
                f"- {ds}: truncation psi = 0.7 {'raises' if worse else 'does not raise'} StyleGAN2's FID "
                "(less variety, scored against the full test set)."
            )
        if all("ppl_w" in r for r in sg):
            smaller = all(r["ppl_w"] < r["ppl_z"] for r in sg)
            out.append(
                f"- {ds}: PPL in W is {'below' if smaller else 'not below'} PPL in Z for every StyleGAN2 run "
                "(StyleGAN's claim that W is the less entangled space, Karras et al. 2019, table 3)."
            )
    sg = [r for r in rows if r["label"].startswith("StyleGAN2")]
    dc = [r for r in rows if r["label"] == "DCGAN"]
    if sg and dc:
        per_img = lambda r: r["info"]["cpu_s"] / (r["info"]["steps"] * r["info"]["batch_size"])  # noqa: E731
        seen = max(r["info"]["steps"] * r["info"]["batch_size"] for r in sg)
        ratio = min(per_img(r) for r in sg) / max(per_img(r) for r in dc)
        out += [
            "",
            f"In the runs recorded here the StyleGAN2 generators, at either learning rate, draw nearly the "
            f"same digit / garment shape for every z (see the sample grids below). The budget covers at most "
            f"{seen:,} training images for StyleGAN2, the early, low-variety phase of StyleGAN training (the "
            f"paper's runs see tens of millions); a StyleGAN2 image costs {ratio:.1f}x the CPU time of a DCGAN "
            "image, so DCGAN sees more of the data in the same budget and already varies. The table measures "
            "this budget, not StyleGAN2 at convergence. Projection still reconstructs held-out images (below): "
            "W can express them even while sampling from it has little variety.",
        ]
    return out


def write_md(rows, extras, figures, floors, n, n_proj, n_ppl, eval_cpu, out_md: Path) -> None:
    rel = lambda p: os.path.relpath(p, out_md.parent)  # noqa: E731
    budgets = sorted({r["info"]["budget"] for r in rows})
    lines = [
        "# StyleGAN2 vs DCGAN at 32x32 under a fixed CPU budget",
        "",
        "Written by `benchmarks/stylegan.py`; every figure below comes from that script.",
        "",
        "Commands (the trainings ran side by side, one process each):",
        "",
        "```",
        *[
            f"GANFORGE_DATA=../shared/data python benchmarks/stylegan.py train {r['name']} --budget {r['info']['budget']:.0f}"
            for r in rows
        ],
        f"GANFORGE_DATA=../shared/data python benchmarks/stylegan.py report --n {n} --proj {n_proj} --ppl {n_ppl}",
        "```",
        "",
        f"Machine: {machine()}.",
        "",
        f"Budget: {', '.join(f'{b:.0f}' for b in budgets)} CPU-seconds of training per model, measured with "
        "`time.process_time()` in the training process with `torch.set_num_threads(1)`, not wall-clock time: "
        "the machine was shared, and process CPU time is what stays fair under contention. The steps column "
        f"is what fitted. The report itself (sampling, FID, PPL, projection) used {eval_cpu:.0f} CPU-seconds.",
        "",
        "Configs: StyleGAN2 = preset `stylegan-mnist` / `stylegan-fashion` (mapping network 8 x 128, w_dim 128, "
        "g/d widths 16 at 32 px doubling to at most 128, modulated convs, noise, skip G, residual D with "
        "minibatch stddev, non-saturating loss, lazy R1 gamma 0.01 every 16 steps, path length weight 2 every "
        "4 steps, style mixing 0.9, Adam (0, 0.99) at lr 0.001 or at the preset's (the paper's) 0.0025, batch 32, EMA of G). DCGAN = preset `dcgan-mnist` / "
        "`dcgan-fashion` with `" + " ".join(DCGAN) + "` (Adam 2e-4 (0.5, 0.999), batch 64, EMA of G). "
        "Both train on the 60,000-image training split resized to 32x32.",
        "",
        f"FID: {n} samples against the whole test split (10,000 images), in ganforge's LeNet features "
        "(`lenet-mnist` for MNIST models, `lenet-fashion` for Fashion-MNIST; 128-d, images resized to 28x28), "
        "so values are comparable within a data set here, not with published Inception FIDs. "
        "The test images are brought to 32x32 by the same resize as the training data before the LeNet sees either side (`evaluate` does this by default, see docs/metrics.md). Floor = the same FID for real training images after the same 28 -> 32 resize.",
        "",
        "| data | model | steps x batch | CPU s (wall s) | params G / D | FID | FID psi=0.7 | PPL W | PPL Z |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        i = r["info"]
        f = lambda k, fmt="{:.2f}", r=r: fmt.format(r[k]) if k in r else "-"  # noqa: E731
        lines.append(
            f"| {r['dataset']} | {r['label']} | {i['steps']} x {i['batch_size']} | {i['cpu_s']:.0f} "
            f"({i['wall_s']:.0f}) | {i['params']['G']:,} / {i['params']['D']:,} | {r['fid']:.2f} | "
            f"{f('fid_psi07')} | {f('ppl_w', '{:.3g}')} | {f('ppl_z', '{:.3g}')} |"
        )
    for ds, v in sorted(floors.items()):
        lines.append(f"| {ds} | real training images (floor) | - | - | - | {v:.2f} | - | - | - |")
    lines += ["", *findings(rows, floors)]
    lines += [
        "",
        f"PPL (Karras et al. 2019): {n_ppl} pairs, epsilon 1e-4, slerp in Z, lerp in W, 'full' paths, mean after "
        "dropping the outer 1% on each side. The distance is *not* the paper's LPIPS/VGG16: it is the squared "
        "L2 distance between unit-normalised LeNet features (the model's data set's LeNet), divided by eps^2. "
        "Lower means a smoother map; compare W with Z and model with model here, never with published PPL.",
        "",
        "## Projection (GAN inversion) of held-out test images",
        "",
        f"{n_proj} images from the test split (seeded choice; never seen in training), 300 Adam steps from the "
        "mean w with StyleGAN2's schedule, loss = pixel MSE + 1.0 x relative LeNet feature distance "
        "(`ganforge project`, `ganforge.inference.styles.project`). PSNR on the [0, 1] pixel scale, mean over the images.",
        "",
        "| data | start (image of mean w) | W | W+ |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if "psnr_w" in r:
            lines.append(
                f"| {r['dataset']} | {r['psnr_start']:.2f} dB | {r['psnr_w']:.2f} dB | {r['psnr_wplus']:.2f} dB |"
            )
    for _name, label, dataset, proj_png, mix_png, trunc_png, num_ws in extras:
        lines += [
            "",
            f"### {label} on {dataset}",
            "",
            f"![projection]({rel(proj_png)})",
            "",
            "Projection, three columns per image, twice per row: target | W | W+.",
            "",
            f"![style mixing]({rel(mix_png)})",
            "",
            f"Style mixing (crossover 4 of {num_ws} style inputs): row sources (left column, seeds 1-5) give the "
            "coarse styles (4x4 and 8x8 layers), column sources (top row, seeds 6-10) the fine ones (16x16, 32x32).",
            "",
            f"![truncation]({rel(trunc_png)})",
            "",
            "Truncation in W, rows psi = 1, 0.7, 0.4, 0 (the same 8 z per column; psi = 0 is the image of w_avg).",
        ]
    lines += [
        "",
        "## Using a trained StyleGAN",
        "",
        "```",
        "ganforge train stylegan-mnist --out runs/sg                       # GANFORGE_DATA=../shared/data",
        "ganforge sample runs/sg --truncation 0.7 --out sg.png               # psi in W around w_avg",
        "ganforge project runs/sg digit.png --out proj/ [--wplus] [--steps 300] [--feature-weight 1]",
        "```",
        "",
        "```python",
        "import ganforge",
        "from ganforge.inference.interpolation import interpolate_w",
        "from ganforge.inference.styles import project, sample_truncated, style_mixing_grid",
        "from ganforge.metrics.path_length import perceptual_path_length",
        "model = ganforge.load('runs/sg')",
        "x = sample_truncated(model, 16, seed=0, psi=0.7)",
        "grid, nrow = style_mixing_grid(model, [1, 2, 3], [4, 5, 6], crossover=4)",
        "path = interpolate_w(model, seed_a=0, seed_b=1, steps=8)",
        "res = project(model, target)               # target [1, 32, 32] in [-1, 1] -> res.w, res.image, res.psnr",
        "ppl = perceptual_path_length(model, space='w')",
        "```",
    ]
    lines += ["", "## Samples", ""]
    for caption, path in figures:
        lines += [f"{caption}:", "", f"![samples]({rel(path)})", ""]
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text("\n".join(lines) + "\n")
    print(f"wrote {out_md}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("name", choices=list(MODELS))
    t.add_argument("--budget", type=float, default=240.0, help="CPU-seconds of training")
    t.add_argument("--runs", type=Path, default=REPO / "runs" / "bench-stylegan")
    r = sub.add_parser("report")
    r.add_argument("--runs", type=Path, default=REPO / "runs" / "bench-stylegan")
    r.add_argument("--n", type=int, default=5000, help="samples per FID")
    r.add_argument("--proj", type=int, default=6, help="test images to project per data set")
    r.add_argument("--ppl", type=int, default=1000, help="pairs per PPL")
    r.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "stylegan.md")
    r.add_argument("--img", type=Path, default=REPO / "docs" / "benchmarks" / "img")
    args = ap.parse_args()
    if args.cmd == "train":
        train_one(args.name, args.runs, args.budget)
    else:
        report(args.runs, args.n, args.proj, args.ppl, args.out, args.img)


if __name__ == "__main__":
    main()
