"""Build the model zoo shipped in src/ganforge/zoo/: train each entry's recipe, write its generator
(EMA weights where the run kept them; fp16 where samples stay within ganforge.zoo.FP16_TOLERANCE of
fp32's, BatchNorm buffers in fp32), evaluate the weights as shipped (loaded back through the zoo's
own loader) with `ganforge eval`'s protocol, and record the figure, the commands, the machine, the
load average and the commit in the manifest.

    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python tools/build_zoo.py            # every recipe
    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python tools/build_zoo.py dcgan-mnist
    python tools/build_zoo.py --list

Training runs as `ganforge train ...` in a child process (its CPU time is what the manifest
records); the run directories go to --work (default a temporary folder) and are not kept. Rebuild
the zoo with better recipes by editing RECIPES and rerunning: an entry is replaced whole.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ganforge.training.hardware import cpu_features

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
if str(SRC) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(SRC))

# settings that change how a run reports, never what it learns
QUIET = ["train.threads=1", "train.progress=false", "train.tensorboard=false"]


@dataclass(frozen=True)
class Recipe:
    preset: str
    overrides: tuple[str, ...]  # on top of the preset: the recipe's own settings
    doc: str
    metrics: str = "fid,is"  # ganforge eval --metrics (noise -> image models)
    n: int = 10000  # generated images evaluated (translation: held-out test pairs)
    extra: dict = field(default_factory=dict)


# name -> recipe. Budgets are small (this machine has 2 shared cores); the figures are what they reach.
RECIPES: dict[str, Recipe] = {
    "dcgan-mnist": Recipe(
        "dcgan-mnist",
        ("g_optim.lr=2e-4", "d_optim.lr=2e-4", "train.steps=5000"),  # the lr the shipped weights trained at
        "DCGAN (Radford et al. 2016) on the MNIST training set, 28x28, EMA generator",
    ),
    "acgan-mnist": Recipe(
        "acgan-mnist",
        ("loss.aux_fake=false", "train.steps=1500"),
        "AC-GAN on DCGAN networks (family cdcgan), D's class loss on real images only; class-conditional, 28x28",
        metrics="fid,is,acc",
    ),
    "pix2pix-edges": Recipe(
        "pix2pix-edges",
        ("train.steps=300",),
        "pix2pix (Isola et al. 2017): MNIST Sobel edges -> digits, 32x32",
        n=2000,
    ),
}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(  # changes to the code, not the zoo's own files this tool writes
            [
                "git",
                "status",
                "--porcelain",
                "--",
                "src",
                ":(exclude)src/ganforge/zoo/manifest.json",
                ":(exclude)src/ganforge/zoo/weights",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if out.returncode == 0 else "unknown"


def machine(load_start: float) -> dict:
    import torch

    return {
        "cpu": cpu_features().name,
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "load_average": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
    }


# --- steps ----------------------------------------------------------------------------------------
def train(recipe: Recipe, run: Path, extra: list[str]) -> tuple[list[str], float, float]:
    """`ganforge train` in a child process; (the command, its CPU seconds, wall seconds)."""
    args = [recipe.preset, *recipe.overrides, *extra, *QUIET, "--out", str(run), "--overwrite"]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ganforge.cli", "train", *args], check=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return ["ganforge", "train", *args[:-3], "--out", "RUN"], cpu, time.perf_counter() - t0


def held_out_pairs(n: int):
    """n seeded (edges, true digit, label) pairs of the MNIST test split: benchmarks/translation.py's protocol."""
    import torch

    from ganforge.config import load_config
    from ganforge.data import build_dataset

    data = build_dataset(load_config(None, ["data.name=edges2digits", "data.split=test"]).data)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(2024))[:n]
    return data.x[idx], data.extra["x_b"][idx], data.y[idx]


def probe(model, pairs=None):
    """What the fp16 check compares: 64 seeded samples, or the translations of 64 held-out inputs."""
    if model.family.directions:
        return model.translate(pairs[0][:64])
    return model.sample(64, seed=0)


def evaluate(recipe: Recipe, model, name: str, pairs=None) -> tuple[dict, str]:
    """(the figure, the command that reproduces it) for the model as shipped."""
    if model.family.directions:  # benchmarks/translation.py's score: L1, PSNR; FID and digit accuracy in LeNet features
        from ganforge.metrics import fid_from_features, get_extractor
        from ganforge.metrics.image import psnr

        edges, digits, labels = pairs
        out = model.translate(edges)
        scores = {"psnr": float(psnr(out, digits).mean()), "l1": float(((out - digits) / 2).abs().mean())}
        lenet = get_extractor("lenet-mnist")
        fake, real = lenet(out.clamp(-1, 1)[..., 2:30, 2:30]), lenet(digits[..., 2:30, 2:30])  # undo 28 -> 32 padding
        scores["fid"] = fid_from_features(fake.features.numpy(), real.features.numpy())
        scores["acc"] = float((fake.logits.argmax(1) == labels).float().mean())
        figure = {
            "metric": "psnr",
            "value": round(scores["psnr"], 4),
            "n": len(edges),
            "reference": "edges2digits:test",
            "extractor": None,
            "seed": 2024,
            "protocol": "benchmarks/translation.py: 2000 seeded test pairs against the true digits; L1 and PSNR "
            "on the [0, 1] scale, FID and digit accuracy in lenet-mnist features",
            "all": {k: round(v, 5) for k, v in scores.items()},
        }
        return figure, f"python tools/build_zoo.py {name} (L1 and PSNR as 'ganforge translate --paired' reports them)"
    from ganforge.metrics.pipeline import evaluate as run_eval
    from ganforge.metrics.pipeline import model_sampler

    results = run_eval(
        model_sampler(model),
        ref="mnist:test",
        metrics=recipe.metrics,
        n=recipe.n,
        extractor="lenet-mnist",
        progress=False,
    )
    first = recipe.metrics.split(",")[0]
    figure = {
        "metric": first,
        "value": round(results[first], 4),
        "n": recipe.n,
        "reference": "mnist:test",
        "extractor": "lenet-mnist",
        "seed": 0,
        "all": {k: round(v, 4) for k, v in results.items()},
    }
    command = (
        f"ganforge eval zoo:{name} --metrics {recipe.metrics} --n {recipe.n} --ref mnist:test --extractor lenet-mnist"
    )
    return figure, command


def build(name: str, work: Path, root: Path | None, extra: list[str] = ()) -> dict:
    import torch

    from ganforge import zoo
    from ganforge.api import GanModel, load

    recipe = RECIPES[name]
    load_start = os.getloadavg()[0]
    run = work / name
    started = datetime.datetime.now(datetime.UTC)
    command, cpu_s, wall_s = train(recipe, run, list(extra))
    trained = load(run)  # fp32, EMA generator where the run kept one
    ckpt = trained.checkpoint
    shipped = list(trained.family.directions.values()) or ["G"]
    nets = {n: trained.networks[n] for n in shipped}
    info = {
        "name": name,
        "family": trained.family.name,
        "description": recipe.doc,
        "config": ckpt.config,
        "data_shape": list(trained.data_shape),
        "num_classes": trained.num_classes,
        "classes": list(trained.classes),
        "data_kind": trained.kind,
        "step": trained.step,
        "networks": {n: f"{n}_ema" if n in trained.uses_ema else n for n in shipped},
        "parameters": int(sum(p.numel() for net in nets.values() for p in net.parameters())),
        "train_command": shlex.join(command),
        "train_cpu_seconds": round(cpu_s, 1),
        "train_wall_seconds": round(wall_s, 1),
        "built": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git_commit(),
    }
    pairs = held_out_pairs(recipe.n) if trained.family.directions else None
    with torch.no_grad():
        reference = probe(trained, pairs)
        zoo.write_entry(info, zoo.pack(nets, torch.float16), root)
        diff = float((probe(GanModel.from_zoo(name, root=root), pairs) - reference).abs().max())
        info["fp16_max_abs_diff"] = round(diff, 6)
        if diff > zoo.FP16_TOLERANCE:  # this family does not tolerate fp16: ship fp32
            print(f"{name}: fp16 samples differ by {diff:.4g} > {zoo.FP16_TOLERANCE}; storing fp32")
            zoo.write_entry(info, zoo.pack(nets, torch.float32), root)
        shipped_model = GanModel.from_zoo(name, root=root)  # evaluated as shipped, through the loader
        info["figure"], info["eval_command"] = evaluate(recipe, shipped_model, name, pairs)
    info["machine"] = machine(load_start)
    entry = zoo.write_entry(info, zoo.pack(nets, torch.float16 if diff <= zoo.FP16_TOLERANCE else torch.float32), root)
    print(f"{name}: {entry.figure}; {entry.info['weights']['bytes'] / 1e6:.2f} MB; trained {cpu_s:.0f} CPU-s")
    return entry.info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"entries to build (default all: {', '.join(RECIPES)})")
    parser.add_argument("--work", type=Path, default=None, help="Folder for the training runs (default: temporary)")
    parser.add_argument("--root", type=Path, default=None, help="Zoo folder to write (default: the package's)")
    parser.add_argument(
        "--set", dest="extra", action="append", default=[], help="An extra override (recorded), e.g. train.steps=20"
    )
    parser.add_argument("--list", action="store_true", help="Print the recipes and exit")
    args = parser.parse_args()
    if args.list:
        for name, r in RECIPES.items():
            print(f"{name:16s} ganforge train {r.preset} {' '.join(r.overrides)}")
        return
    unknown = [n for n in args.names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="ganforge-zoo-") as tmp:
        work = args.work or Path(tmp)
        for name in args.names or list(RECIPES):
            build(name, work, args.root, args.extra)


if __name__ == "__main__":
    main()
