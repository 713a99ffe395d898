"""Distances between images and their references, per image.

`psnr` works on ganforge's [-1, 1] images. The super-resolution measures work as the field reports
them (Dong et al. 2014, Ledig et al. 2017, and most papers since): on the Y channel of YCbCr, images
in [0, 255], cropped to a multiple of the scale and then by a border of `scale` pixels:

    psnr_y(sr, hr, scale=4)        10 log10(255^2 / MSE) on Y           [N]
    ssim(sr, hr, scale=4)          Wang et al. 2004 on Y                [N]
    sharpness(sr, hr, scale=4)     Laplacian energy of sr / that of hr  [N] (1.0: as sharp as hr)

Inputs of those three: RGB [N, 3, H, W] or [3, H, W] tensors or arrays in [0, 255] (uint8 or float;
a super-resolved output should be rounded to uint8 first, as a saved image is).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Peak signal-to-noise ratio per image [N], of images in [-1, 1] measured on the [0, 1] scale:
    10 log10(1 / MSE)."""
    mse = ((x - y) / 2).square().flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


def _as_rgb255(x) -> Tensor:
    """[N, 3, H, W] float64 in [0, 255] from a tensor or array [N, 3, H, W] / [3, H, W]."""
    t = torch.as_tensor(np.array(x) if not isinstance(x, Tensor) else x).double()  # a copy: arrays may be read-only
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[1] != 3:
        raise ValueError(f"expected RGB images [N, 3, H, W] or [3, H, W], got {list(t.shape)}")
    return t


def rgb_to_y(x) -> Tensor:
    """Y of YCbCr (ITU-R BT.601, as MATLAB's `rgb2ycbcr`) of RGB [N, 3, H, W] in [0, 255] -> [N, H, W]
    in [16, 235], float64: Y = 16 + 65.481 R + 128.553 G + 24.966 B with R, G, B in [0, 1]. (MATLAB
    rounds Y to uint8 for uint8 inputs; we keep it real, as BasicSR does: <0.01 dB apart.)"""
    t = _as_rgb255(x) / 255.0
    return 16.0 + 65.481 * t[:, 0] + 128.553 * t[:, 1] + 24.966 * t[:, 2]


def shave(y: Tensor, scale: int, border: int | None = None) -> Tensor:
    """[N, H, W] cut at the bottom and right to multiples of `scale`, then by `border` pixels on
    every side (default: `scale`, the usual protocol)."""
    border = scale if border is None else border
    h, w = y.shape[-2] // scale * scale, y.shape[-1] // scale * scale
    y = y[..., :h, :w]
    if border:
        y = y[..., border:-border, border:-border]
    if y.shape[-1] < 1 or y.shape[-2] < 1:
        raise ValueError(f"images of {h}x{w} leave nothing after a border of {border} px")
    return y


def _pair(x, ref, scale: int, border: int | None) -> tuple[Tensor, Tensor]:
    a, b = rgb_to_y(x), rgb_to_y(ref)
    if a.shape != b.shape:
        raise ValueError(f"image {list(a.shape)} and reference {list(b.shape)} differ in size")
    return shave(a, scale, border), shave(b, scale, border)


def psnr_y(x, ref, scale: int = 4, border: int | None = None) -> Tensor:
    """PSNR [N] in dB on Y (peak 255) after `shave`: 10 log10(255^2 / mean((Y_x - Y_ref)^2))."""
    a, b = _pair(x, ref, scale, border)
    mse = (a - b).square().flatten(1).mean(1)
    return 10 * torch.log10(255.0**2 / mse.clamp_min(1e-12))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> Tensor:
    """The normalised 1-D Gaussian [size] (float64) of Wang et al.'s SSIM window (its outer product)."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    x,
    ref,
    scale: int = 4,
    border: int | None = None,
    window: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    data_range: float = 255.0,
) -> Tensor:
    """SSIM [N] on Y after `shave` (Wang et al. 2004, "Image Quality Assessment: From Error Visibility to
    Structural Similarity"): the mean over the valid positions of a `window` x `window` Gaussian window
    (sigma 1.5) of (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
    C1 = (k1 L)^2, C2 = (k2 L)^2, L = data_range; population (not sample) covariances. As the paper's
    MATLAB code and scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)."""
    a, b = _pair(x, ref, scale, border)
    if min(a.shape[-2:]) < window:
        raise ValueError(f"SSIM needs at least {window}x{window} pixels after the border, got {list(a.shape[-2:])}")
    g = gaussian_window(window, sigma)
    kernel = (g[:, None] * g[None, :])[None, None]  # [1, 1, win, win]

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t[:, None], kernel)[:, 0]  # [N, H - win + 1, W - win + 1]: 'valid' positions

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)


def laplacian_energy(y: Tensor) -> Tensor:
    """Mean squared response [N] of the 4-neighbour Laplacian over the valid positions of [N, H, W]."""
    return F.conv2d(y[:, None], LAPLACIAN[None, None])[:, 0].square().flatten(1).mean(1)


def sharpness(x, ref, scale: int = 4, border: int | None = None) -> Tensor:
    """High-frequency energy of `x` relative to `ref` [N]: the mean squared 4-neighbour Laplacian of
    Y_x over that of Y_ref (after `shave`). 1.0: as much fine detail as the reference; bicubic
    upscaling gives far less (0.03 on Set5, 0.02 on Set14 at x4); above 1: more high frequencies than the original
    (noise, ringing, invented texture). It measures how sharp, not how right: read it beside PSNR."""
    a, b = _pair(x, ref, scale, border)
    return laplacian_energy(a) / laplacian_energy(b).clamp_min(1e-12)


__all__ = ["gaussian_window", "laplacian_energy", "psnr", "psnr_y", "rgb_to_y", "sharpness", "shave", "ssim"]
