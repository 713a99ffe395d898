"""`ganforge upscale` (inference/restoration.py, GanModel.upscale): overlapping tiles give the
whole-image result, memory stays bounded on a 2000x2000 image, files in and out, and bad input ->
one line, exit code 2, nothing written."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.api import GanModel, load
from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.inference.restoration import receptive_radius, upscale_files
from ganforge.models.srgan import SRResNet, example_photos
from ganforge.training.loop import Trainer

from conftest import QUIET, assert_user_error
from tests_helpers import cli_here, labelled_data, tiny_trainer_config, write_png

TINY_SR = ["model.family=srgan", "model.g_width=8", "model.resnet_blocks=1", "train.batch_size=4", *QUIET]


def model_over(G: torch.nn.Module, extra=()) -> GanModel:
    cfg = load_config(None, [*TINY_SR, *extra])
    return GanModel.from_networks(cfg, {"G": G}, (3, 32, 32))


def paper_like_generator(seed=0) -> SRResNet:
    """Batch norm, 9x9 head and tail, 2 blocks, bicubic skip; the residual scaled down so outputs stay
    inside [-1, 1] (where clamping would hide differences)."""
    torch.manual_seed(seed)
    G = SRResNet(3, 4, width=8, blocks=2, norm="batch", kernel=9, bicubic_skip=True)
    with torch.no_grad():
        G.tail.weight.mul_(0.1)
    return G.eval()


def test_receptive_radius_by_hand():
    G = SRResNet(3, 4, width=4, blocks=2, norm="none", kernel=9)
    # head 4 + 2 blocks x 2 convs x 1 + body conv 1 + up convs 1 and 1/2 + tail 4/4 = 11.5 -> 12
    assert receptive_radius(G) == 12
    # no blocks, 1x1 head and tail: body conv 1 + up convs 1 and 1/2 = 2.5 -> 3 (the bicubic skip's 2 is less)
    assert receptive_radius(SRResNet(3, 4, width=4, blocks=0, norm="none", kernel=1, bicubic_skip=True)) == 3


def test_tiles_join_without_seams():
    model = model_over(paper_like_generator(), ["model.norm=batch", "model.head_kernel=9", "model.bicubic_skip=true"])
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 37, 45, generator=gen) - 0.5
    whole = model.upscale(x, tile=None)
    assert whole.shape == (2, 3, 148, 180) and whole.abs().max() < 1  # nothing clamped
    tiled = model.upscale(x, tile=16)  # 3 x 3 tiles, the margin G's receptive field (12 + ... px)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-5)
    seams = model.upscale(x, tile=16, margin=2)  # too small a margin: the seams show
    assert (seams - whole).abs().max() > 1e-3


def test_upscale_of_uint8_images():
    model = model_over(paper_like_generator(), ["model.norm=batch", "model.head_kernel=9", "model.bicubic_skip=true"])
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (21, 30, 3)).astype(np.uint8)
    out = model.upscale(rgb, tile=8)
    assert out.shape == (84, 120, 3) and out.dtype == np.uint8
    want = model.upscale(torch.from_numpy(rgb).permute(2, 0, 1).float() / 127.5 - 1, tile=None)[0]
    want = want.add(1).mul(127.5).round().permute(1, 2, 0).numpy()
    assert np.abs(out.astype(float) - want).max() <= 1  # the same image, rounded
    grey = model.upscale(rgb[:, :, 0], tile=None)
    assert grey.shape == (84, 120, 3)
    assert np.array_equal(model.upscale(Image.fromarray(rgb)), model.upscale(rgb))


def test_upscale_of_a_2000_pixel_image_stays_under_2_gb(tmp_path):
    script = textwrap.dedent(
        """
        import sys, numpy as np, torch
        torch.set_num_threads(1)
        from ganforge.api import GanModel
        from ganforge.config import load_config
        from ganforge.models.srgan import SRResNet
        cfg = load_config(None, ["model.family=srgan", "model.g_width=2", "model.resnet_blocks=1",
                                 "model.norm=none", "model.head_kernel=3"])
        G = SRResNet(3, 4, width=2, blocks=1, norm="none", kernel=3)
        model = GanModel.from_networks(cfg, {"G": G}, (3, 32, 32))
        image = np.random.default_rng(0).integers(0, 256, (2000, 2000, 3)).astype(np.uint8)
        out = model.upscale(image)
        assert out.shape == (8000, 8000, 3), out.shape
        # this process's own peak (VmHWM of its memory map, kB): ru_maxrss would carry the peak of the
        # pytest process that spawned it (Linux keeps the old map's high-water mark across exec)
        print(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], check=True, timeout=240, capture_output=True, text=True)
    peak_kb = int(proc.stdout.split()[-1])
    # whole-image processing would need 2 channels x 8000^2 x 4 bytes = 512 MB per activation at the
    # output size, several at once; the uint8 output alone is 192 MB
    assert peak_kb < 2 * 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"


# --- files and the CLI ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("upscale")
    cfg = load_config(None, [*TINY_SR, "train.steps=1"])
    Trainer(cfg, base / "sr", data=Data(example_photos((3, 32, 32), 8)["x"])).fit()
    Trainer(tiny_trainer_config("dcgan"), base / "dcgan", data=labelled_data(16)).fit()
    rng = np.random.default_rng(0)
    write_png(base / "in" / "a.png", rng.integers(0, 256, (12, 16, 3)))
    write_png(base / "in" / "sub" / "b.png", rng.integers(0, 256, (9, 9)))  # grey: upscaled as RGB
    write_png(base / "small.png", rng.integers(0, 256, (3, 20, 3)))  # 3 px high: below the x4 scale
    (base / "fake.png").write_text("not a PNG")
    return base


def test_upscale_files(runs, tmp_path):
    result = upscale_files(load(runs / "sr"), runs / "in", tmp_path / "out")
    assert result["count"] == 2
    assert [p.name for p in result["outputs"]] == ["a.png", "sub_b.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "a.png")).shape == (48, 64, 3)
    assert np.asarray(Image.open(tmp_path / "out" / "sub_b.png")).shape == (36, 36, 3)
    with pytest.raises(UserError, match="already exists"):
        upscale_files(load(runs / "sr"), runs / "in", tmp_path / "out")


def test_cli_upscale(runs, tmp_path, capsys):
    proc = cli_here(capsys, "upscale", str(runs / "sr"), str(runs / "in" / "a.png"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    assert "upscaled 1 image(s) x4" in proc.stdout
    assert (tmp_path / "o" / "a.png").is_file()


@pytest.mark.parametrize(
    "run, source, fragments",
    [
        ("sr", "fake.png", ["fake.png: not a readable image"]),
        ("sr", "small.png", ["small.png is 20x3 pixels, smaller than the x4 scale"]),
        ("dcgan", "in", ["this dcgan model does not upscale images", "srgan"]),
        ("sr", "nothing.png", ["input", "does not exist"]),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(runs, tmp_path, capsys, run, source, fragments):
    out = tmp_path / "out"
    proc = cli_here(capsys, "upscale", str(runs / run), str(runs / source), "--out", str(out))
    assert_user_error(proc, *fragments)
    assert not out.exists()


def test_a_bad_file_in_a_folder_writes_nothing(runs, tmp_path):
    folder = tmp_path / "mixed"
    write_png(folder / "a.png", np.zeros((8, 8, 3)))
    (folder / "b.png").write_text("not a PNG")
    with pytest.raises(UserError, match="b.png: not a readable image"):
        upscale_files(load(runs / "sr"), folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
