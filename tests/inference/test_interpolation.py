"""Latent interpolation: slerp paths between z."""

import torch

from ganforge.inference.interpolation import slerp_path


def test_slerp_ends_at_its_end_points():
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    path = slerp_path(a, b, torch.linspace(0, 1, 5))
    assert path.shape == (3, 5, 8)
    torch.testing.assert_close(path[:, 0], a, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(path[:, -1], b, rtol=1e-4, atol=1e-5)
