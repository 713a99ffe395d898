"""`ganforge sample --text` (StackGAN) and `ganforge age` (Age-cGAN) through the CLI: files written,
and bad input (empty or overlong text, no text, an age group out of range, a non-image, a caption
file naming a missing image) -> one line, exit code 2, nothing overwritten."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.training.loop import Trainer
from models.test_agecgan import config as age_config  # noqa: E402  (tests/ is on the path)
from models.test_agecgan import grouped
from models.test_stackgan import captioned
from models.test_stackgan import config as text_config

from conftest import assert_user_error
from tests_helpers import cli_here, write_png


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    Trainer(text_config(steps=2), base / "text", data=captioned()).fit()
    Trainer(age_config(["loss.encoder_start=0"], steps=2), base / "age", data=grouped()).fit()
    write_png(base / "digit.png", np.random.default_rng(0).integers(0, 256, (28, 28)))
    (base / "notes.png").write_text("not an image")
    return base


def test_sample_text_writes_a_grid_and_an_npz(runs, capsys, tmp_path):
    proc = cli_here(
        capsys, "sample", str(runs / "text"), "--text", "a thick seven", "--n", "6", "--out", str(tmp_path / "g.png")
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote 6 samples of 'a thick seven'" in proc.stdout and Image.open(tmp_path / "g.png").size[0] > 16
    proc = cli_here(
        capsys, "sample", str(runs / "text"), "--text", "a thin one", "--n", "3", "--out", str(tmp_path / "g.npz")
    )
    assert proc.returncode == 0, proc.stderr
    arrays = np.load(tmp_path / "g.npz")
    assert arrays["images"].shape == (3, 16, 16, 1) and list(arrays["text"]) == ["a thin one"] * 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", " "], "has no words"),
        (["--text", "seven " * 40], "this model reads at most"),
        ([], "draws images from text"),
        (["--text", "a seven", "--class", "3"], "name the class in --text"),
    ],
)
def test_sample_text_bad_input(runs, capsys, tmp_path, args, message):
    out = tmp_path / "g.png"
    assert_user_error(cli_here(capsys, "sample", str(runs / "text"), *args, "--out", str(out)), message)
    assert not out.exists()


def test_text_on_a_model_without_text(runs, capsys, tmp_path):
    proc = cli_here(capsys, "sample", str(runs / "age"), "--text", "a seven", "--out", str(tmp_path / "g.png"))
    assert_user_error(proc, "takes no text", "stackgan")


def test_age_to_a_group_and_a_strip(runs, capsys, tmp_path):
    proc = cli_here(
        capsys,
        "age",
        str(runs / "age"),
        str(runs / "digit.png"),
        "--to",
        "thickest",
        "--steps",
        "3",
        "--out",
        str(tmp_path / "a.png"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "-> thickest" in proc.stdout and Image.open(tmp_path / "a.png").size == (32, 32)
    proc = cli_here(
        capsys,
        "age",
        str(runs / "age"),
        str(runs / "digit.png"),
        "--strip",
        "--steps",
        "0",
        "--out",
        str(tmp_path / "s.png"),
    )
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "s.png").size[0] > 5 * 32  # the input, then 5 groups


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "5"], "group 5 is out of range: this model has 5 groups"),
        (["--to", "ancient"], "unknown group 'ancient'"),
        (["--to", "1", "--from", "-1"], "group -1 is out of range"),
        (["--to", "1", "--strip"], "not both"),
        ([], "give --to GROUP"),
        (["--to", "1", "--steps", "-2"], "--steps -2"),
    ],
)
def test_age_bad_options(runs, capsys, tmp_path, args, message):
    out = tmp_path / "a.png"
    assert_user_error(
        cli_here(capsys, "age", str(runs / "age"), str(runs / "digit.png"), *args, "--out", str(out)), message
    )
    assert not out.exists()


def test_age_bad_inputs_and_no_overwrite(runs, capsys, tmp_path):
    out = tmp_path / "a.png"
    assert_user_error(
        cli_here(capsys, "age", str(runs / "age"), str(runs / "notes.png"), "--to", "1", "--out", str(out)),
        "not a readable image",
    )
    assert_user_error(
        cli_here(capsys, "age", str(runs / "age"), str(tmp_path / "nope.png"), "--to", "1", "--out", str(out)),
        "does not exist",
    )
    assert_user_error(
        cli_here(capsys, "age", str(runs / "text"), str(runs / "digit.png"), "--to", "1", "--out", str(out)),
        "does not edit images",
        "agecgan",
    )
    out.write_bytes(b"mine")
    assert_user_error(
        cli_here(capsys, "age", str(runs / "age"), str(runs / "digit.png"), "--to", "1", "--out", str(out)),
        "already exists",
    )
    assert out.read_bytes() == b"mine"


def test_training_on_a_caption_file_naming_a_missing_image(capsys, tmp_path):
    write_png(tmp_path / "imgs" / "a.png", np.zeros((32, 32)))
    (tmp_path / "caps.csv").write_text("image,caption\nimgs/a.png,a dot\nimgs/gone.png,a ghost\n")
    proc = cli_here(
        capsys,
        "train",
        "stackgan-mnist",
        "data.name=captions",
        f"data.path={tmp_path / 'caps.csv'}",
        "train.steps=1",
        "--out",
        str(tmp_path / "run"),
    )
    assert_user_error(proc, "line 3 names", "gone.png, which does not exist")
    assert not (tmp_path / "run").exists()
