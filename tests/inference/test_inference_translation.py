"""Translation over a loaded model: directions from the family, files in, files and a comparison grid out."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.inference.translation import translate_files, translate_tensor
from ganforge.models import MODELS
from ganforge.models.registry import build_networks

from conftest import tiny_model


def in_memory(family: str, shape=(1, 32, 32)) -> LoadedModel:
    cfg = load_config(None, tiny_model(family))
    return LoadedModel.from_networks(cfg, build_networks(cfg, shape, 0), shape)


def test_directions_come_from_the_family():
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    cyc = in_memory("cyclegan")
    torch.testing.assert_close(translate_tensor(cyc, x, "BtoA"), cyc.networks["F"](x))
    p2p = in_memory("pix2pix")
    torch.testing.assert_close(translate_tensor(p2p, x), p2p.networks["G"](x))
    with pytest.raises(UserError, match=r"translates AtoB only, not 'BtoA' \(train with data.direction=BtoA"):
        translate_tensor(p2p, x, "BtoA")
    able = ", ".join(name for name in MODELS if MODELS.get(name).directions)     # from the registry
    with pytest.raises(UserError, match=rf"does not translate images; use 'ganforge sample' \(families that "
                                        rf"translate: {able}\)"):
        translate_tensor(in_memory("dcgan"), x)


def test_translate_files_writes_outputs_and_a_grid_and_keeps_what_exists(tmp_path):
    model = in_memory("pix2pix")
    rng = np.random.default_rng(0)
    for folder in ("in", "tg"):
        (tmp_path / folder / "sub").mkdir(parents=True)
        for name in ("a.png", "sub/b.png"):
            Image.fromarray(rng.integers(0, 256, (40, 48), dtype=np.uint8)).save(tmp_path / folder / name)
    out = tmp_path / "out"
    result = translate_files(model, tmp_path / "in", out, target=tmp_path / "tg")
    assert result["count"] == 2 and sorted(p.name for p in out.iterdir()) == ["a.png", "comparison.png", "sub_b.png"]
    assert Image.open(out / "a.png").size == (32, 32)
    assert Image.open(out / "comparison.png").size == (2 + 3 * 34, 2 + 2 * 34)   # rows of input | output | target
    assert np.isfinite(result["l1"]) and np.isfinite(result["psnr"])
    assert not list(out.glob(".part-*"))                                        # no temporary file left behind
    before = (out / "a.png").read_bytes()
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        translate_files(model, tmp_path / "in", out)
    assert (out / "a.png").read_bytes() == before
    translate_files(model, tmp_path / "in", out, overwrite=True)
