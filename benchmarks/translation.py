"""Image-to-image translation on MNIST edges -> digits, under a fixed CPU budget per model:

    pix2pix      paired (edges2digits, train split)            preset pix2pix-edges
    L1 only      the same U-Net without D (loss.adv_weight=0)   preset pix2pix-edges-l1
    CycleGAN     unpaired (edges2digits-unpaired: edges and     preset cyclegan-edges
                 digits from disjoint halves of the train split)
    identity     output = input (no training)

Each model trains for as many steps as fit in --budget CPU-seconds (time.process_time, 1 torch
thread; steps are calibrated from a few timed steps, the CPU time actually used is reported).
All are then scored on held-out pairs from the MNIST test split against the true digits: L1 and
PSNR (on the [0, 1] pixel scale), FID and digit accuracy with the `lenet-mnist` extractor (outputs
and targets cropped back from 32x32 to MNIST's 28x28 first).

    GANFORGE_DATA=../shared/data python benchmarks/translation.py train pix2pix   # one per process,
    GANFORGE_DATA=../shared/data python benchmarks/translation.py train l1        # run side by side
    GANFORGE_DATA=../shared/data python benchmarks/translation.py train cyclegan
    GANFORGE_DATA=../shared/data python benchmarks/translation.py report          # -> docs/benchmarks/translation.md
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
MODELS = {  # name -> (preset, label)
    "pix2pix": ("pix2pix-edges", "pix2pix (U-Net + PatchGAN + 100 L1), paired"),
    "l1": ("pix2pix-edges-l1", "U-Net, L1 only (no D), paired"),
    "cyclegan": ("cyclegan-edges", "CycleGAN (ResNet G/F, 2 PatchGANs, LSGAN), unpaired"),
}
COMMON = [
    *QUIET_RUN,
    "data.split=train",
]


def machine() -> str:
    return (
        describe() + "; wall times depend on the other load on the machine, CPU times (time.process_time) do much less"
    )


def calibrate(preset: str, extra: list[str], steps: int = 4) -> float:
    """CPU-seconds per training step of `preset`, from `steps` timed steps after one warm-up."""
    import tempfile

    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    cfg = load_config(preset, [*COMMON, *extra, "train.steps=1000"])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run")
        trainer.train_step()
        t0 = time.process_time()
        for _ in range(steps):
            trainer.train_step()
        return (time.process_time() - t0) / steps


def train_one(name: str, runs: Path, budget: float, extra: list[str]) -> dict:
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    preset, _ = MODELS[name]
    per_step = calibrate(preset, extra)
    steps = max(1, int(budget / per_step))
    cfg = load_config(preset, [*COMMON, *extra, f"train.steps={steps}"])
    trainer = Trainer(cfg, runs / name, overwrite=True)
    t0, w0 = time.process_time(), time.perf_counter()
    trainer.fit()
    info = {
        "name": name,
        "preset": preset,
        "steps": steps,
        "batch_size": cfg.train.batch_size,
        "cpu_s": time.process_time() - t0,
        "wall_s": time.perf_counter() - w0,
        "calibrated_cpu_s_per_step": per_step,
        "overrides": [*COMMON, *extra, f"train.steps={steps}"],
    }
    (runs / name / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
    return info


# --- evaluation ------------------------------------------------------------------------------------------
def held_out_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(edges [n, 1, 32, 32], true digits [n, 1, 32, 32], labels [n]) of n seeded test pairs, and
    n other test digits (disjoint from those) for the FID floor."""
    from ganforge.config import load_config
    from ganforge.data import build_dataset

    data = build_dataset(load_config(None, ["data.name=edges2digits", "data.split=test"]).data)
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(2024))
    idx, other = perm[:n], perm[n : 2 * n]
    return data.x[idx], data.extra["x_b"][idx], data.y[idx], data.extra["x_b"][other]


def crop28(x: torch.Tensor) -> torch.Tensor:
    return x[..., 2:30, 2:30]  # undo the 28 -> 32 padding


def score(out: torch.Tensor, target: torch.Tensor, labels: torch.Tensor, extractor, ref_feats) -> dict:
    from ganforge.metrics import fid_from_features
    from ganforge.metrics.image import psnr

    row = {"l1": float(((out - target) / 2).abs().mean()), "psnr": float(psnr(out, target).mean())}
    if extractor is not None:
        f = extractor(crop28(out.clamp(-1, 1)))
        row["fid"] = fid_from_features(f.features.numpy(), ref_feats.numpy())
        row["acc"] = float((f.logits.argmax(1) == labels).float().mean())
    return row


def report(runs: Path, n: int, out_md: Path, img_dir: Path) -> None:
    import ganforge
    from ganforge.training.logging import save_samples

    edges, digits, labels, other_digits = held_out_pairs(n)
    try:
        from ganforge.metrics import get_extractor

        extractor = get_extractor("lenet-mnist")
        ref = extractor(crop28(digits))
        ref_feats = ref.features
        ref_acc = float((ref.logits.argmax(1) == labels).float().mean())
        lenet_note = f"lenet-mnist digit accuracy on the true test digits themselves: {ref_acc:.3f}"
        if ref_acc < 0.9:  # a sanity check on the extractor itself
            extractor, ref_feats = None, None
            lenet_note = (
                f"FID / accuracy not reported: lenet-mnist reads only {ref_acc:.1%} of the true "
                "test digits correctly, so its weights on this checkout are not a trained classifier"
            )
    except Exception as e:  # weights not built on this checkout
        extractor, ref_feats, lenet_note = None, None, f"FID / accuracy not computed: {e}"
    rows, outputs = [], {}
    identity = score(edges, digits, labels, extractor, ref_feats)
    rows.append(("identity (output = input edges)", None, identity))
    for name in ("l1", "pix2pix", "cyclegan"):
        run = runs / name
        if not (run / "bench.json").is_file():
            print(f"skipping {name}: {run}/bench.json not found (train it first)")
            continue
        info = json.loads((run / "bench.json").read_text())
        model = ganforge.load(run)
        out = model.translate(edges, batch_size=250)
        outputs[name] = out
        rows.append((MODELS[name][1], info, score(out, digits, labels, extractor, ref_feats)))
    floor = None
    if extractor is not None:  # two disjoint sets of real digits
        from ganforge.metrics import fid_from_features

        floor = fid_from_features(extractor(crop28(other_digits)).features.numpy(), ref_feats.numpy())

    img_dir.mkdir(parents=True, exist_ok=True)
    k = 12  # examples in the figure, 2 per row
    cols = [edges[:k]] + [outputs[m][:k] for m in ("l1", "pix2pix", "cyclegan") if m in outputs] + [digits[:k]]
    tiles = torch.stack(cols, 1).flatten(0, 1)  # [k * columns, 1, 32, 32]
    grid = save_samples(tiles, img_dir / "translation_edges2digits.png", nrow=2 * len(cols))
    grid_names = ["edges"] + [m for m in ("l1", "pix2pix", "cyclegan") if m in outputs] + ["true digit"]

    lines = [
        "# Image-to-image translation: MNIST edges -> digits",
        "",
        "Written by `benchmarks/translation.py` (figures below are from that script, nothing typed by hand).",
        "",
        "Commands (the three trainings ran side by side, one process each):",
        "",
        "```",
        *[
            f"GANFORGE_DATA=../shared/data python benchmarks/translation.py train {m} --budget "
            f"{json.loads((runs / m / 'bench.json').read_text())['budget']:.0f}"
            for m in ("pix2pix", "l1", "cyclegan")
            if (runs / m / "bench.json").is_file()
        ],
        f"GANFORGE_DATA=../shared/data python benchmarks/translation.py report --n {n}",
        "```",
        "",
        f"Machine: {machine()}.",
        "",
        "Task: A = Sobel edge map of an MNIST digit (32x32, `edges2digits`), B = the digit. Paired models "
        "train on the 60,000 training pairs; CycleGAN trains on edges from one half of the training digits "
        "and digits from the other half (`edges2digits-unpaired`), so it never sees a pair. Every model gets "
        "the same CPU budget (1 thread), turned into a step count from 4 timed steps; the CPU column is "
        "what training actually used (the calibration ran on a loaded machine, so it can miss the budget by "
        f"up to {max(abs(i['cpu_s'] / i['budget'] - 1) for _, i, _ in rows if i) * 100:.0f}%). Scores are on "
        f"{n} held-out pairs from the MNIST test split, against the true digits: L1 = mean |output - target| "
        "and PSNR on the [0, 1] pixel scale (higher is better); FID between the outputs and the true digits "
        "in `lenet-mnist` features (lower is better); digit accuracy = how often `lenet-mnist` reads the "
        "output as the input's digit.",
        "",
        "| model | steps x batch | CPU s (wall s) | L1 | PSNR dB | FID (lenet) | digit acc. |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, info, r in rows:
        budget = f"{info['steps']} x {info['batch_size']}" if info else "-"
        cpu = f"{info['cpu_s']:.0f} ({info['wall_s']:.0f})" if info else "0"
        fid = f"{r['fid']:.2f}" if "fid" in r else "n/a"
        acc = f"{r['acc']:.3f}" if "acc" in r else "n/a"
        lines.append(f"| {label} | {budget} | {cpu} | {r['l1']:.4f} | {r['psnr']:.2f} | {fid} | {acc} |")
    lines += [""]
    got = {label.split(" ")[0]: (info, r) for label, info, r in rows if info}
    if {"pix2pix", "U-Net,", "CycleGAN"} <= set(got):
        (pi, pr), (li, lr_), (ci, cr) = got["pix2pix"], got["U-Net,"], got["CycleGAN"]
        lines += [
            f"Reading it: in the same budget the L1-only U-Net ran {li['steps']} steps against pix2pix's "
            f"{pi['steps']} (pix2pix also trains D), and it optimises exactly the L1 that the table scores, so "
            f"its L1 ({lr_['l1']:.4f} vs {pr['l1']:.4f}) and PSNR are the better ones; the adversarial term is "
            "there for sharpness and realism, which L1 and PSNR do not reward. CycleGAN never sees a pair "
            f"and ran {ci['steps']} steps of batch {ci['batch_size']} (two generators, two discriminators, "
            f"cycle and identity passes per step); it still moves from the identity's L1 {identity['l1']:.4f} "
            f"to {cr['l1']:.4f}.",
            "",
        ]
        if "fid" in pr and "fid" in lr_:
            better = "lower" if pr["fid"] < lr_["fid"] else "higher"
            lines += [
                f"In lenet-mnist features pix2pix's outputs are {better} in FID than the L1-only ones "
                f"({pr['fid']:.2f} vs {lr_['fid']:.2f}, with fewer steps), i.e. the adversarial term moves the "
                "output distribution toward real digits while per-pixel error rises a little -- the trade "
                "Isola et al. report. Digit accuracy says how often the translation keeps the input's digit "
                "readable as that digit.",
                "",
            ]
    if floor is not None:
        lines.append(f"FID floor: two disjoint sets of {n} real test digits score {floor:.2f}. {lenet_note}.")
    else:
        lines.append(lenet_note)
    lines += [
        "",
        f"![examples]({os.path.relpath(grid, out_md.parent)})",
        "",
        f"Columns, twice per row: {' | '.join(grid_names)} (held-out test examples, the same for every model).",
        "",
    ]
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text("\n".join(lines))
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["train", "report"])
    p.add_argument("model", nargs="?", choices=sorted(MODELS), help="with train: which model")
    p.add_argument("--budget", type=float, default=240.0, help="CPU-seconds of training per model")
    p.add_argument("--runs", type=Path, default=REPO / "runs" / "bench-translation")
    p.add_argument("--n", type=int, default=2000, help="held-out test pairs to score")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "translation.md")
    p.add_argument("--img-dir", type=Path, default=REPO / "docs" / "benchmarks" / "img")
    p.add_argument("overrides", nargs="*", default=[], help="extra key=value overrides for training")
    args = p.parse_args()
    torch.set_num_threads(1)
    if "GANFORGE_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():
        os.environ["GANFORGE_DATA"] = str(REPO.parent / "shared" / "data")
    if args.what == "train":
        if args.model is None:
            p.error("train needs a model: " + ", ".join(sorted(MODELS)))
        info = train_one(args.model, args.runs, args.budget, list(args.overrides))
        info["budget"] = args.budget
        (args.runs / args.model / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    else:
        report(args.runs, args.n, args.out, args.img_dir)


if __name__ == "__main__":
    main()
