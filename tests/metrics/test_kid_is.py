"""KID against explicit loops; Inception Score properties and a direct computation."""

import numpy as np
import pytest

from ganforge.errors import UserError
from ganforge.metrics import class_kl, inception_score, kid, mmd2_unbiased, mode_count
from ganforge.metrics.classifier import InceptionScoreAccumulator


def loop_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, by explicit double loops in float64."""
    d = x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return kxx + kyy - 2 * kxy


def test_mmd2_matches_explicit_loops():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 6)), rng.standard_normal((35, 6)) * 1.5 + 0.4
    ours, ref = mmd2_unbiased(x, y), loop_mmd2(x, y)
    assert abs(ours - ref) <= 1e-6 * abs(ref), (ours, ref)


def test_kid_subsets_match_explicit_loops():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((60, 5)), rng.standard_normal((70, 5)) + 0.3
    mean, std = kid(x, y, num_subsets=4, subset_size=20, seed=7)
    # the documented subset order: one default_rng(seed); per subset first x's rows, then y's
    r = np.random.default_rng(7)
    values = []
    for _ in range(4):
        xi = x[r.choice(60, 20, replace=False)]
        yi = y[r.choice(70, 20, replace=False)]
        values.append(loop_mmd2(xi, yi))
    assert abs(mean - np.mean(values)) <= 1e-6 * abs(np.mean(values))
    assert abs(std - np.std(values)) <= 1e-6 * abs(np.std(values))


def test_kid_over_whole_sets_is_the_mmd_with_zero_spread():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 4)) + 1
    mean, std = kid(x, y, num_subsets=3, subset_size=30)  # each subset is a permutation
    assert abs(mean - loop_mmd2(x, y)) <= 1e-9 * abs(mean) and abs(std) < 1e-9


def test_kid_with_fewer_samples_than_the_subset_size_is_a_user_error():
    x = np.zeros((500, 4))
    with pytest.raises(UserError, match="fewer than the subset size 1000"):
        kid(x, x)


def test_inception_score_bounds():
    classes = 10
    confident_uniform = np.eye(classes)[np.arange(1000) % classes]  # every split holds each class
    mean, std = inception_score(confident_uniform)
    assert abs(mean - classes) < 1e-9 and abs(std) < 1e-9
    constant = np.tile(np.eye(classes)[3], (1000, 1))
    mean, std = inception_score(constant)
    assert abs(mean - 1.0) < 1e-12 and abs(std) < 1e-12


def test_inception_score_matches_direct_computation():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((1003, 7)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    scores = []
    for k in range(10):  # parts as in the original code
        part = p[k * 1003 // 10 : (k + 1) * 1003 // 10]
        py = part.mean(0)
        scores.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(py)), axis=1))))
    mean, std = inception_score(p)
    assert abs(mean - np.mean(scores)) <= 1e-9 * np.mean(scores)
    assert abs(std - np.std(scores)) <= 1e-9 * np.std(scores)
    acc = InceptionScoreAccumulator(1003)  # streamed in uneven batches
    for i in range(0, 1003, 128):
        acc.update(p[i : i + 128])
    assert abs(acc.result()[0] - mean) < 1e-12


def test_inception_score_rejects_logits():
    with pytest.raises(UserError, match="softmax"):
        inception_score(np.random.default_rng(4).standard_normal((100, 10)))


def test_mode_count_and_class_kl():
    p = np.eye(10)[np.arange(100) % 4]  # four classes predicted
    assert mode_count(p) == 4
    assert abs(class_kl([5, 5], [1, 1])) < 1e-12
    assert abs(class_kl([1, 0], [1, 1]) - np.log(2)) < 1e-12
