"""Sampling over a loaded model: truncation, class labels, per-class grids, synthetic data sets, and
what the family says the model can do."""

import numpy as np
import pytest
import torch

from ganforge.api import load
from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.interpolation import interpolation
from ganforge.inference.model import LoadedModel
from ganforge.inference.sampling import class_grid, class_index, sample, truncated_normal, write_synthetic
from ganforge.models import MODELS
from ganforge.models.registry import build_networks
from ganforge.training.loop import train

from conftest import TINY
from tests_helpers import STYLEGAN_MODEL


def test_truncation_keeps_every_latent_within_psi():
    gen = torch.Generator().manual_seed(0)
    for psi in (0.05, 0.5, 2.0):
        z = truncated_normal(500, 16, psi, gen)
        assert z.shape == (500, 16) and z.abs().max() <= psi
        assert z.std() > 0.3 * psi  # spread out inside the box, not collapsed
    with pytest.raises(UserError, match="> 0"):
        truncated_normal(2, 2, 0.0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step conditional DCGAN on 28 x 28 MNIST test digits."""
    run = tmp_path_factory.mktemp("cond") / "run"
    train(load_config("quickstart", [*TINY, "model.family=cdcgan", "train.steps=2"]), run)
    return run


def test_api_samples_by_class_with_truncation(tiny_run):
    model = load(tiny_run)
    assert model.conditional
    x = model.sample(6, seed=2, y=3, truncation=0.5)
    z = model.latents(6, 2, truncation=0.5)
    assert z.abs().max() <= 0.5
    torch.testing.assert_close(x, model.generate(z, torch.full((6,), 3)))
    assert not torch.equal(x, model.sample(6, seed=2, y=4, truncation=0.5))
    torch.testing.assert_close(model.sample(5, seed=1), model.sample(5, seed=1, y=[0, 1, 2, 3, 4]))
    with pytest.raises(UserError, match="out of range"):
        model.sample(2, y=10)
    grid = class_grid(model, 3)
    assert grid.shape == (30, 1, 28, 28)
    assert interpolation(model, rows=2, steps=5).shape == (10, 1, 28, 28)


def test_synthetic_data_set_is_labelled_and_never_overwritten(tiny_run, tmp_path):
    model = load(tiny_run)
    out = tmp_path / "synth.npz"
    info = write_synthetic(model, out, per_class=3)
    assert info["count"] == 30
    with np.load(out) as d:
        assert d["images"].dtype == np.uint8 and d["images"].shape == (30, 28, 28, 1)
        assert d["labels"].tolist() == [c for c in range(10) for _ in range(3)]
        assert d["classes"].tolist() == list(model.classes)
    before = out.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        write_synthetic(model, out, per_class=1)
    assert out.read_bytes() == before


def test_evaluation_samples_a_conditional_run_with_balanced_labels(tiny_run):
    from ganforge.metrics.pipeline import open_source

    images, labels = next(open_source(str(tiny_run), n=12).batches(12, 12))  # loaded by the inference layer
    assert images.shape == (12, 1, 28, 28) and labels.tolist() == [i % 10 for i in range(12)]


def in_memory(overrides, shape=(1, 16, 16), num_classes=0) -> LoadedModel:
    """A LoadedModel over freshly built (untrained) networks: no checkpoint needed."""
    cfg = load_config(None, overrides)
    return LoadedModel.from_networks(cfg, build_networks(cfg, shape, num_classes), shape, num_classes)


STYLE = STYLEGAN_MODEL


def test_what_a_model_can_do_comes_from_its_family():
    sg = in_memory([*STYLE, "model.style_conditional=true"], num_classes=10)
    assert sg.family is MODELS.get("stylegan") and sg.conditional
    flat = sample(sg, 3, seed=0, truncation=0.0)  # psi = 0 in W: every z gives the image of w_avg
    torch.testing.assert_close(flat[1], flat[0])
    torch.testing.assert_close(flat[2], flat[0])
    assert class_grid(sg, 2, truncation=0.7).shape == (20, 1, 16, 16)  # conditional StyleGAN has per-class grids
    assert not in_memory(STYLE).conditional  # the family reads model.style_conditional
    dcgan = in_memory(["model.family=dcgan", "model.z_dim=8", "model.g_width=4", "model.d_width=4"], (1, 28, 28))
    conditional = [name for name in MODELS if MODELS.get(name).can_condition]
    with pytest.raises(UserError, match=f"class-conditional families: {', '.join(conditional)}"):
        class_index(dcgan, 3)
    with pytest.raises(UserError, match="class-conditional model .* this dcgan model is unconditional"):
        class_grid(dcgan, 2)
    p2p = in_memory(["model.family=pix2pix", "model.g_width=4", "model.d_width=4"], (1, 32, 32))
    with pytest.raises(UserError, match="translates images and does not sample"):
        sample(p2p, 2)
