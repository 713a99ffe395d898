"""Perceptual path length of a style-based generator."""

import numpy as np
import pytest
import torch

from ganforge.metrics.path_length import perceptual_path_length, slerp_directions
from ganforge.models.stylegan import ModulatedConv2d

from conftest import PooledPixels as MeanPool
from conftest import tiny_style_generator as tiny_generator


def test_perceptual_path_length():
    G = tiny_generator()
    for space in ("z", "w"):
        out = perceptual_path_length(G, space=space, n=20, batch_size=8, extractor=MeanPool())
        assert out["ppl"] > 0 and np.isfinite(out["ppl"]) and out["n"] >= 18
    for m in G.synthesis.modules():  # styles that ignore w: a flat path
        if isinstance(m, ModulatedConv2d):
            m.affine.weight.data.zero_()
    assert perceptual_path_length(G, space="w", n=10, extractor=MeanPool())["ppl"] == pytest.approx(0.0, abs=1e-6)
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(slerp_directions(a, b, torch.zeros(3, 1)), a / a.norm(dim=1, keepdim=True))
    torch.testing.assert_close(slerp_directions(a, b, torch.ones(3, 1)), b / b.norm(dim=1, keepdim=True))
