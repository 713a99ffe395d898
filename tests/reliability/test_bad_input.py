"""A corpus of bad inputs, one per row: every command refuses each with exit code 2, at most two lines
on stderr, no traceback, and every file that existed before is unchanged (hashes before and after).

The commands run in this process through `ganforge.cli.main` (the console script's entry point), so
the corpus costs no interpreter start-ups; `test_a_few_rows_in_a_fresh_process` runs some of them as
a user would, in a new process.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.training.loop import train

from conftest import TINY, run_cli, tiny_model

SHARED = [o for o in TINY if not o.startswith("model.")] + ["train.steps=1", "train.ckpt_every=0"]


# --- fixtures: tiny trained runs of each kind, inputs to damage ------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A folder with tiny runs (dcgan, cdcgan, pix2pix, stylegan), images, IDX files and configs."""
    root = tmp_path_factory.mktemp("corpus")
    runs = {
        "dcgan": ("quickstart", ["data.resolution=32"]),
        "cdcgan": ("quickstart", ["model.family=cdcgan"]),
        "pix2pix": ("pix2pix-edges", []),
        "stylegan": ("stylegan-mnist", ["loss.pl_weight=0"]),
    }
    for name, (preset, extra) in runs.items():
        family = extra[0].split("=")[1] if extra and extra[0].startswith("model.family") else None
        model = tiny_model(family or load_config(preset).model.family)
        train(load_config(preset, [*SHARED, *model, *extra]), root / name)
    rng = np.random.default_rng(0)
    (root / "images").mkdir()
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (32, 32), dtype=np.uint8)).save(root / "images" / f"{i}.png")
    (root / "corrupt").mkdir()
    (root / "corrupt" / "only.png").write_text("this is not a png")
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("hello")
    (root / "good.yaml").write_text("train:\n  steps: 1\n")
    # IDX files: a good labels file to damage, in a folder laid out like mnist/
    idx = root / "idx" / "mnist"
    idx.mkdir(parents=True)
    header = struct.pack(">IIII", 2051, 10, 28, 28)
    (idx / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(10 * 28 * 28 - 5)))  # short
    (idx / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 2049, 10) + bytes(10)))
    bad = root / "idx-magic" / "mnist"
    bad.mkdir(parents=True)
    (bad / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">IIII", 9999, 10, 28, 28)))
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 2049, 10) + bytes(10)))
    notgz = root / "idx-notgz" / "mnist"
    notgz.mkdir(parents=True)
    (notgz / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage that is not gzip")
    (notgz / "t10k-labels-idx1-ubyte.gz").write_bytes(b"nope")
    return root


def damaged_run(world: Path, tmp: Path, how: str) -> Path:
    """A copy of the dcgan run with its only checkpoint damaged in one way."""
    run = tmp / f"damaged-{how}"
    shutil.copytree(world / "dcgan", run)
    ckpt = next((run / "checkpoints").glob("step_*"))
    model, state = ckpt / "model.safetensors", ckpt / "state.json"
    if how == "truncated":
        model.write_bytes(model.read_bytes()[:100])
    elif how == "no-state":
        state.unlink()
    elif how == "broken-state":
        state.write_text("{ not json")
    elif how == "pickle":
        model.write_bytes(pickle.dumps({"G": [1, 2, 3]}))
    elif how == "foreign-marker":
        state.write_text(json.dumps({"format": "something-else", "version": 1}))
    elif how == "newer":
        s = json.loads(state.read_text())
        s["version"] = 999
        state.write_text(json.dumps(s))
    elif how == "misfit":  # weights of another size than the recorded config
        s = json.loads(state.read_text())
        s["config"]["model"]["g_width"] = 16
        state.write_text(json.dumps(s))
    elif how == "empty-model":
        model.write_bytes(b"")
    elif how == "all":  # two checkpoints, each damaged another way: one line still, not one per checkpoint
        other = ckpt.parent / "step_00000000"
        shutil.copytree(ckpt, other)
        (other / "model.safetensors").write_bytes(pickle.dumps([1]))
        state.write_text("{ broken")
    return run


# --- the corpus: (id, argv with {w} for the world folder and {t} for this test's tmp folder) --------
TRAIN = ["train", "quickstart", *SHARED, *tiny_model("dcgan"), "--out", "{t}/run"]
CASES: list[tuple[str, list[str]]] = [
    # config: overrides
    ("unknown-key", [*TRAIN, "train.stpes=3"]),
    ("unknown-section", [*TRAIN, "trian.steps=3"]),
    ("not-key-value", [*TRAIN, "steps"]),
    ("three-part-key", [*TRAIN, "train.steps.x=1"]),
    ("int-type", [*TRAIN, "train.steps=abc"]),
    ("float-type", [*TRAIN, "train.ema=high"]),
    ("bool-type", [*TRAIN, "train.progress=maybe"]),
    ("list-type", [*TRAIN, "data.resolution=[1, 2]"]),
    ("negative-steps", [*TRAIN, "train.steps=-1"]),
    ("zero-batch", [*TRAIN, "train.batch_size=0"]),
    ("zero-d-steps", [*TRAIN, "train.d_steps=0"]),
    ("precision", [*TRAIN, "train.precision=64"]),
    ("ema-range", [*TRAIN, "train.ema=1.5"]),
    ("optim-name", [*TRAIN, "g_optim.name=adamw"]),
    ("optim-lr", [*TRAIN, "d_optim.lr=0"]),
    ("augment-name", [*TRAIN, "train.augment=mixup"]),
    ("augment-p", [*TRAIN, "train.augment=ada", "train.augment_p=2"]),
    ("augment-policy", [*TRAIN, "train.augment=diffaugment", "train.augment_policy=rotate"]),
    ("ada-target", [*TRAIN, "train.augment=ada", "train.ada_target=1.5"]),
    ("lr-decay", [*TRAIN, "train.lr_decay_start=1.5"]),
    ("direction", [*TRAIN, "data.direction=sideways"]),
    ("load-size", [*TRAIN, "data.load_size=40"]),
    ("unknown-dataset", [*TRAIN, "data.name=cifar11"]),
    ("unknown-split", [*TRAIN, "data.split=validation"]),
    ("unknown-family", [*TRAIN, "model.family=dcgann"]),
    ("unknown-loss", [*TRAIN, "loss.name=hingee"]),
    ("foreign-model-key", [*TRAIN, "model.resnet_blocks=3"]),
    ("foreign-loss-key", [*TRAIN, "loss.cycle_weight=3"]),
    ("unread-train-key", [*TRAIN, "train.pool_size=3"]),
    ("pack-divides", [*TRAIN, "model.pack=3"]),
    ("mbstd-one", [*TRAIN, "model.mbstd=1"]),
    ("norm-name", [*TRAIN, "model.g_norm=layer"]),
    ("penalty-negative", [*TRAIN, "loss.gp=-1"]),
    ("clip-negative", [*TRAIN, "loss.clip=-0.01"]),
    ("reg-interval", [*TRAIN, "loss.reg_interval=0"]),
    ("resolution-dcgan", [*TRAIN, "data.resolution=48"]),
    ("cond-g", ["train", "acgan-mnist", *SHARED, "model.cond_g=film", "--out", "{t}/run"]),
    ("unet-depth", ["train", "pix2pix-edges", *SHARED, "model.unet_depth=9", "--out", "{t}/run"]),
    ("dropout", ["train", "pix2pix-edges", *SHARED, "model.dropout=1", "--out", "{t}/run"]),
    ("d-layers", ["train", "pix2pix-edges", *SHARED, "model.d_layers=0", "--out", "{t}/run"]),
    ("out-channels", ["train", "pix2pix-edges", *SHARED, "model.out_channels=2", "--out", "{t}/run"]),
    ("translation-d-steps", ["train", "pix2pix-edges", *SHARED, "train.d_steps=2", "--out", "{t}/run"]),
    ("style-mixing", ["train", "stylegan-mnist", *SHARED, "loss.style_mixing=2", "--out", "{t}/run"]),
    ("pl-interval", ["train", "stylegan-mnist", *SHARED, "loss.pl_interval=0", "--out", "{t}/run"]),
    ("stylegan-clip", ["train", "stylegan-mnist", *SHARED, "loss.clip=0.01", "--out", "{t}/run"]),
    ("conditional-unlabelled", [*TRAIN, "model.family=cdcgan", "data.name=ring8"]),
    # config: presets and YAML files
    ("unknown-preset", ["train", "quickstrat", "--out", "{t}/run"]),
    ("yaml-missing", ["train", "{t}/missing.yaml", "--out", "{t}/run"]),
    ("yaml-invalid", ["train", "{w}/bad.yaml", "--out", "{t}/run"]),
    ("yaml-list", ["train", "{w}/list.yaml", "--out", "{t}/run"]),
    ("yaml-scalar-section", ["train", "{w}/scalar.yaml", "--out", "{t}/run"]),
    ("yaml-binary", ["train", "{w}/binary.yaml", "--out", "{t}/run"]),
    ("yaml-unknown-key", ["train", "{w}/unknown.yaml", "--out", "{t}/run"]),
    # data
    ("data-root-missing", [*TRAIN, "data.root={t}/nowhere"]),
    ("folder-missing", [*TRAIN, "data.name=folder", "data.root={t}/nowhere"]),
    ("folder-empty", [*TRAIN, "data.name=folder", "data.root={w}/empty"]),
    ("folder-corrupt", [*TRAIN, "data.name=folder", "data.root={w}/corrupt"]),
    ("idx-truncated", [*TRAIN, "data.root={w}/idx"]),
    ("idx-magic", [*TRAIN, "data.root={w}/idx-magic"]),
    ("idx-not-gzip", [*TRAIN, "data.root={w}/idx-notgz"]),
    # run directories
    ("resume-nothing", ["train", "--resume", "--out", "{t}/nowhere"]),
    ("resume-and-overwrite", ["train", "quickstart", "--resume", "--overwrite", "--out", "{w}/dcgan"]),
    ("existing-run", ["train", "quickstart", *SHARED, *tiny_model("dcgan"), "--out", "{w}/dcgan"]),
    ("overwrite-non-run", ["train", "quickstart", *SHARED, "--overwrite", "--out", "{w}/images"]),
    ("resume-bad-override", ["train", "--resume", "--out", "{w}/dcgan", "train.stpes=9"]),
    # sample
    ("sample-no-run", ["sample", "{t}/nowhere", "--out", "{t}/s.png"]),
    ("sample-suffix", ["sample", "{w}/dcgan", "--out", "{t}/s.jpg"]),
    ("sample-exists", ["sample", "{w}/dcgan", "--out", "{w}/notes.txt"]),
    ("sample-class-unconditional", ["sample", "{w}/dcgan", "--class", "3", "--out", "{t}/s.png"]),
    ("sample-class-range", ["sample", "{w}/cdcgan", "--class", "12", "--out", "{t}/s.png"]),
    ("sample-class-name", ["sample", "{w}/cdcgan", "--class", "eleven", "--out", "{t}/s.png"]),
    ("sample-per-class-unconditional", ["sample", "{w}/dcgan", "--per-class", "--out", "{t}/s.png"]),
    ("sample-per-class-and-class", ["sample", "{w}/cdcgan", "--per-class", "--class", "1", "--out", "{t}/s.png"]),
    ("sample-n-zero", ["sample", "{w}/dcgan", "--n", "0", "--out", "{t}/s.png"]),
    ("sample-n-negative", ["sample", "{w}/dcgan", "--n", "-5", "--out", "{t}/s.png"]),
    ("sample-n-text", ["sample", "{w}/dcgan", "--n", "many", "--out", "{t}/s.png"]),
    ("sample-truncation-zero", ["sample", "{w}/dcgan", "--truncation", "0", "--out", "{t}/s.png"]),
    ("sample-translation-model", ["sample", "{w}/pix2pix", "--out", "{t}/s.png"]),
    ("sample-truncation-nan", ["sample", "{w}/stylegan", "--truncation", "nan", "--out", "{t}/s.png"]),
    # damaged checkpoints (for sample and info)
    *[
        (f"ckpt-{how}", ["sample", "{d:" + how + "}", "--out", "{t}/s.png"])
        for how in (
            "truncated",
            "no-state",
            "broken-state",
            "pickle",
            "foreign-marker",
            "newer",
            "misfit",
            "empty-model",
            "all",
        )
    ],
    ("info-damaged", ["info", "{d:truncated}"]),
    ("info-no-run", ["info", "{t}/nowhere"]),
    ("info-a-file", ["info", "{w}/notes.txt"]),
    # translate
    ("translate-input-missing", ["translate", "{w}/pix2pix", "{t}/nowhere", "--out", "{t}/o"]),
    ("translate-non-image", ["translate", "{w}/pix2pix", "{w}/notes.txt", "--out", "{t}/o"]),
    ("translate-corrupt-image", ["translate", "{w}/pix2pix", "{w}/corrupt/only.png", "--out", "{t}/o"]),
    ("translate-direction", ["translate", "{w}/pix2pix", "{w}/images", "--direction", "BtoA", "--out", "{t}/o"]),
    ("translate-direction-name", ["translate", "{w}/pix2pix", "{w}/images", "--direction", "up", "--out", "{t}/o"]),
    ("translate-noise-model", ["translate", "{w}/dcgan", "{w}/images", "--out", "{t}/o"]),
    (
        "translate-target-missing",
        ["translate", "{w}/pix2pix", "{w}/images", "--target", "{t}/nowhere", "--out", "{t}/o"],
    ),
    (
        "translate-target-and-paired",
        ["translate", "{w}/pix2pix", "{w}/images", "--target", "{w}/images", "--paired", "--out", "{t}/o"],
    ),
    # upscale (super-resolution; an srgan run's own bad inputs: tests/inference/test_restoration.py)
    ("upscale-input-missing", ["upscale", "{w}/dcgan", "{t}/nowhere", "--out", "{t}/o"]),
    ("upscale-non-image", ["upscale", "{w}/dcgan", "{w}/notes.txt", "--out", "{t}/o"]),
    ("upscale-noise-model", ["upscale", "{w}/dcgan", "{w}/images", "--out", "{t}/o"]),
    ("upscale-tile", ["upscale", "{w}/dcgan", "{w}/images", "--tile", "-1", "--out", "{t}/o"]),
    # interpolate, synth, project, plot
    ("interpolate-steps", ["interpolate", "{w}/dcgan", "--steps", "1", "--out", "{t}/i.png"]),
    ("interpolate-rows", ["interpolate", "{w}/dcgan", "--rows", "0", "--out", "{t}/i.png"]),
    ("interpolate-suffix", ["interpolate", "{w}/dcgan", "--out", "{t}/i.npz"]),
    ("interpolate-exists", ["interpolate", "{w}/dcgan", "--out", "{w}/notes.txt"]),
    ("interpolate-translation", ["interpolate", "{w}/pix2pix", "--out", "{t}/i.png"]),
    ("synth-unconditional", ["synth", "{w}/dcgan", "--per-class", "2", "--out", "{t}/s.npz"]),
    ("synth-zero", ["synth", "{w}/cdcgan", "--per-class", "0", "--out", "{t}/s.npz"]),
    ("synth-suffix", ["synth", "{w}/cdcgan", "--per-class", "2", "--out", "{t}/s.png"]),
    ("synth-exists", ["synth", "{w}/cdcgan", "--per-class", "2", "--out", "{w}/notes.txt"]),
    ("synth-missing-option", ["synth", "{w}/cdcgan", "--out", "{t}/s.npz"]),
    ("project-not-stylegan", ["project", "{w}/dcgan", "{w}/images/0.png", "--out", "{t}/p"]),
    ("project-image-missing", ["project", "{w}/stylegan", "{t}/nowhere.png", "--out", "{t}/p"]),
    ("project-steps", ["project", "{w}/stylegan", "{w}/images/0.png", "--steps", "0", "--out", "{t}/p"]),
    (
        "project-label",
        ["project", "{w}/stylegan", "{w}/images/0.png", "--label", "3", "--steps", "1", "--out", "{t}/p"],
    ),
    ("plot-no-metrics", ["plot", "{w}/images"]),
    # eval
    ("eval-empty-folder", ["eval", "{w}/empty", "--metrics", "fid"]),
    ("eval-unknown-metric", ["eval", "{w}/images", "--metrics", "fidd"]),
    ("eval-unknown-extractor", ["eval", "{w}/images", "--metrics", "fid", "--extractor", "vgg99"]),
    ("eval-bad-ref", ["eval", "{w}/images", "--metrics", "fid", "--ref", "cifar99:test"]),
    ("eval-n-zero", ["eval", "{w}/dcgan", "--metrics", "fid", "--n", "0"]),
    ("eval-missing", ["eval", "{t}/nowhere", "--metrics", "fid"]),
    # the command line itself
    ("unknown-command", ["trian"]),
    ("unknown-option", ["sample", "{w}/dcgan", "--colour", "red"]),
    ("missing-argument", ["translate", "{w}/pix2pix"]),
]


def expand(argv: list[str], world: Path, tmp: Path) -> list[str]:
    out = []
    for a in argv:
        if a.startswith("{d:"):
            a = str(damaged_run(world, tmp, a[3:-1]))
        out.append(a.replace("{w}", str(world)).replace("{t}", str(tmp)))
    return out


def snapshot(*folders: Path) -> dict[str, str]:
    """sha256 of every file under `folders`."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for f in folders for p in sorted(f.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def yaml_files(world) -> None:
    (world / "bad.yaml").write_text("model: [unclosed\n")
    (world / "list.yaml").write_text("- 1\n- 2\n")
    (world / "scalar.yaml").write_text("train: 5\n")
    (world / "binary.yaml").write_bytes(b"\xff\xfe\x00binary\x00")
    (world / "unknown.yaml").write_text("train:\n  stepz: 3\n")


def test_the_corpus_is_large_and_has_unique_ids():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 80


@pytest.mark.parametrize("case, argv", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_changes(case, argv, world, yaml_files, tmp_path, capsys):
    args = expand(argv, world, tmp_path)
    before = snapshot(world, tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert exit_.value.code == 2, (exit_.value.code, err)
    assert 1 <= len(lines) <= 2, err
    assert "Traceback" not in err and lines[0].startswith("error: "), err
    after = snapshot(world, tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing that existed changed
    assert not (tmp_path / "run").exists() or case.startswith("resume")  # no half-made run left behind


@pytest.mark.parametrize("case", ["unknown-key", "folder-corrupt", "ckpt-pickle", "sample-class-range"])
def test_a_few_rows_in_a_fresh_process(case, world, yaml_files, tmp_path):
    argv = expand(dict(CASES)[case], world, tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2 and "Traceback" not in proc.stderr, proc.stderr
