"""Distances between images and their references, per image."""

from __future__ import annotations

import torch
from torch import Tensor


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Peak signal-to-noise ratio per image [N], of images in [-1, 1] measured on the [0, 1] scale:
    10 log10(1 / MSE)."""
    mse = ((x - y) / 2).square().flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


__all__ = ["psnr"]
