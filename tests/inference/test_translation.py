"""Translation over a loaded model: directions from the family, files in, files and a comparison grid out;
trained pix2pix / CycleGAN runs loaded and translating, and `ganforge translate` end to end."""

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.config import load_config
from ganforge.data import build_dataset
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.inference.translation import translate_files, translate_tensor
from ganforge.models import MODELS
from ganforge.models.registry import build_networks
from ganforge.training.loop import train

from conftest import assert_user_error, run_cli, tiny_model
from tests_helpers import TRANSLATION_TINY as TINY
from tests_helpers import tiny_translation as tiny
from tests_helpers import write_png as _png


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
    able = ", ".join(name for name in MODELS if MODELS.get(name).directions)  # from the registry
    with pytest.raises(
        UserError,
        match=rf"does not translate images; use 'ganforge sample' \(families that "
        rf"translate: {able}\)",
    ):
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
    assert Image.open(out / "comparison.png").size == (2 + 3 * 34, 2 + 2 * 34)  # rows of input | output | target
    assert np.isfinite(result["l1"]) and np.isfinite(result["psnr"])
    assert not list(out.glob(".part-*"))  # no temporary file left behind
    before = (out / "a.png").read_bytes()
    with pytest.raises(UserError, match="already exists; pass --overwrite"):
        translate_files(model, tmp_path / "in", out)
    assert (out / "a.png").read_bytes() == before
    translate_files(model, tmp_path / "in", out, overwrite=True)


@pytest.mark.parametrize("preset", ["pix2pix-edges", "cyclegan-edges"])
def test_train_save_load_translate(preset, tmp_path):
    run = tmp_path / "run"
    train(load_config(preset, ["train.steps=2", "train.sample_every=2", *tiny(preset)]), run)
    grid = Image.open(run / "samples" / "step_00000002.png")
    assert grid.size[0] > 3 * 32  # rows of input | output | target
    model = ganforge.load(run)
    edges = build_dataset(load_config(preset, tiny(preset)).data).x[:5]
    out = model.translate(edges)
    assert out.shape == (5, 1, 32, 32) and torch.isfinite(out).all()
    torch.testing.assert_close(out, model.networks["G"](edges))  # eval mode: deterministic
    torch.testing.assert_close(model.translate(edges[0]), out[:1])
    if preset.startswith("cyclegan"):
        assert model.translate(out, "BtoA").shape == (5, 1, 32, 32)
    else:
        with pytest.raises(UserError, match="translates AtoB only"):
            model.translate(edges, "BtoA")
        with pytest.raises(UserError, match="does not sample"):
            model.sample(2)
    with pytest.raises(UserError, match=r"\[N, 1, 32, 32\]"):
        model.translate(torch.zeros(2, 3, 32, 32))


def test_translate_cli(tmp_path, capsys):
    from ganforge.cli import main

    run = tmp_path / "run"
    train(load_config("pix2pix-edges", ["train.steps=1", *TINY]), run)
    data = build_dataset(load_config("pix2pix-edges", TINY).data)
    for i in range(3):
        for folder, t in (("in", data.x[i]), ("tg", data.extra["x_b"][i])):
            _png(tmp_path / folder / f"d{i}.png", ((t[0] + 1) * 127.5).round().numpy())
    proc = run_cli(
        "translate", str(run), str(tmp_path / "in"), "--target", str(tmp_path / "tg"), "--out", str(tmp_path / "out")
    )
    assert proc.returncode == 0, proc.stderr
    assert "PSNR" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["comparison.png", "d0.png", "d1.png", "d2.png"]
    assert Image.open(tmp_path / "out" / "comparison.png").size[1] > 3 * 32  # three rows
    assert_user_error(
        run_cli("translate", str(run), str(tmp_path / "missing"), "--out", str(tmp_path / "o2")), "does not exist"
    )
    # the other errors in-process (a fresh interpreter per case is slow on a shared CPU)
    for args, fragment in [
        ((str(tmp_path / "norun"), str(tmp_path / "in")), "does not exist"),
        ((str(run), str(tmp_path / "in"), "--out", str(tmp_path / "out")), "already exists"),
        ((str(run), str(tmp_path / "in"), "--direction", "BtoA"), "AtoB only"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(["translate", *args])
        assert exit_.value.code == 2
        assert fragment in capsys.readouterr().err
