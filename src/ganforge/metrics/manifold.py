"""Improved precision and recall (Kynkaanniemi et al. 2019) and density and coverage (Naeem et al.
2020): manifold estimates from k-nearest-neighbour balls in feature space.

Each point's ball has the radius of its k-th nearest neighbour in its own set (the point itself
excluded). With real features R [N, D] and fake features F [M, D]:

    precision = fraction of fake points inside at least one real ball   (k = 3)
    recall    = fraction of real points inside at least one fake ball   (k = 3)
    density   = sum over fake points of the number of real balls holding them / (k M)   (k = 5)
    coverage  = fraction of real balls holding at least one fake point   (k = 5)

Balls are closed (distance <= radius), as in the NVlabs precision-recall code; the prdc package
uses `<`, which differs only on exact ties. Distances are Euclidean, in float64, computed in row
blocks so no full [N, M] matrix is held.
"""

from __future__ import annotations

import numpy as np

from ganforge.errors import UserError
from ganforge.metrics.fid import _as_features

BLOCK = 1024  # rows per distance block: BLOCK x 10,000 float64 = 80 MB


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)] from |a|^2 + |b|^2 - 2 a.b (clipped at 0)."""
    d2 = _sq_norms(a)[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(d2, 0.0))


def knn_radii(x: np.ndarray, ks: tuple[int, ...]) -> dict[int, np.ndarray]:
    """{k: [N] distance from each row of x to its k-th nearest other row}."""
    if len(x) <= max(ks):
        raise UserError(f"k-NN radii with k = {max(ks)} need more than {max(ks)} samples, got {len(x)}")
    x_sq = _sq_norms(x)
    out = {k: np.empty(len(x)) for k in ks}
    for i in range(0, len(x), BLOCK):
        d = _distances(x[i : i + BLOCK], x, x_sq)
        d[np.arange(len(d)), np.arange(i, i + len(d))] = -1.0  # the point itself sorts first
        part = np.partition(d, list(ks), axis=1)  # column k = k-th neighbour
        for k in ks:
            out[k][i : i + len(d)] = part[:, k]
    return out


def _cross(
    real: np.ndarray, fake: np.ndarray, real_r: dict[int, np.ndarray], fake_r: dict[int, np.ndarray]
) -> dict[str, np.ndarray]:
    """One pass over fake-vs-real distance blocks, gathering what the four metrics need."""
    real_sq = _sq_norms(real)
    in_real = {k: np.zeros(len(fake), bool) for k in real_r}  # fake j inside some real k-ball
    real_hits = {k: np.zeros(len(real)) for k in real_r}  # per real i: fake points in its k-ball
    real_in_fake = {k: np.zeros(len(real), bool) for k in fake_r}  # real i inside some fake k-ball
    for j in range(0, len(fake), BLOCK):
        d = _distances(fake[j : j + BLOCK], real, real_sq)  # [b, N]
        for k, r in real_r.items():
            inside = d <= r[None, :]
            in_real[k][j : j + len(d)] = inside.any(axis=1)
            real_hits[k] += inside.sum(axis=0)
        for k, r in fake_r.items():
            real_in_fake[k] |= (d <= r[j : j + len(d), None]).any(axis=0)
    return {"in_real": in_real, "real_hits": real_hits, "real_in_fake": real_in_fake}


def _check(real, fake, k: int) -> tuple[np.ndarray, np.ndarray]:
    r, f = _as_features(real, "real features"), _as_features(fake, "fake features")
    if r.shape[1] != f.shape[1]:
        raise UserError(f"real and fake features have {r.shape[1]} and {f.shape[1]} dims; use one extractor")
    if k < 1:
        raise UserError(f"k must be at least 1, got {k}")
    return r, f


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of fake features [M, D] against real features [N, D]."""
    r, f = _check(real, fake, k)
    out = _cross(r, f, knn_radii(r, (k,)), knn_radii(f, (k,)))
    return float(out["in_real"][k].mean()), float(out["real_in_fake"][k].mean())


def density_coverage(real, fake, k: int = 5) -> tuple[float, float]:
    """(density, coverage) of fake features [M, D] against real features [N, D]."""
    r, f = _check(real, fake, k)
    out = _cross(r, f, knn_radii(r, (k,)), {})
    return float(out["real_hits"][k].sum() / (k * len(f))), float((out["real_hits"][k] > 0).mean())


def prdc(real, fake, k_pr: int = 3, k_dc: int = 5) -> dict[str, float]:
    """All four in one pass over the distances: precision, recall (k_pr), density, coverage (k_dc)."""
    r, f = _check(real, fake, min(k_pr, k_dc))
    ks = tuple(sorted({k_pr, k_dc}))
    out = _cross(r, f, knn_radii(r, ks), knn_radii(f, (k_pr,)))
    return {
        "precision": float(out["in_real"][k_pr].mean()),
        "recall": float(out["real_in_fake"][k_pr].mean()),
        "density": float(out["real_hits"][k_dc].sum() / (k_dc * len(f))),
        "coverage": float((out["real_hits"][k_dc] > 0).mean()),
    }
