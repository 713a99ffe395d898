"""Latent interpolation: slerp paths between z."""

import pytest
import torch

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.interpolation import between_seeds, slerp_path
from ganforge.inference.model import LoadedModel
from ganforge.inference.sampling import sample
from ganforge.models.registry import build_networks

from conftest import TINY


def test_slerp_ends_at_its_end_points():
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    path = slerp_path(a, b, torch.linspace(0, 1, 5))
    assert path.shape == (3, 5, 8)
    torch.testing.assert_close(path[:, 0], a, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(path[:, -1], b, rtol=1e-4, atol=1e-5)


def test_between_seeds_starts_and_ends_at_the_two_seeds_samples():
    cfg = load_config(None, [o for o in TINY if not o.startswith("data.")] + ["model.family=cdcgan"])
    model = LoadedModel.from_networks(cfg, build_networks(cfg, (1, 28, 28), 10), (1, 28, 28), 10)
    path = between_seeds(model, 3, 8, steps=5, y=4)
    assert path.shape == (5, 1, 28, 28)
    torch.testing.assert_close(path[0], sample(model, 1, seed=3, y=4)[0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(path[-1], sample(model, 1, seed=8, y=4)[0], rtol=1e-4, atol=1e-4)
    assert not torch.allclose(path[2], path[0]) and not torch.allclose(path[2], path[-1])  # it moves in between
    cut = between_seeds(model, 3, 8, steps=3, truncation=0.5)  # class 0 by default
    torch.testing.assert_close(cut[0], sample(model, 1, seed=3, y=0, truncation=0.5)[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(UserError, match="at least 2 steps"):
        between_seeds(model, 0, 1, steps=1)
