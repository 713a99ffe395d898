"""PSNR of images in [-1, 1], on the [0, 1] pixel scale."""

import math

import pytest
import torch

from ganforge.metrics.image import psnr


def test_psnr_against_a_hand_computed_value():
    x = torch.rand(2, 1, 8, 8) * 1.6 - 0.8
    y = x + torch.tensor([0.2, -0.02]).view(2, 1, 1, 1)  # 0.1 and 0.01 on the [0, 1] scale
    assert psnr(x, y).tolist() == pytest.approx([20.0, 40.0], rel=1e-4)  # 10 log10(1 / 0.1^2), 10 log10(1 / 0.01^2)
    assert psnr(x, x).tolist() == pytest.approx([100.0, 100.0])  # MSE floored at 1e-10


# --- the super-resolution measures: Y of YCbCr, border, PSNR-Y, SSIM, sharpness ----------------------------
def _rgb(gen, h=40, w=44):
    """A smooth random RGB image [3, h, w] in [0, 255] (float64), like a photo more than like noise."""
    coarse = torch.rand(1, 3, h // 4, w // 4, generator=gen, dtype=torch.float64)
    return torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)[0] * 255


def test_rgb_to_y_hand_values():
    from ganforge.metrics.image import rgb_to_y

    colours = torch.tensor([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=torch.float64)
    y = rgb_to_y(colours.view(5, 3, 1, 1)).flatten()
    # 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B in [0, 1]): black 16, white 235
    assert y.tolist() == pytest.approx([16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], abs=1e-9)


def test_psnr_y_hand_value_ignores_the_border_and_the_remainder():
    from ganforge.metrics.image import psnr_y

    ref = torch.full((3, 22, 23), 128.0, dtype=torch.float64)
    x = ref + 2.0  # every channel +2: Y moves by 2 (65.481 + 128.553 + 24.966) / 255 = 2 * 219 / 255
    x[:, :4] = 0  # the top border (4 px at x4) ...
    x[:, :, -3:] = 255  # ... and the columns past 20 (23 cropped to a multiple of 4) must not count
    dy = 2 * 219 / 255
    assert float(psnr_y(x, ref, scale=4)) == pytest.approx(10 * math.log10(255**2 / dy**2), abs=1e-9)


def test_psnr_y_and_ssim_against_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from ganforge.metrics.image import psnr_y, rgb_to_y, shave, ssim

    gen = torch.Generator().manual_seed(0)
    ref = _rgb(gen, 42, 47)
    x = (ref + torch.randn(ref.shape, generator=gen, dtype=torch.float64) * 6).clamp(0, 255).round()
    ya, yb = (shave(rgb_to_y(t), 4)[0].numpy() for t in (x, ref))  # [32, 36]: 40 x 44 less 4 px a side
    assert ya.shape == (32, 36)
    assert float(psnr_y(x, ref, 4)) == pytest.approx(peak_signal_noise_ratio(yb, ya, data_range=255), abs=1e-9)
    want = structural_similarity(ya, yb, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    got = float(ssim(x, ref, 4))
    assert got == pytest.approx(want, abs=1e-9)
    assert 0.3 < got < 0.99  # a real difference, not a degenerate case
    assert float(ssim(ref, ref, 4)) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_flat_images_by_hand():
    from ganforge.metrics.image import ssim

    # flat images: no variance, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 255)^2, on Y
    a = torch.full((3, 24, 24), 100.0, dtype=torch.float64)
    b = torch.full((3, 24, 24), 110.0, dtype=torch.float64)
    ya, yb = 16 + 219 * 100 / 255, 16 + 219 * 110 / 255
    c1 = (0.01 * 255) ** 2
    assert float(ssim(a, b, 4)) == pytest.approx((2 * ya * yb + c1) / (ya**2 + yb**2 + c1), abs=1e-12)


def test_sharpness_is_the_ratio_of_laplacian_energies():
    from ganforge.metrics.image import sharpness

    gen = torch.Generator().manual_seed(1)
    detail = torch.rand(1, 32, 32, generator=gen, dtype=torch.float64).expand(3, -1, -1) * 40 - 20
    ref = 120 + detail
    assert float(sharpness(ref, ref, 4)) == pytest.approx(1.0)
    # Y is affine in RGB and the Laplacian ignores constants: twice the detail is 4x the energy
    assert float(sharpness(120 + 2 * detail, ref, 4)) == pytest.approx(4.0, rel=1e-12)
    blurred = torch.nn.functional.avg_pool2d(ref[None], 3, 1, 1, count_include_pad=False)[0]
    assert float(sharpness(blurred, ref, 4)) < 0.5
