"""Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial
kernel k(x, y) = (x.y / D + 1)^3, averaged over random subsets.

Subsets follow torch-fidelity and clean-fid: for each subset, `subset_size` rows of each set are
drawn without replacement (first set, then second, from one `numpy.random.default_rng(seed)`);
the result is the mean and the population standard deviation (ddof=0) of the subset MMD^2 values.
"""

from __future__ import annotations

import numpy as np

from ganforge.errors import UserError
from ganforge.metrics.fid import _as_features


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x_i, y_j) = (x_i . y_j / D + 1)^3 for x [N, D], y [M, D] -> [N, M] (gamma = 1/D, coef0 = 1)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 between x [m, D] and y [n, D] (diagonal terms excluded from k(x,x), k(y,y)):
    sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(n(n-1)) - 2 sum_{i,j} k(x_i,y_j)/(mn)."""
    x, y = _as_features(x, "features1"), _as_features(y, "features2")
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise UserError(f"MMD needs at least 2 samples per set, got {m} and {n}")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean()
    )


def kid(features1, features2, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `num_subsets` random subsets of `subset_size` rows."""
    x, y = _as_features(features1, "features1"), _as_features(features2, "features2")
    if x.shape[1] != y.shape[1]:
        raise UserError(f"KID: features have {x.shape[1]} and {y.shape[1]} dims; use one extractor for both")
    if num_subsets < 1 or subset_size < 2:
        raise UserError(f"KID needs num_subsets >= 1 and subset_size >= 2, got {num_subsets} and {subset_size}")
    if min(len(x), len(y)) < subset_size:
        raise UserError(
            f"KID: {min(len(x), len(y))} samples, fewer than the subset size {subset_size}; "
            f"evaluate at least {subset_size} samples (--n) or lower the KID subset size"
        )
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        xi = x[rng.choice(len(x), subset_size, replace=False)]
        yi = y[rng.choice(len(y), subset_size, replace=False)]
        values[i] = mmd2_unbiased(xi, yi)
    return float(values.mean()), float(values.std())
