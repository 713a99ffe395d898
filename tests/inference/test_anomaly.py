"""`ganforge detect` (inference/anomaly.py, GanModel.detect): a CSV of path, score, anomalous; the
same scores for the same seed; bad input -> one line, exit code 2, the user's files untouched."""

import csv

import numpy as np
import pytest
import torch

from ganforge.api import load
from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.anomaly import detect_files, list_inputs
from ganforge.training.loop import Trainer

from conftest import QUIET, assert_user_error, run_cli
from tests_helpers import labelled_data, tiny_trainer_config, write_png

TINY_GANOMALY = ["model.family=ganomaly", "model.z_dim=8", "model.g_width=4", "model.d_width=4"]


def train_tiny(run_dir, seed=0):
    cfg = load_config(None, [*TINY_GANOMALY, *QUIET, "train.steps=2", "train.batch_size=16", f"train.seed={seed}"])
    Trainer(cfg, run_dir, data=labelled_data(32)).fit()
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two 2-step GANomaly runs with the same seed, a third with another seed, a DCGAN run, and inputs."""
    base = tmp_path_factory.mktemp("detect")
    torch.manual_seed(0)
    a, b, c = (train_tiny(base / name, seed) for name, seed in (("a", 0), ("b", 0), ("c", 1)))
    Trainer(tiny_trainer_config("dcgan"), base / "dcgan", data=labelled_data(32)).fit()
    rng = np.random.default_rng(0)
    write_png(base / "in" / "one.png", rng.integers(0, 256, (28, 28)))  # resized to the model's 32 px
    write_png(base / "in" / "sub" / "two.png", rng.integers(0, 256, (32, 32)))
    write_png(base / "three.png", rng.integers(0, 256, (40, 40, 3)))  # RGB: made grey
    (base / "notes.txt").write_text("not an image")
    (base / "broken").mkdir()
    (base / "broken" / "fake.png").write_text("not a PNG either")
    return {"a": a, "b": b, "c": c, "dcgan": base / "dcgan", "base": base}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_detect_is_deterministic_for_a_seed(runs, tmp_path):
    base = runs["base"]
    inputs = [base / "in", base / "three.png"]
    outs = {k: detect_files(load(runs[k]), inputs, tmp_path / f"{k}.csv", threshold=0.5) for k in "abc"}
    rows = {k: read_csv(o["path"]) for k, o in outs.items()}
    assert rows["a"][0] == ["path", "score", "anomalous"]
    assert [r[0] for r in rows["a"][1:]] == [str(base / "in" / "one.png"), str(base / "in" / "sub" / "two.png")] + [
        str(base / "three.png")
    ]
    assert rows["a"] == rows["b"]  # the same seed: the same weights, the same scores
    assert rows["a"] != rows["c"]
    for _path, score, flag in rows["a"][1:]:
        assert flag == str(int(float(score) > 0.5))
    assert outs["a"]["count"] == 3 and outs["a"]["threshold"] == 0.5


def test_cli_detect_writes_the_csv(runs, tmp_path):
    out = tmp_path / "scores.csv"
    proc = run_cli("detect", str(runs["a"]), str(runs["base"] / "in"), "--out", str(out), "--threshold", "-1")
    assert proc.returncode == 0, proc.stderr
    assert "scored 2 image(s)" in proc.stdout and "2 anomalous at threshold -1" in proc.stdout
    rows = read_csv(out)
    assert rows[0] == ["path", "score", "anomalous"] and [r[2] for r in rows[1:]] == ["1", "1"]
    api = detect_files(load(runs["a"]), [runs["base"] / "in"], tmp_path / "api.csv", threshold=-1)
    assert read_csv(api["path"]) == rows  # the CLI is the API's function
    proc = run_cli("detect", str(runs["a"]), str(runs["base"] / "in"), "--out", str(out))  # exists: refused
    assert_user_error(proc, "already exists; pass --overwrite")
    assert read_csv(out) == rows


@pytest.mark.parametrize(
    "case",
    [
        "text file",
        "unreadable image",
        "missing file",
        "wrong family",
        "out over an input",
        "nan threshold",
        "bad threshold",
    ],
)
def test_detect_bad_input_is_one_line_and_touches_nothing(runs, case):
    base = runs["base"]
    before = {p: p.read_bytes() for p in base.rglob("*") if p.is_file() and "checkpoints" not in p.parts}
    image = str(base / "three.png")
    args, fragments = {
        "text file": ((str(runs["a"]), str(base / "notes.txt")), ("notes.txt: not an image file",)),
        "unreadable image": ((str(runs["a"]), str(base / "broken")), ("fake.png: not a readable image",)),
        "missing file": ((str(runs["a"]), str(base / "nope.png")), ("nope.png: no such file or folder",)),
        "wrong family": ((str(runs["dcgan"]), image, "--out", str(base / "x.csv")), ("does not score anomalies",)),
        "out over an input": ((str(runs["a"]), image, "--out", image), ("give a .csv file name",)),
        "nan threshold": ((str(runs["a"]), image, "--threshold", "nan"), ("give a finite number",)),
        "bad threshold": ((str(runs["a"]), image, "--threshold", "high"), ("'high' is not a valid float",)),
    }[case]
    assert_user_error(run_cli("detect", *args, cwd=base), *fragments)
    after = {p: p.read_bytes() for p in base.rglob("*") if p.is_file() and "checkpoints" not in p.parts}
    assert after == before  # nothing written, nothing changed


def test_api_refuses_no_inputs_and_an_out_that_is_an_input(runs):
    with pytest.raises(UserError, match="at least one input"):
        list_inputs([])
    image = runs["base"] / "three.png"
    with pytest.raises(UserError, match="give a .csv file name"):  # inputs are images, --out a .csv
        detect_files(load(runs["a"]), [image], image)
