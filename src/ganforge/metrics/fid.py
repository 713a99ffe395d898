"""Frechet Inception Distance (Heusel et al. 2017) and intra-class FID (Miyato & Koyama 2018).

Data flow: features [N, D] -> Gaussian statistics (mu [D], sigma [D, D], float64, unbiased
covariance) -> Frechet distance

    FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).

The reference implementations (pytorch-fid, torch-fidelity, clean-fid) take the trace term from
`scipy.linalg.sqrtm(S1 @ S2)`: a complex Schur decomposition of a non-symmetric matrix (tens of
seconds at D = 2048 on two cores). Only the trace is needed, and tr((S1 S2)^(1/2)) is the sum of
square roots of the eigenvalues of S1 S2. With the Cholesky factor S1 = L L^T, the matrix
L^T S2 L is similar to S1 S2 (L^-1 (S1 S2) L = L^T S2 L) and symmetric positive semi-definite, so
a symmetric eigenvalue solver (values only, real arithmetic) gives the same trace several times
faster (docs/benchmarks/metrics.md).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import scipy.linalg

from ganforge.errors import UserError

EPS_OFFSET = 1e-6  # diagonal offset for singular covariances, as in pytorch-fid


def _as_features(x, name: str) -> np.ndarray:
    """A [N, D] float64 array from an array or tensor; anything else is a UserError."""
    if hasattr(x, "detach"):  # torch.Tensor without importing torch here
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise UserError(f"{name} must be a [N, D] feature array, got shape {tuple(x.shape)}")
    if not np.isfinite(x).all():
        raise UserError(f"{name} holds NaN or infinite values; check the images and the extractor")
    return x


def warn_if_biased(n: int, dim: int, what: str = "features") -> None:
    """Fewer samples than dimensions: the covariance is rank-deficient and FID is biased upwards."""
    if n < dim:
        warnings.warn(
            f"{what}: {n} samples of {dim}-d features; the covariance has rank < {dim} "
            f"and FID is biased (use at least {dim} samples, 10,000 or more to compare "
            "with published figures)",
            stacklevel=3,
        )


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """(mu [D], sigma [D, D]) of features [N, D]: float64 mean and unbiased covariance (N - 1)."""
    x = _as_features(features, "features")
    if len(x) < 2:
        raise UserError(f"FID needs at least 2 samples to estimate a covariance, got {len(x)}")
    warn_if_biased(len(x), x.shape[1])
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


class RunningGaussian:
    """Mean and unbiased covariance of a stream of feature batches [B, D], in float64.

    Batches are merged with Chan et al.'s pairwise update (mean and centred scatter matrix), which
    avoids the cancellation of the sum-of-squares formula when features have a large mean."""

    def __init__(self, dim: int):
        self.dim = dim
        self.n = 0
        self.mean = np.zeros(dim)
        self._scatter = np.zeros((dim, dim))  # sum of (x - mean)(x - mean)^T

    def update(self, features) -> None:
        x = _as_features(features, "features")
        if x.shape[1] != self.dim:
            raise UserError(f"feature batch has {x.shape[1]} dims, expected {self.dim}")
        b = len(x)
        if b == 0:
            return
        mean_b = x.mean(axis=0)
        xc = x - mean_b
        delta = mean_b - self.mean
        n = self.n + b
        self._scatter += xc.T @ xc + np.outer(delta, delta) * (self.n * b / n)
        self.mean += delta * (b / n)
        self.n = n

    def stats(self, what: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """(mu [D], sigma [D, D]); warns when fewer samples than dimensions."""
        if self.n < 2:
            raise UserError(f"{what}: FID needs at least 2 samples, got {self.n}")
        warn_if_biased(self.n, self.dim, what)
        sigma = self._scatter / (self.n - 1)
        return self.mean.copy(), (sigma + sigma.T) / 2


def _sqrt_trace(s1: np.ndarray, s2: np.ndarray) -> tuple[float, float, bool]:
    """(tr((s1 s2)^(1/2)), smallest eigenvalue of s1 s2, singular) for symmetric s1, s2 [D, D].

    LAPACK's generalized symmetric solver (type 2: s2 s1 v = w v) does exactly the reduction in
    the module docstring: Cholesky s1 = L L^T (potrf), L^T s2 L exploiting symmetry (sygst), then
    the eigenvalues of that symmetric matrix (syev, values only). `singular` is True when s1 has
    no Cholesky factor or the product has an eigenvalue at rounding level: the cases pytorch-fid
    answers with an offset."""
    # LAPACK reads one triangle in column-major order; the transpose of a C-ordered symmetric matrix
    # is that matrix, already column-major, so scipy copies it straight instead of transposing
    s1, s2 = (s.T if s.flags.c_contiguous else s for s in (s1, s2))
    try:
        w = scipy.linalg.eigh(s2, s1, type=2, eigvals_only=True, driver="gv", check_finite=False)
    except np.linalg.LinAlgError:  # s1 is not numerically positive definite
        return float("nan"), float("nan"), True
    tol = max(abs(w[-1]), 1e-300) * len(s1) * np.finfo(np.float64).eps  # w is ascending
    return float(np.sqrt(np.clip(w, 0, None)).sum()), float(w[0]), bool(w[0] <= tol)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = EPS_OFFSET) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    mu: [D]; sigma: [D, D] symmetric PSD (the eigen-solver reads the lower triangle, as numpy's
    eigh does; covariances are symmetric up to rounding, which moves the result by ~1e-15 relative).
    A singular product gets a warning and `eps` on both diagonals inside the square root, as
    pytorch-fid does. Rounding can make eigenvalues of the (PSD) product slightly negative, the
    real-arithmetic counterpart of the tiny imaginary parts `sqrtm` returns: they are clipped to
    0; a clearly negative one (|sqrt| > 1e-3, the reference's tolerance) means a covariance is not
    PSD and raises a UserError."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise UserError(
            f"statistics do not match: mu1 {mu1.shape}, sigma1 {s1.shape}, mu2 {mu2.shape}, "
            f"sigma2 {s2.shape}; both sides must come from the same feature extractor"
        )
    for name, a in (("mu1", mu1), ("mu2", mu2), ("sigma1", s1), ("sigma2", s2)):
        if not np.isfinite(a).all():
            raise UserError(f"{name} holds NaN or infinite values; recompute the statistics")
    tr_covmean, w_min, singular = _sqrt_trace(s1, s2)
    if singular:
        warnings.warn(
            f"FID: singular covariance product; adding {eps} to the diagonal of both "
            "covariances (too few samples, or constant features)",
            stacklevel=2,
        )
        off = eps * np.eye(d)
        tr_covmean, w_min, _ = _sqrt_trace(s1 + off, s2 + off)
        if not np.isfinite(tr_covmean) or (w_min < 0 and np.sqrt(-w_min) > 1e-3):
            raise UserError(
                "FID: a covariance matrix is not positive semi-definite (imaginary "
                "square root even after the offset); pass covariances of real feature sets"
            )
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def fid_from_features(features1, features2) -> float:
    """FID between two feature sets [N1, D] and [N2, D]."""
    return frechet_distance(*gaussian_stats(features1), *gaussian_stats(features2))


def class_stats(features, labels) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{label: (mu, sigma)} of features [N, D] grouped by integer labels [N]."""
    x = _as_features(features, "features")
    y = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).reshape(-1)
    if len(y) != len(x):
        raise UserError(f"{len(x)} feature rows but {len(y)} labels")
    return {int(c): gaussian_stats(x[y == c]) for c in np.unique(y)}


def intra_class_fid_from_stats(stats1: Mapping[int, tuple], stats2: Mapping[int, tuple]) -> float:
    """Mean over classes of FID between class-conditional statistics {label: (mu, sigma)}.

    Every class of the reference (`stats2`) must be present in `stats1`: a missing class is a
    mode the generator never produced, and averaging over the others would hide it."""
    missing = sorted(set(stats2) - set(stats1))
    if missing:
        raise UserError(
            f"intra-class FID: no generated samples for classes {missing[:10]}; "
            "sample every class (more samples, or balanced labels)"
        )
    return float(np.mean([frechet_distance(*stats1[c], *stats2[c]) for c in sorted(stats2)]))


def intra_class_fid(features1, labels1, features2, labels2) -> float:
    """Intra-class FID: mean over the classes of (features2, labels2) of the per-class FID."""
    return intra_class_fid_from_stats(class_stats(features1, labels1), class_stats(features2, labels2))
