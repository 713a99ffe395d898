"""Mode-collapse measures of the literature, as pure functions: samples -> mode assignments -> scores.

2-D mixtures (VEEGAN, Srivastava et al. 2017, sec. 5; PacGAN, Lin et al. 2018, sec. 5.1): a generated
point is *high quality* (HQ) when it lies within 3 standard deviations of its nearest mode; a mode is
*captured* when at least one HQ point is assigned to it; the *reverse KL* compares the histogram of HQ
points over the modes with the uniform distribution the data follows.

Stacked MNIST (Metz et al. 2017, Unrolled GAN; PacGAN sec. 5.2): three MNIST digits as the R, G, B
channels, 10^3 = 1,000 modes; a sample's mode is read by an MNIST classifier on each channel; the
scores are the number of modes with at least one sample and KL(generated mode histogram || uniform).

Both KLs are KL(p_gen || uniform) = sum_k p_k log(K p_k), with 0 log 0 = 0: 0 for a perfectly even
spread, log K when every sample falls in one mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor


def nearest_mode(samples: Tensor, modes: Tensor) -> tuple[Tensor, Tensor]:
    """For points [N, D] and mode centres [K, D]: (index of the nearest mode [N], its distance [N])."""
    dist = torch.cdist(samples.double(), modes.double())  # [N, K]
    d, idx = dist.min(dim=1)
    return idx, d.float()


def kl_to_uniform(counts: Tensor) -> float:
    """KL(p || uniform over len(counts) modes) for a histogram of counts [K]; inf when it is empty."""
    counts = counts.double()
    total = counts.sum()
    if total <= 0:
        return math.inf
    p = counts[counts > 0] / total
    return float((p * (p * len(counts)).log()).sum())


def mixture_scores(samples: Tensor, modes: Tensor, sigma: float, threshold: float = 3.0) -> dict[str, float]:
    """VEEGAN / PacGAN scores of generated points [N, 2] against a Gaussian mixture with centres
    [K, 2] and one standard deviation `sigma`:
        modes      modes with >= 1 high-quality point (out of K)
        hq         fraction of points within `threshold` * sigma of their nearest mode
        reverse_kl KL(histogram of HQ points over modes || uniform)"""
    if samples.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"samples must be [N, {modes.shape[1]}] points, got {list(samples.shape)}")
    if not torch.isfinite(samples).all():
        return {"modes": 0.0, "hq": 0.0, "reverse_kl": math.inf}
    idx, d = nearest_mode(samples, modes)
    hq = d < threshold * sigma  # [N] bool
    counts = torch.bincount(idx[hq], minlength=len(modes))  # [K] HQ points per mode
    return {"modes": float((counts > 0).sum()), "hq": float(hq.float().mean()), "reverse_kl": kl_to_uniform(counts)}


# --- Stacked MNIST -----------------------------------------------------------------------------------
def stacked_mode_ids(digits: Tensor) -> Tensor:
    """Digits [N, 3] (channel 0, 1, 2) -> mode index 100 d0 + 10 d1 + d2 in [0, 1000)."""
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


@torch.no_grad()
def classify_channels(images: Tensor, classify: Callable[[Tensor], Tensor], batch_size: int = 1000) -> Tensor:
    """Images [N, 3, H, W] in [-1, 1] -> digits [N, 3]: `classify` maps [n, 1, H, W] grey digits to
    logits [n, 10] and is applied to each channel on its own."""
    out = []
    for chunk in images.split(batch_size):
        n = len(chunk)
        grey = chunk.reshape(n * 3, 1, *chunk.shape[2:])  # [n*3, 1, H, W]: channel c of sample i at 3i + c
        out.append(classify(grey).argmax(1).view(n, 3))
    return torch.cat(out)


def stacked_mnist_scores(digits: Tensor, num_modes: int = 1000) -> dict[str, float]:
    """Modes covered (>= 1 sample, out of 1,000), KL(mode histogram || uniform), and `kl_digits`, the
    sum over the three channels of KL(that channel's digit frequencies || uniform over 10). Uniform is a
    product of the channels' uniforms, so kl = kl_digits + KL(histogram || product of its channel
    marginals): what kl_digits leaves is the dependence between channels."""
    counts = torch.bincount(stacked_mode_ids(digits), minlength=num_modes)
    per_digit = sum(kl_to_uniform(torch.bincount(digits[:, c], minlength=10)) for c in range(digits.shape[1]))
    return {"modes": float((counts > 0).sum()), "kl": kl_to_uniform(counts), "kl_digits": per_digit}
