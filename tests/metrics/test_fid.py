"""FID against an independent float64 computation (scipy.linalg.sqrtm, as pytorch-fid does it)."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from ganforge.errors import UserError
from ganforge.metrics import (
    RunningGaussian,
    class_stats,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    intra_class_fid,
)


def reference_fid(x: np.ndarray, y: np.ndarray) -> float:
    """Written out independently: np.mean / np.cov (N - 1) and the trace of sqrtm(S1 S2)."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def features(rng, n, d, scale=1.0, shift=0.0):
    mix = rng.standard_normal((d, d)) / np.sqrt(d)  # correlated features
    return (rng.standard_normal((n, d)) @ mix) * scale + shift


@pytest.mark.parametrize("d", [8, 48, 128])
def test_fid_matches_sqrtm_reference(d):
    rng = np.random.default_rng(d)
    x = features(rng, 4 * d + 50, d)
    y = features(rng, 3 * d + 70, d, scale=1.3, shift=0.2)
    ours, ref = fid_from_features(x, y), reference_fid(x, y)
    assert abs(ours - ref) <= 1e-6 * abs(ref), (ours, ref)


def test_fid_of_a_set_with_itself_is_zero():
    x = features(np.random.default_rng(1), 400, 32)
    assert abs(fid_from_features(x, x)) < 1e-8


def test_equal_covariances_leave_the_mean_term():
    rng = np.random.default_rng(2)
    x = features(rng, 300, 16)
    mu, sigma = gaussian_stats(x)
    mu2 = mu + rng.standard_normal(16)
    assert abs(frechet_distance(mu, sigma, mu2, sigma) - ((mu - mu2) ** 2).sum()) < 1e-9


def test_one_dimensional_closed_form():
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert abs(frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) - (4.0 + 1.0)) < 1e-12


def test_running_statistics_equal_batch_statistics():
    rng = np.random.default_rng(3)
    x = features(rng, 1000, 24, shift=1e3)  # a large mean: cancellation-prone
    acc = RunningGaussian(24)
    for i in range(0, len(x), 97):
        acc.update(x[i : i + 97])
    mu, sigma = acc.stats()
    np.testing.assert_allclose(mu, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-9, atol=1e-12)


def test_fewer_samples_than_dims_warns_and_singular_gets_offset():
    rng = np.random.default_rng(4)
    x, y = features(rng, 20, 32), features(rng, 25, 32)
    with pytest.warns(UserWarning) as record:
        value = fid_from_features(x, y)
    messages = " ".join(str(w.message) for w in record)
    assert "biased" in messages and "singular" in messages
    # the reference with the same offset inside the square root, as pytorch-fid applies it
    mu1, mu2, s1, s2 = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    off = 1e-6 * np.eye(32)
    covmean = scipy.linalg.sqrtm((s1 + off) @ (s2 + off)).real
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    assert np.isfinite(value) and abs(value - ref) <= 1e-4 * abs(ref), (value, ref)


def test_well_conditioned_statistics_do_not_warn():
    rng = np.random.default_rng(5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fid_from_features(features(rng, 500, 16), features(rng, 500, 16))


def test_non_psd_covariance_is_rejected():
    bad = np.diag([1.0, 1.0, -4.0])
    with pytest.raises(UserError, match="positive semi-definite"), pytest.warns(UserWarning):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(3), bad)


def test_mismatched_or_bad_statistics_are_user_errors():
    with pytest.raises(UserError, match="same feature extractor"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(UserError, match="NaN"):
        frechet_distance(np.array([np.nan, 0]), np.eye(2), np.zeros(2), np.eye(2))
    with pytest.raises(UserError, match=r"\[N, D\]"):
        gaussian_stats(np.zeros(5))


def test_intra_class_fid_is_the_mean_of_per_class_fids():
    rng = np.random.default_rng(6)
    x, y = features(rng, 600, 8), features(rng, 600, 8, shift=0.5)
    lx, ly = np.arange(600) % 3, rng.permutation(np.arange(600) % 3)
    expected = np.mean([reference_fid(x[lx == c], y[ly == c]) for c in range(3)])
    assert abs(intra_class_fid(x, lx, y, ly) - expected) <= 1e-6 * expected
    assert sorted(class_stats(x, lx)) == [0, 1, 2]


def test_intra_class_fid_names_a_missing_class():
    rng = np.random.default_rng(7)
    x, y = features(rng, 100, 4), features(rng, 150, 4)
    with pytest.raises(UserError, match=r"classes \[2\]"):
        intra_class_fid(x, np.arange(100) % 2, y, np.arange(150) % 3)
