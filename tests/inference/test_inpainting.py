"""`ganforge inpaint` (inference/inpainting.py, GanModel.inpaint): the input kept outside the hole,
tiles == the whole image within 1e-5, masks from files or policies, and bad input -> one line, exit
code 2, nothing written."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.api import load
from ganforge.config import load_config
from ganforge.data.masks import batch_generator, center_mask, make_masks
from ganforge.errors import UserError
from ganforge.inference.inpainting import inpaint, inpaint_file
from ganforge.training.loop import Trainer

from conftest import QUIET, assert_user_error
from tests_helpers import cli_here, labelled_data, tiny_trainer_config, write_png

FAMILIES = {
    "ce": ["model.family=context-encoder", "model.g_width=4", "model.d_width=4"],
    "gan": ["model.family=inpaint-gan", "model.g_width=4", "model.d_width=4", "model.d_layers=2"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-step run of each inpainting family on grey 32 px images, a colour inpaint-gan run, a DCGAN
    run, and input files."""
    base = tmp_path_factory.mktemp("inpaint")
    torch.manual_seed(0)
    for name, over in FAMILIES.items():
        cfg = load_config(None, [*over, *QUIET, "train.steps=2", "train.batch_size=8"])
        Trainer(cfg, base / name, data=labelled_data(16)).fit()
    colour = labelled_data(16)
    colour.x = colour.x.expand(-1, 3, -1, -1).contiguous()
    cfg = load_config(None, [*FAMILIES["gan"], *QUIET, "train.steps=2", "train.batch_size=8"])
    Trainer(cfg, base / "gan-rgb", data=colour).fit()
    Trainer(tiny_trainer_config("dcgan"), base / "dcgan", data=labelled_data(16)).fit()
    rng = np.random.default_rng(0)
    write_png(base / "digit.png", rng.integers(0, 256, (32, 32)))
    write_png(base / "big.png", rng.integers(0, 256, (70, 90, 3)))
    hole = np.zeros((32, 32), np.uint8)
    hole[8:24, 8:24] = 255
    write_png(base / "mask.png", hole)
    write_png(base / "mask-small.png", hole[:30])
    (base / "notes.png").write_text("not an image")
    return base


def test_the_input_is_kept_outside_the_hole(runs):
    model = load(runs / "ce")
    x = torch.rand(4, 1, 32, 32) * 2 - 1
    m = center_mask(4, 32, 32)
    out = model.inpaint(x, m)
    assert out.shape == x.shape
    keep = m.expand_as(x) == 0
    assert torch.equal(out[keep], x[keep])  # exactly: the composite, not G's output
    assert not torch.equal(out[~keep], x[~keep])
    one = model.inpaint(x[0], m[0, 0])  # [C, H, W] with an [H, W] mask
    torch.testing.assert_close(one, out[0])


def test_tiles_equal_the_whole_image(runs):
    model = load(runs / "gan-rgb")
    G = model.networks["G"]
    gen = torch.Generator().manual_seed(1)
    for conv in G.modules():  # weights large enough that every output pixel depends on its whole context
        if isinstance(conv, torch.nn.Conv2d):
            fan_in = conv.weight[0].numel()
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * 2 / fan_in**0.5)
    x = torch.rand(2, 3, 90, 70, generator=gen) * 2 - 1  # not multiples of 4: padded first
    m = make_masks("mixed", 2, 90, 70, batch_generator(0, 0))
    whole = inpaint(model, x, m, tile=None)
    tiled = inpaint(model, x, m, tile=16)  # 6 x 5 tiles, each with G.margin of context
    assert (tiled - whole).abs().max() < 1e-5
    # the test can fail: with too little context the tiles differ from the whole image
    margin, G.margin = G.margin, 4
    try:
        assert (inpaint(model, x, m, tile=16) - whole).abs().max() > 1e-3
    finally:
        G.margin = margin


def test_context_encoder_refuses_other_sizes(runs):
    model = load(runs / "ce")
    with pytest.raises(UserError, match="inpaints 32x32 images only"):
        model.inpaint(torch.zeros(1, 48, 48), torch.zeros(48, 48))


def test_cli_inpaint_with_a_mask_file(runs, tmp_path, capsys):
    out = tmp_path / "out.png"
    proc = cli_here(
        capsys,
        "inpaint",
        str(runs / "ce"),
        str(runs / "digit.png"),
        "--mask",
        str(runs / "mask.png"),
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert "inpainted 32x32 image (25.0% missing)" in proc.stdout
    got = np.asarray(Image.open(out))
    src = np.array(Image.open(runs / "digit.png"))
    known = np.ones((32, 32), bool)
    known[8:24, 8:24] = False
    assert np.array_equal(got[known], src[known])  # known pixels come back as they were
    api = load(runs / "ce").inpaint(torch.from_numpy(src).float()[None] / 127.5 - 1, center_mask(1, 32, 32)[0])
    assert np.abs((api[0].numpy() + 1) * 127.5 - got).max() <= 0.5 + 1e-3  # the CLI is the API's function


def test_cli_inpaint_with_a_policy_on_a_large_image(runs, tmp_path, capsys):
    out = tmp_path / "big-out.png"
    args = ["inpaint", str(runs / "gan-rgb"), str(runs / "big.png"), "--policy", "strokes", "--seed", "3"]
    proc = cli_here(capsys, *args, "--tile", "32", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (90, 70)
    again = tmp_path / "again.png"
    assert cli_here(capsys, *args, "--tile", "32", "--out", str(again)).returncode == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))  # the seed fixes the mask


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("small-mask", "is 32x30 but the image is 32x32"),
        ("not-an-image", "not a readable image"),
        ("wrong-family", "does not inpaint"),
        ("exists", "already exists; pass --overwrite"),
        ("out-is-input", "is an input file"),
        ("no-mask", "give either --mask"),
        ("both", "give either --mask"),
        ("ce-size", "inpaints 32x32 images only"),
        ("not-png", "give a .png file name"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys, case, fragment):
    out = tmp_path / "out.png"
    run, image, extra = runs / "ce", runs / "digit.png", ["--mask", str(runs / "mask.png")]
    if case == "small-mask":
        extra = ["--mask", str(runs / "mask-small.png")]
    elif case == "not-an-image":
        image = runs / "notes.png"
    elif case == "wrong-family":
        run = runs / "dcgan"
    elif case == "exists":
        out.write_bytes(b"keep me")
    elif case == "out-is-input":
        out = tmp_path / "digit.png"
        write_png(out, np.zeros((32, 32)))
        image = out
    elif case == "no-mask":
        extra = []
    elif case == "both":
        extra += ["--policy", "box"]
    elif case == "ce-size":
        image, extra = runs / "big.png", ["--policy", "center"]
    elif case == "not-png":
        out = tmp_path / "out.jpg"
    before = out.read_bytes() if out.exists() else None
    proc = cli_here(capsys, "inpaint", str(run), str(image), *extra, "--out", str(out))
    assert_user_error(proc, fragment)
    assert (out.read_bytes() if out.exists() else None) == before  # nothing written, nothing replaced
    assert [p.name for p in tmp_path.iterdir()] == ([out.name] if before is not None else [])


def test_inpaint_file_overwrites_only_when_asked(runs, tmp_path):
    out = tmp_path / "o.png"
    out.write_bytes(b"old")
    model = load(runs / "gan")
    with pytest.raises(UserError, match="already exists"):
        inpaint_file(model, runs / "digit.png", out, policy="box")
    inpaint_file(model, runs / "digit.png", out, policy="box", overwrite=True)
    assert Image.open(out).size == (32, 32)
