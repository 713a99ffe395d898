"""Style-based generators: style mixing, lines in W, projection into W (and the `ganforge project` command);
only families with styles."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.interpolation import interpolate_w
from ganforge.inference.model import LoadedModel
from ganforge.inference.styles import project, style_generator, style_mixing_grid
from ganforge.models.registry import build_networks
from ganforge.training.loop import Trainer

from conftest import PooledPixels as MeanPool
from conftest import tiny_style_generator as tiny_generator
from tests_helpers import STYLEGAN_TINY as TINY_SG
from tests_helpers import style_data as tiny_data


def test_style_mixing_grid_and_interpolation():
    G = tiny_generator()
    grid, nrow = style_mixing_grid(G, [1, 2, 3], [4, 5], crossover=2)
    assert nrow == 3 and grid.shape == (12, 1, 16, 16)
    torch.testing.assert_close(grid[0], torch.full_like(grid[0], -1.0))  # blank corner
    # row 1 column 1 mixes row seed 1 (coarse) with column seed 4 (fine): not either source
    assert not torch.allclose(grid[4], grid[3]) and not torch.allclose(grid[4], grid[1])
    path = interpolate_w(G, 0, 1, steps=5)
    assert path.shape == (5, 1, 16, 16)
    with pytest.raises(UserError, match="crossover"):
        style_mixing_grid(G, [1], [2], crossover=G.num_ws)


def test_projection_returns_finite_w_and_reconstruction():
    G = tiny_generator()
    with torch.no_grad():
        target = G(torch.randn(1, 8))[0].clamp(-1, 1)
    res = project(G, target, steps=30, lr=0.1, extractor=MeanPool(), w_avg_samples=200)
    assert res.w.shape == (1, 16) and res.ws.shape == (G.num_ws, 16) and res.image.shape == (1, 16, 16)
    assert torch.isfinite(res.w).all() and torch.isfinite(res.image).all() and np.isfinite(res.psnr)
    assert res.losses[-1] < res.losses[0]  # it optimised something
    plus = project(G, target, steps=3, wplus=True, feature_weight=0.0, w_avg_samples=50)
    assert plus.w.shape == (G.num_ws, 16)
    assert all(p.requires_grad for p in G.parameters())  # G's flags restored


def test_only_a_family_with_styles_is_accepted():
    cfg = load_config(None, ["model.family=dcgan", "model.z_dim=8", "model.g_width=4", "model.d_width=4"])
    dcgan = LoadedModel.from_networks(cfg, build_networks(cfg, (1, 28, 28), 0), (1, 28, 28))
    with pytest.raises(UserError, match=r"per-layer styles \(model.family=stylegan\), not dcgan"):
        style_generator(dcgan)
    with pytest.raises(UserError, match="per-layer styles .* not DCGANGenerator"):
        style_mixing_grid(dcgan.generator, [1], [2], crossover=1)


def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
        raise SystemExit(0)
    return e.value.code, capsys.readouterr()


def test_project_cli(tmp_path, capsys):
    cfg = load_config(None, [*TINY_SG, "train.steps=1"])
    Trainer(cfg, tmp_path / "run", data=tiny_data()).fit()
    png = tmp_path / "digit.png"
    Image.fromarray((np.random.default_rng(0).random((20, 20)) * 255).astype(np.uint8)).save(png)
    out = tmp_path / "proj"
    code, io = _run(
        ["project", str(tmp_path / "run"), str(png), "--out", str(out), "--steps", "3", "--feature-weight", "0"], capsys
    )
    assert code == 0, io.err
    arrays = np.load(out / "projected_w.npz")
    assert arrays["w"].shape == (1, 16) and np.isfinite(arrays["w"]).all() and arrays["ws"].shape == (6, 16)
    assert Image.open(out / "reconstruction.png").size[0] >= 16 and (out / "comparison.png").is_file()
    code, io = _run(["project", str(tmp_path / "run"), str(png), "--out", str(out), "--steps", "1"], capsys)
    assert code == 2 and "already exists" in io.err  # nothing overwritten unasked
    code, io = _run(["project", str(tmp_path / "run"), str(tmp_path / "missing.png")], capsys)
    assert code == 2 and "no such image" in io.err
