"""Inception Score (Salimans et al. 2016) from class probabilities, and class-histogram metrics.

IS = exp(E_x KL(p(y|x) || p(y))), computed on `splits` contiguous parts of the samples
(part k = rows [k N / splits, (k+1) N / splits), as in the original code); reported as the mean
and population std (ddof=0) over parts. Per part, E_x KL = mean_i sum_c p_ic log p_ic
- sum_c pbar_c log pbar_c with pbar the part's mean probability, so the score can be accumulated
batch by batch (`InceptionScoreAccumulator`) without keeping the probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from ganforge.errors import UserError


def _as_probs(probs, name: str = "probabilities") -> np.ndarray:
    if hasattr(probs, "detach"):
        probs = probs.detach().cpu().numpy()
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise UserError(f"{name} must be [N, classes], got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or np.abs(p.sum(axis=1) - 1).max(initial=0) > 1e-3:
        raise UserError(
            f"{name}: rows must be probability vectors (non-negative, summing to 1); pass softmax(logits), not logits"
        )
    return p


class InceptionScoreAccumulator:
    """Streams probability batches [B, C] of a known total of `n` samples into per-split sums."""

    def __init__(self, n: int, splits: int = 10):
        if n < splits:
            raise UserError(f"Inception Score with {splits} splits needs at least {splits} samples, got {n}")
        self.n, self.splits = n, splits
        self.bounds = [k * n // splits for k in range(splits + 1)]  # part k = [bounds[k], bounds[k+1])
        self.seen = 0
        self._sum_p: np.ndarray | None = None  # [splits, C]
        self._sum_plogp = np.zeros(splits)  # sum_i sum_c p log p per part

    def update(self, probs) -> None:
        p = _as_probs(probs)
        if self._sum_p is None:
            self._sum_p = np.zeros((self.splits, p.shape[1]))
        if self.seen + len(p) > self.n:
            raise UserError(f"Inception Score: more than the announced {self.n} samples")
        rows = np.arange(self.seen, self.seen + len(p))
        part = np.searchsorted(self.bounds, rows, side="right") - 1  # [B] part of each row
        np.add.at(self._sum_p, part, p)
        np.add.at(self._sum_plogp, part, xlogy(p, p).sum(axis=1))
        self.seen += len(p)

    def result(self) -> tuple[float, float]:
        if self.seen != self.n:
            raise UserError(f"Inception Score: got {self.seen} samples, expected {self.n}")
        sizes = np.diff(self.bounds).astype(np.float64)  # [splits]
        pbar = self._sum_p / sizes[:, None]
        kl = self._sum_plogp / sizes - xlogy(pbar, pbar).sum(axis=1)
        scores = np.exp(kl)
        return float(scores.mean()), float(scores.std())


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of the Inception Score of class probabilities [N, C] over `splits` parts."""
    p = _as_probs(probs)
    acc = InceptionScoreAccumulator(len(p), splits)
    acc.update(p)
    return acc.result()


def mode_count(probs, min_count: int = 1) -> int:
    """Number of classes that are the arg-max prediction of at least `min_count` samples."""
    counts = np.bincount(_as_probs(probs).argmax(axis=1))
    return int((counts >= min_count).sum())


def class_kl(counts, ref_counts) -> float:
    """KL(q || r) between the predicted-class histograms of generated (`counts`) and reference
    (`ref_counts`) samples; 0 when the generator reproduces the reference's class balance.
    Empty reference bins get half a count so a class the reference never shows cannot give inf."""
    q = np.asarray(counts, dtype=np.float64)
    r = np.asarray(ref_counts, dtype=np.float64)
    if q.shape != r.shape or q.sum() <= 0 or r.sum() <= 0:
        raise UserError(f"class histograms must be non-empty and of equal length, got {q.shape} and {r.shape}")
    r = np.where(r > 0, r, 0.5)
    q, r = q / q.sum(), r / r.sum()
    return float(xlogy(q, q).sum() - xlogy(q, r).sum())
