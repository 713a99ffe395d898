"""Precision/recall and density/coverage on hand-made point sets and against brute force."""

import numpy as np
import pytest

from ganforge.errors import UserError
from ganforge.metrics import density_coverage, prdc, precision_recall

# 1-D points, k = 1. Real radii (distance to the nearest other real point): 1, 1, 1, 1, 7.
REAL = np.array([0.0, 1.0, 2.0, 3.0, 10.0])[:, None]
# Fake radii: 0.5 -> 2, 2.5 -> 2, 20 -> 17.5, 100 -> 80.
FAKE = np.array([0.5, 2.5, 20.0, 100.0])[:, None]


def test_hand_made_precision_recall():
    # precision: 0.5 and 2.5 sit in real balls, 20 and 100 do not -> 2/4
    # recall: every real point lies in some fake ball (10 is 10 <= 17.5 from 20) -> 5/5
    assert precision_recall(REAL, FAKE, k=1) == (0.5, 1.0)


def test_hand_made_density_coverage():
    # density: 0.5 is in the balls of 0 and 1, 2.5 in those of 2 and 3, the others in none
    #          -> (2 + 2) / (k * 4) = 1.0
    # coverage: the balls of 0, 1, 2, 3 hold a fake point, the ball of 10 (radius 7) none -> 4/5
    assert density_coverage(REAL, FAKE, k=1) == (1.0, 0.8)


def test_grid_with_an_outlier_default_k():
    grid = np.array([(i, j) for i in range(3) for j in range(3)], float)
    fake = np.vstack([grid + 0.1, [[100.0, 100.0]]])
    # every shifted point is 0.14 from its real twin, inside its real k=3 ball (radius >= 1);
    # the outlier is in none -> precision 9/10; the outlier's huge fake ball covers all -> recall 1
    assert precision_recall(grid, fake) == (0.9, 1.0)
    # coverage: each real ball (k=5 radius >= sqrt 2) holds its shifted twin
    assert density_coverage(grid, fake)[1] == 1.0


def brute_force(real, fake, k_pr, k_dc):
    def radii(x, k):
        return np.array(
            [np.sort([np.linalg.norm(a - b) for j, b in enumerate(x) if j != i])[k - 1] for i, a in enumerate(x)]
        )

    rr, fr, rd = radii(real, k_pr), radii(fake, k_pr), radii(real, k_dc)
    dist = np.array([[np.linalg.norm(f - r) for r in real] for f in fake])  # [M, N]
    return {
        "precision": np.mean([(dist[j] <= rr).any() for j in range(len(fake))]),
        "recall": np.mean([(dist[:, i] <= fr).any() for i in range(len(real))]),
        "density": sum((dist[j] <= rd).sum() for j in range(len(fake))) / (k_dc * len(fake)),
        "coverage": np.mean([(dist[:, i] <= rd[i]).any() for i in range(len(real))]),
    }


def test_against_brute_force_on_random_features(monkeypatch):
    monkeypatch.setattr("ganforge.metrics.manifold.BLOCK", 16)  # exercise the blocking
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((70, 5)), rng.standard_normal((50, 5)) * 1.3 + 0.3
    ours, ref = prdc(real, fake), brute_force(real, fake, 3, 5)
    for key in ref:
        assert abs(ours[key] - ref[key]) < 1e-12, (key, ours[key], ref[key])


def test_too_few_points_for_k():
    with pytest.raises(UserError, match="more than 3 samples"):
        precision_recall(REAL[:3], FAKE)
