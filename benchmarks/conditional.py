"""Class-conditional GANs, augmentation for small data, and synthetic training data, each model
under a fixed CPU budget (process CPU time, `time.process_time`, 1 torch thread: the 2 shared cores
of the machine are busy with other jobs, so wall time says little and CPU time stays fair).

    mnist       conditional DCGAN (cond. BN + projection D), CGAN and AC-GAN (DCGAN), projection-D ResNet
                (SNGAN + cond. BN) and a small BigGAN on the 60,000 MNIST training digits:
                FID, intra-class FID and class accuracy of the samples, read by `lenet-mnist`
    fashion     the AC-GAN (DCGAN) on 10% of Fashion-MNIST (6,000 images) without augmentation,
                with DiffAugment and with ADA: FID (and intra-class FID) by `lenet-fashion`
    synthetic   an AC-GAN trained on 1% of MNIST (600 digits) with DiffAugment; then one small classifier
                (a small CNN) trained on (a) those 600 digits, (b) them plus synthetic digits
                from the GAN, (c) the synthetic digits alone; MNIST test accuracy of each

    export GANFORGE_DATA=../shared/data
    python benchmarks/conditional.py train NAME [--budget CPU_S]    # one model per process; see NAMES
    python benchmarks/conditional.py classify                       # the three classifiers (after synth-gan)
    python benchmarks/conditional.py report [--n 10000]             # -> docs/benchmarks/conditional.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "bench-conditional"
OUT_MD = REPO / "docs" / "benchmarks" / "conditional.md"
IMG_DIR = REPO / "docs" / "benchmarks" / "img"

COMMON = [
    *QUIET_RUN,
    "train.log_every=100",
    "data.split=train",
    "train.steps=100000000",
]
_DCGAN = ["model.family=cdcgan", "model.z_dim=64", "model.g_width=32", "model.d_width=32", "train.batch_size=64"]
_ACGAN = [*_DCGAN, "model.cond_g=concat", "model.cond_d=acgan"]
_RESNET = [
    "model.family=cresnet",
    "model.z_dim=64",
    "model.g_width=8",
    "model.d_width=16",
    "loss.name=hinge",
    "g_optim.beta1=0",
    "g_optim.beta2=0.9",
    "d_optim.beta1=0",
    "d_optim.beta2=0.9",
    "train.batch_size=32",
]
_BIGGAN = [
    "model.family=biggan",
    "data.resolution=32",
    "model.z_dim=64",
    "model.g_width=4",
    "model.d_width=4",
    "model.embed_dim=32",
    "model.g_sn=true",
    "loss.name=hinge",
    "loss.ortho=1e-4",
    "g_optim.beta1=0",
    "d_optim.beta1=0",
    "train.batch_size=32",
]
# name -> (group, label, overrides, default CPU budget in seconds)
NAMES = {
    "cdcgan": ("mnist", "conditional DCGAN: cond. BN in G, projection D", [*_DCGAN, "data.name=mnist"], 150),
    "cgan": (
        "mnist",
        "CGAN (DCGAN, label embedding joined to z and to D's input)",
        [*_DCGAN, "data.name=mnist", "model.cond_g=concat", "model.cond_d=concat"],
        150,
    ),
    "acgan": (
        "mnist",
        "AC-GAN (DCGAN, label joined to z)",
        [*_DCGAN, "data.name=mnist", "model.cond_g=concat", "model.cond_d=acgan"],
        150,
    ),
    "acgan-real": (
        "mnist",
        "AC-GAN, D's class loss on real images only (loss.aux_fake=false)",
        [*_DCGAN, "data.name=mnist", "model.cond_g=concat", "model.cond_d=acgan", "loss.aux_fake=false"],
        150,
    ),
    "proj-resnet": (
        "mnist",
        "projection-D ResNet (SNGAN, cond. BN, hinge; ch 32, 28 px)",
        [*_RESNET, "data.name=mnist"],
        360,
    ),
    "biggan": (
        "mnist",
        "BigGAN, small (ch 16, 32 px, attention at 16 px, hinge, ortho 1e-4)",
        [*_BIGGAN, "data.name=mnist"],
        360,
    ),
    "fashion-none": ("fashion", "no augmentation", [*_ACGAN, "data.name=fashion-mnist", "data.limit=6000"], 120),
    "fashion-diffaugment": (
        "fashion",
        "DiffAugment (color, translation, cutout; p = 1)",
        [*_ACGAN, "data.name=fashion-mnist", "data.limit=6000", "train.augment=diffaugment"],
        120,
    ),
    "fashion-ada": (
        "fashion",
        "ADA (same transforms, adaptive p, target 0.6)",
        [*_ACGAN, "data.name=fashion-mnist", "data.limit=6000", "train.augment=ada"],
        120,
    ),
    "synth-gan": (
        "synthetic",
        "AC-GAN (DCGAN, class loss on real only) + DiffAugment on 1% of MNIST (600 digits)",
        [*_ACGAN, "data.name=mnist", "data.limit=600", "train.augment=diffaugment", "loss.aux_fake=false"],
        120,
    ),
}
REFS = {
    "mnist": ("mnist:test", "lenet-mnist"),
    "fashion": ("fashion-mnist:test", "lenet-fashion"),
    "synthetic": ("mnist:test", "lenet-mnist"),
}
SYNTH_PER_CLASS = 600  # synthetic digits per class for the classifier study (6,000 in all)
CLS_STEPS, CLS_BATCH = 600, 64  # the classifier's training length, the same for (a), (b) and (c)


def train(name: str, budget: float) -> dict:
    """Train NAMES[name] for `budget` CPU-seconds (checked after every step), save, record."""
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    torch.set_num_threads(1)
    group, label, overrides, _ = NAMES[name]
    cfg = load_config(None, [*COMMON, *overrides])
    trainer = Trainer(cfg, RUNS / name, overwrite=True)
    for net in trainer.nets.values():
        net.train()
    t0, w0 = time.process_time(), time.perf_counter()
    logs: dict[str, float] = {}
    while time.process_time() - t0 < budget:
        logs = trainer.train_step()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    trainer.cfg.train.steps = trainer.step  # the config saved with the weights says what ran
    trainer.elapsed = wall
    trainer.save()
    trainer.sample_grid()
    info = {
        "name": name,
        "group": group,
        "label": label,
        "budget_cpu_s": budget,
        "cpu_s": cpu,
        "wall_s": wall,
        "steps": trainer.step,
        "batch_size": cfg.train.batch_size,
        "d_steps": cfg.train.d_steps,
        "overrides": overrides,
        "last_logs": logs,
    }
    (RUNS / name / "bench.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
    return info


# --- synthetic data as training data --------------------------------------------------------------
def small_cnn() -> torch.nn.Module:
    """A small LeNet-like classifier for [N, 1, 28, 28] digits -> 10 logits (a small fraction of the
    compute of ganforge's metric LeNet, to fit the CPU budget)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # [N, 8, 14, 14]
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # [N, 16, 7, 7]
        nn.Flatten(),
        nn.Linear(16 * 7 * 7, 64),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(64, 10),
    )


def train_classifier(x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> torch.nn.Module:
    """small_cnn(), CLS_STEPS Adam steps (lr 1e-3) of CLS_BATCH on (x [N, 1, 28, 28] in [-1, 1], y)."""
    import torch.nn.functional as F

    torch.manual_seed(seed)
    net = small_cnn()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=gen)
    pos = 0
    net.train()
    for _ in range(CLS_STEPS):
        if pos + CLS_BATCH > len(order):
            order, pos = torch.randperm(len(x), generator=gen), 0
        idx = order[pos : pos + CLS_BATCH]
        pos += CLS_BATCH
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def test_accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return sum(int((net(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum()) for i in range(0, len(x), 1000)) / len(x)


def classify() -> dict:
    """(a) 600 real, (b) 600 real + synthetic, (c) synthetic alone -> MNIST test accuracy."""
    import numpy as np

    import ganforge
    from ganforge.config import load_config
    from ganforge.data import build_dataset
    from ganforge.inference.sampling import write_synthetic

    torch.set_num_threads(1)
    t0 = time.process_time()
    run = RUNS / "synth-gan"
    cfg = load_config(None, [*COMMON, *NAMES["synth-gan"][2]])
    small = build_dataset(cfg.data, cfg.train.seed)  # the same 600 digits the GAN saw
    test = build_dataset(load_config(None, ["data.name=mnist", "data.split=test"]).data)
    model = ganforge.load(run)
    npz = run / "synthetic.npz"
    write_synthetic(model, npz, SYNTH_PER_CLASS, seed=1, overwrite=True)  # through the same code as `ganforge synth`
    with np.load(npz) as d:
        xs = torch.from_numpy(d["images"]).permute(0, 3, 1, 2).float().div(127.5).sub(1)  # [N, 1, 28, 28]
        ys = torch.from_numpy(d["labels"])
    few = (torch.arange(len(ys)) % SYNTH_PER_CLASS) < len(small) // 10  # the first 60 of each class
    sets = {
        "a": (small.x, small.y),
        "b1": (torch.cat([small.x, xs[few]]), torch.cat([small.y, ys[few]])),  # as many synthetic as real
        "b": (torch.cat([small.x, xs]), torch.cat([small.y, ys])),
        "c": (xs, ys),
    }
    results = {}
    for key, (x, y) in sets.items():
        accs = [test_accuracy(train_classifier(x, y, seed), test.x, test.y) for seed in (0, 1, 2)]
        results[key] = {"n_train": len(x), "acc": accs}
        print(key, results[key], flush=True)
    results["cpu_s"] = time.process_time() - t0
    (RUNS / "classify.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


# --- report ---------------------------------------------------------------------------------------
def evaluate_run(name: str, n: int) -> dict:
    from ganforge.metrics import evaluate

    ref, extractor = REFS[NAMES[name][0]]
    t0 = time.process_time()
    out = evaluate(str(RUNS / name), ref=ref, metrics="fid,ifid,acc", n=n, extractor=extractor, progress=False)
    out["eval_cpu_s"] = time.process_time() - t0
    return out


def floor(ref: str, extractor: str, n: int) -> float:
    """FID of n training images, a seeded random subset (the Fashion-MNIST files here are sorted by
    class), against the test reference: what real data scores."""
    import numpy as np

    from ganforge.data.idx import load_idx_dataset
    from ganforge.metrics import evaluate
    from ganforge.metrics.sources import ArraySource

    images, labels = load_idx_dataset(ref.split(":")[0], "train", None, False)
    idx = np.sort(np.random.default_rng(0).choice(len(images), n, replace=False))
    return evaluate(
        ArraySource(images[idx], labels[idx], f"{ref.split(':')[0]}-train-subset"),
        ref=ref,
        metrics="fid",
        n=n,
        extractor=extractor,
        progress=False,
        cache=False,
    )["fid"]


# 2: the reference is brought to the generated images' size before feature extraction (metrics
# computed under the earlier protocol are recomputed)
PROTOCOL = 2


def report(n: int) -> None:
    import ganforge
    from ganforge.inference.sampling import class_grid
    from ganforge.training.logging import save_samples

    torch.set_num_threads(1)
    rows = {}
    for name in NAMES:
        info_path = RUNS / name / "bench.json"
        if not info_path.is_file():
            print(f"skipping {name}: not trained")
            continue
        info = json.loads(info_path.read_text())
        ref = REFS[info["group"]][0]
        done = info.get("metrics", {})
        if (done.get("n"), done.get("ref", ref), done.get("protocol")) != (n, ref, PROTOCOL):
            info["metrics"] = {**evaluate_run(name, n), "n": n, "ref": ref, "protocol": PROTOCOL}  # kept in bench.json
            info_path.write_text(json.dumps(info, indent=2) + "\n")
        rows[name] = info
        model = ganforge.load(RUNS / name)
        IMG_DIR.mkdir(parents=True, exist_ok=True)
        grid = class_grid(model, 10, seed=0)  # [10 classes x 10 z, C, H, W]
        save_samples(grid, IMG_DIR / f"conditional_{name}.png", nrow=10)
        info["label_share"] = label_share(grid.view(10, 10, *grid.shape[1:]))
        print(name, info["metrics"], flush=True)
    floors = {g: floor(*REFS[g], n) for g in ("mnist", "fashion")}
    cls = json.loads((RUNS / "classify.json").read_text()) if (RUNS / "classify.json").is_file() else None

    def budget(i):
        return f"{i['steps']} x {i['batch_size']} ({i['d_steps']} D)"

    lines = [
        "# Conditional GANs, augmentation for small data, synthetic training data",
        "",
        "Written by `benchmarks/conditional.py` (every figure below comes from that script's runs).",
        "",
        f"Machine: {describe()}. The trainings ran while the two cores were shared with other jobs, so budgets "
        "are process CPU time (`time.process_time()`, one torch thread), not wall-clock; wall time is shown for "
        "information.",
        "",
        "Commands:",
        "",
        "```",
        "export GANFORGE_DATA=../shared/data",
        *[f"python benchmarks/conditional.py train {k} --budget {rows[k]['budget_cpu_s']:.0f}" for k in rows],
        "python benchmarks/conditional.py classify",
        f"python benchmarks/conditional.py report --n {n}",
        "```",
        "",
        f"Metrics on {n} generated images, balanced over the 10 classes, against the whole test split, in the "
        "feature space of ganforge's LeNet (`lenet-mnist` / `lenet-fashion`, see docs/metrics.md): FID, "
        "intra-class FID (mean over classes of the FID between the samples of class c and the test images of "
        "class c) and class accuracy (how often the LeNet reads a sample as the class it was generated for). "
        "Lower FID is better. Samples use the EMA generator. The test images are brought to the model's "
        "resolution (32x32 for BigGAN) by the same resize as its training data before the LeNet sees either "
        "side (`evaluate`'s default, docs/metrics.md).",
        "",
        "## Class-conditional models on MNIST (60,000 training digits)",
        "",
        "| model | steps x batch | CPU s (wall s) | FID | intra-class FID | class acc. | label share |",
        "|---|---|---|---|---|---|---|",
    ]
    for _k, i in rows.items():
        if i["group"] == "mnist":
            m = i["metrics"]
            lines.append(
                f"| {i['label']} | {budget(i)} | {i['cpu_s']:.0f} ({i['wall_s']:.0f}) | {m['fid']:.2f} | "
                f"{m['ifid']:.2f} | {m['acc']:.3f} | {i['label_share']:.2f} |"
            )
    lines += [
        "",
        f"FID floor: {n} random MNIST training digits against the test split score {floors['mnist']:.2f}. "
        "Label share: of the pixel variance in the 10 x 10 per-class grid, the part due to the label "
        "(variance down a column, same z) over that plus the part due to z (variance along a row); "
        "0 = the label changes nothing, 1 = z changes nothing.",
        "",
    ]
    lines += [f"![{k}](img/conditional_{k}.png) " for k, i in rows.items() if i["group"] == "mnist"]
    lines += [
        "",
        "Per-class grids (row = class 0-9, column = one z for all rows), in the order of the table.",
        "",
        "## Data efficiency: 10% of Fashion-MNIST (6,000 images), AC-GAN (DCGAN)",
        "",
        "| augmentation | steps x batch | CPU s (wall s) | FID | intra-class FID | class acc. | final ADA p |",
        "|---|---|---|---|---|---|---|",
    ]
    for _k, i in rows.items():
        if i["group"] == "fashion":
            m = i["metrics"]
            p = i["last_logs"].get("ada_p")
            lines.append(
                f"| {i['label']} | {budget(i)} | {i['cpu_s']:.0f} ({i['wall_s']:.0f}) | {m['fid']:.2f} | "
                f"{m['ifid']:.2f} | {m['acc']:.3f} | {'-' if p is None else f'{p:.3f}'} |"
            )
    lines += [
        "",
        f"FID floor: {n} random Fashion-MNIST training images against the test split score {floors['fashion']:.2f}.",
        "",
    ]
    lines += [f"![{k}](img/conditional_{k}.png) " for k, i in rows.items() if i["group"] == "fashion"]
    lines += ["", "## Synthetic data as training data (1% of MNIST)", ""]
    if cls is not None and "synth-gan" in rows:
        g = rows["synth-gan"]
        m = g["metrics"]
        lines += [
            f"GAN: {g['label']}, {budget(g)}, {g['cpu_s']:.0f} CPU s; its samples score FID {m['fid']:.2f}, "
            f"intra-class FID {m['ifid']:.2f}, class accuracy {m['acc']:.3f}. It wrote {SYNTH_PER_CLASS} digits "
            f"per class through `ganforge.inference.sampling.write_synthetic` (what `ganforge synth` runs). The classifier is "
            f"a small CNN (`small_cnn` in the script: two 3x3 convs of 8 and 16 channels, fc 64), trained for {CLS_STEPS} Adam steps of {CLS_BATCH} images in every case, 3 seeds; "
            "test accuracy on the 10,000 MNIST test digits.",
            "",
            "| training data | images | test accuracy (seeds 0, 1, 2) | mean |",
            "|---|---|---|---|",
        ]
        names = {
            "a": "(a) 1% of MNIST train (600 real)",
            "b1": "(b) the 600 real + 600 synthetic (60 per class)",
            "b": "(b) the 600 real + 6,000 synthetic",
            "c": "(c) 6,000 synthetic alone",
        }
        for key in ("a", "b1", "b", "c"):
            if key not in cls:
                continue
            r = cls[key]
            lines.append(
                f"| {names[key]} | {r['n_train']} | {', '.join(f'{a:.4f}' for a in r['acc'])} | "
                f"{sum(r['acc']) / len(r['acc']):.4f} |"
            )
        lines += [
            "",
            f"Classifier study: {cls['cpu_s']:.0f} CPU s in all (incl. writing the synthetic set).",
            "",
            "![synth-gan](img/conditional_synth-gan.png)",
            "",
        ]
    else:
        lines += ["Not run yet.", ""]
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    (RUNS / "report.json").write_text(json.dumps({"rows": rows, "floors": floors, "classify": cls}, indent=2))
    lines += reading(rows, cls, floors)
    OUT_MD.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT_MD}")


SHORT = {
    "cdcgan": "the conditional DCGAN",
    "cgan": "the CGAN",
    "acgan": "the AC-GAN",
    "acgan-real": "the AC-GAN with D's class loss on real images only",
    "proj-resnet": "the projection-D ResNet",
    "biggan": "the small BigGAN",
}


def and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def label_share(grid: torch.Tensor) -> float:
    """grid [K labels, M noise vectors, C, H, W] -> mean per-pixel variance over labels / (that + over z)."""
    over_labels = grid.var(dim=0).mean().item()  # same z, different labels
    over_z = grid.var(dim=1).mean().item()  # same label, different z
    return over_labels / max(over_labels + over_z, 1e-12)


def reading(rows: dict, cls: dict | None, floors: dict) -> list[str]:
    """How to read the tables; every figure quoted is taken from the results above."""
    mnist = {k: i for k, i in rows.items() if i["group"] == "mnist"}
    out = ["## Reading the results", ""]
    if mnist:
        best = max(mnist, key=lambda k: mnist[k]["metrics"]["acc"])
        acc = mnist[best]["metrics"]["acc"]
        blind = [SHORT[k] for k in mnist if mnist[k]["label_share"] < 0.15]
        zblind = [SHORT[k] for k in mnist if mnist[k]["label_share"] > 0.85]
        steps = max(i["steps"] for i in mnist.values())
        out += [
            f"- **Class accuracy.** The best model, {SHORT[best]}, draws the class it is asked for "
            f"{acc:.1%} of the time ({'meets' if acc >= 0.95 else 'misses'} the 95% target). "
            + (
                f"{upper_first(and_list(blind))} were still class-blind at the end of their budget (label share near 0, "
                "accuracy near the 10% of chance: the same digit for every label, see their grids): conditional BN starts class-blind "
                "(zero gains) and a projection D gives G only a weak class signal early on; these runs "
                f"stopped after at most {steps} steps, where the papers train for 10^5. "
                if blind
                else ""
            )
            + (
                f"{upper_first(and_list(zblind))} went the other way (label share near 1): the label decides the "
                "image and z hardly matters, each row of their grids is nearly one image repeated -- little "
                "variety within a class, which the intra-class FID punishes. "
                if zblind
                else ""
            )
            + "AC-GAN's explicit class loss gives G a direct class signal from the first step. With the class loss "
            "on fakes in D's objective too (Odena et al.'s version) several rows of its grid show another digit "
            "than their label (D can learn to classify fakes by cues only fakes carry, and G then satisfies that "
            "D rather than the real classes); with D's class loss on real "
            "images only (`loss.aux_fake=false`) the classes are right.",
            f"- **FID.** Every model is far from the floor ({floors['mnist']:.2f}): a few CPU-minutes are "
            f"under {steps} steps, early training, and grids show rough digits. The numbers rank models at this "
            "budget only; they are not converged figures and not comparable with Inception-feature FIDs in papers.",
        ]
    fashion = {k: i for k, i in rows.items() if i["group"] == "fashion"}
    if {"fashion-none", "fashion-diffaugment", "fashion-ada"} <= fashion.keys():
        f = {k: fashion[f"fashion-{k}"]["metrics"] for k in ("none", "diffaugment", "ada")}
        better = [k for k in ("diffaugment", "ada") if f[k]["fid"] < f["none"]["fid"]]
        out.append(
            f"- **Small data.** On 6,000 Fashion-MNIST images, FID {f['none']['fid']:.0f} without augmentation, "
            f"{f['diffaugment']['fid']:.0f} with DiffAugment and {f['ada']['fid']:.0f} with ADA "
            f"({'both' if len(better) == 2 else ', '.join(better) or 'neither'} better than none at equal CPU); "
            f"intra-class FID {f['none']['ifid']:.0f} / {f['diffaugment']['ifid']:.0f} / {f['ada']['ifid']:.0f}. "
            f"One seed each, and at this length D has seen every image about "
            f"{max(i['steps'] * i['batch_size'] for i in fashion.values()) / 6000:.0f} times, so this is augmentation "
            "early in training rather than the long-run overfitting ADA was built against; ADA's p rose from 0 "
            "because r_t = E[sign D(real)] stayed above 0.6. This AC-GAN keeps the class loss on fakes "
            "(Odena et al.), the same in all three runs."
        )
    if cls is not None:
        mean = {k: sum(cls[k]["acc"]) / len(cls[k]["acc"]) for k in ("a", "b1", "b", "c") if k in cls}
        out.append(
            f"- **Synthetic data.** Adding the GAN's digits to the 600 real ones moved mean test accuracy from "
            f"{mean['a']:.2%} to {mean.get('b1', float('nan')):.2%} (600 synthetic) and {mean['b']:.2%} (6,000 "
            f"synthetic); synthetic digits alone gave {mean['c']:.2%}. "
            + ("They did not help: " if max(mean.get("b1", 0), mean["b"]) <= mean["a"] else "")
            + "this GAN's samples are clean but show little variety within a class (each row of its grid is "
            "nearly one image), so a classifier trained on them learns a few prototypes per digit; the more "
            "synthetic images outweigh the real ones, the more that shows."
        )
    ratio = [i["wall_s"] / i["cpu_s"] for i in rows.values()]
    total = sum(i["cpu_s"] + i["metrics"]["eval_cpu_s"] for i in rows.values()) + (cls["cpu_s"] if cls else 0)
    out += [
        f"- **What was not done.** Longer budgets: on the shared cores one CPU-second took "
        f"{min(ratio):.0f}-{max(ratio):.0f} wall seconds, so the whole study ({total / 60:.0f} CPU-minutes of "
        "training and evaluation) took hours of wall time. BigGAN at 64 px, Fashion-MNIST "
        "class-conditional models at full size, and more than one GAN seed per row were not run.",
        "",
    ]
    return out


def calibrate(names: list[str], steps: int = 3) -> None:
    """CPU seconds per training step of each model (after one warm-up step), to choose budgets."""
    import tempfile

    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    torch.set_num_threads(1)
    for name in names:
        cfg = load_config(None, [*COMMON, *NAMES[name][2]])
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(cfg, Path(tmp) / "run")
            trainer.train_step()
            t0 = time.process_time()
            for _ in range(steps):
                trainer.train_step()
            print(f"{name}: {(time.process_time() - t0) / steps:.3f} CPU s / step", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("name", choices=list(NAMES))
    t.add_argument("--budget", type=float, default=None, help="CPU seconds (default: the model's own)")
    sub.add_parser("classify")
    r = sub.add_parser("report")
    r.add_argument("--n", type=int, default=10000)
    c = sub.add_parser("calibrate")
    c.add_argument("names", nargs="*", default=list(NAMES))
    args = ap.parse_args()
    if args.cmd == "train":
        train(args.name, args.budget if args.budget is not None else NAMES[args.name][3])
    elif args.cmd == "classify":
        classify()
    elif args.cmd == "report":
        report(args.n)
    else:
        calibrate(args.names)


if __name__ == "__main__":
    main()
