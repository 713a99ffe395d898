"""benchmarks/inpainting.py's scores and baselines: hole PSNR against scikit-image's PSNR of the hole's
pixels, hole L1 and mean fill by hand, OpenCV's baselines keep the known pixels, and the report
renders from stored figures."""

import sys

import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import inpainting as bench  # noqa: E402


def test_hole_psnr_matches_scikit_image():
    gen = torch.Generator().manual_seed(0)
    x = bench.quantise(torch.rand(3, 3, 16, 16, generator=gen) * 2 - 1)
    out = bench.quantise(torch.rand(3, 3, 16, 16, generator=gen) * 2 - 1)
    m = torch.zeros(3, 1, 16, 16)
    m[:, :, 4:12, 2:10] = 1
    got = bench.hole_psnr(out, x, m)
    for i in range(3):
        hole = m[i, 0].bool()
        ref = peak_signal_noise_ratio(
            ((x[i][:, hole] + 1) / 2).numpy(), ((out[i][:, hole] + 1) / 2).numpy(), data_range=1.0
        )
        assert got[i].item() == pytest.approx(ref, rel=1e-5)


def test_hole_l1_and_mean_fill_by_hand():
    x = torch.tensor([[[[-1.0, 1.0], [0.0, 0.5]]]])  # [1, 1, 2, 2]
    m = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # one missing pixel
    filled = bench.baseline("mean", x, m)
    # the hole gets the mean of the known pixels (1 + 0 + 0.5) / 3 = 0.5, rounded to an 8-bit level
    assert filled[0, 0, 0, 0].item() == pytest.approx(round(1.5 * 127.5) / 127.5 - 1, abs=1e-6)
    assert bench.hole_l1(filled, x, m).item() == pytest.approx(abs(filled[0, 0, 0, 0].item() + 1) / 2, abs=1e-6)
    assert bench.hole_l1(x, x, m).item() == 0


@pytest.mark.parametrize("method", ["telea", "ns"])
@pytest.mark.parametrize("channels", [1, 3])
def test_opencv_baselines_keep_known_pixels(method, channels):
    gen = torch.Generator().manual_seed(1)
    x = bench.quantise(torch.rand(2, channels, 24, 24, generator=gen) * 2 - 1)
    m = torch.zeros(2, 1, 24, 24)
    m[:, :, 8:16, 8:16] = 1
    out = bench.baseline(method, x, m)
    keep = m.expand_as(x) == 0
    torch.testing.assert_close(out[keep], x[keep], rtol=0, atol=1e-6)
    assert (out[~keep] - x[~keep]).abs().mean() < 0.5  # filled from the surroundings, not left at 0


def test_markdown_section_from_stored_figures():
    rows = {k: {"hole_l1": 0.3, "acc": 0.5} for k in ("masked", "mean", "telea", "ns")}
    rows["original"] = {"acc": 0.99}
    rows["ce"] = {"hole_l1": 0.2, "acc": 0.96}
    photo = {k: {"hole_psnr": 20.0, "psnr": 26.0, "hole_l1": 0.09} for k in ("mean", "telea", "ns")}
    photo["gan"] = {"hole_psnr": 20.4, "psnr": 26.3, "hole_l1": 0.08}
    train = {"steps": 10, "batch_size": 4, "cpu_s": 60, "wall_s": 90, "budget_cpu_s": 60, "overrides": []}
    results = {
        "machine": "m",
        "load": [1.0, 1.0, 1.0],
        "telea_radius": 3,
        "train": {"ce": train},
        "digits": {"n": 10, "padded": False, "rows": rows},
        "photos": {"n": 5, "coverage": 0.25, "rows": photo},
    }
    text = bench.markdown_section(results)
    assert text.startswith("## Inpainting")
    assert "accuracy >= 95%: 96.00%, **met**" in text and "0.667 x, **met**" in text
    assert "+0.40 dB, **missed**" in text  # 20.4 - 20.0 < 0.5
    assert "train-ce --budget 60" in text and "train-gan" not in text
