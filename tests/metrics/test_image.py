"""PSNR of images in [-1, 1], on the [0, 1] pixel scale."""

import pytest
import torch

from ganforge.metrics.image import psnr


def test_psnr_against_a_hand_computed_value():
    x = torch.rand(2, 1, 8, 8) * 1.6 - 0.8
    y = x + torch.tensor([0.2, -0.02]).view(2, 1, 1, 1)  # 0.1 and 0.01 on the [0, 1] scale
    assert psnr(x, y).tolist() == pytest.approx([20.0, 40.0], rel=1e-4)  # 10 log10(1 / 0.1^2), 10 log10(1 / 0.01^2)
    assert psnr(x, x).tolist() == pytest.approx([100.0, 100.0])  # MSE floored at 1e-10
