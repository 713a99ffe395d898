"""Streaming evaluation, image sources, the reference cache and `ganforge eval`."""

import json
import sys
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganforge.data.idx import load_idx_dataset
from ganforge.errors import UserError
from ganforge.metrics import evaluate, fid_from_features, get_extractor, intra_class_fid, kid, reference_stats
from ganforge.metrics.cli import eval_command
from ganforge.metrics.sources import NpzSource, batch_seed, open_images


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_idx_dataset("mnist", "test")  # embedded in the package
    return images, labels


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "stats"


@pytest.fixture
def ref_npz(tmp_path, mnist):
    path = tmp_path / "ref.npz"
    np.savez_compressed(path, images=mnist[0][5000:5600], labels=mnist[1][5000:5600])
    return path


def to_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).float().div(127.5).sub(1).unsqueeze(1)


def mnist_sampler(mnist, calls=None, labelled=False):
    """A stand-in generator: real test images [0, 4000) drawn by seed, as a model would sample."""

    def sample(n, seed):
        if calls is not None:
            calls.append((n, seed))
        idx = np.random.default_rng(seed).choice(4000, n, replace=False)
        x = to_float(mnist[0][idx])
        return (x, torch.from_numpy(mnist[1][idx])) if labelled else x

    return sample


def test_npz_is_streamed_in_chunks_and_matches_the_array(tmp_path, mnist):
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, x=mnist[0][:70, :, :, None], y=mnist[1][:70])  # NHWC, alternative names
        src = open_images(path)
        assert isinstance(src, NpzSource) and src.length == 70 and src.has_labels
        batches = list(src.batches(1000, 32))
        assert [len(b[0]) for b in batches] == [32, 32, 6]
        torch.testing.assert_close(torch.cat([b[0] for b in batches]), to_float(mnist[0][:70]))
        assert torch.equal(torch.cat([b[1] for b in batches]), torch.from_numpy(mnist[1][:70]))


def test_folder_source_and_its_errors(tmp_path, mnist):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    for i in range(5):
        Image.fromarray(mnist[0][i]).save(folder / ("sub" if i % 2 else ".") / f"{i}.png")
    src = open_images(folder)
    x = torch.cat([b[0] for b in src.batches(100, 2)])
    assert x.shape == (5, 1, 28, 28)
    order = [0, 2, 4, 1, 3]  # "0.png" < ... < "sub/1.png"
    torch.testing.assert_close(x, to_float(mnist[0][order]))
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(folder / "5.png")
    with pytest.raises(UserError, match="differ in size"):
        list(open_images(folder).batches(100, 10))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no image files"):
        open_images(tmp_path / "empty")


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("mnist", "mnist:test"),
        ("mnist:valid", "unknown split"),
        ("cifar99:test", "unknown data set"),
        ("no/such/folder", "not found"),
    ],
)
def test_bad_reference_specs(spec, fragment):
    with pytest.raises(UserError, match=fragment):
        open_images(spec)


def test_reference_statistics_are_cached_by_content(cache, ref_npz, monkeypatch, mnist):
    ext = get_extractor("lenet-mnist")
    first = reference_stats(ref_npz, ext, progress=False)
    files = list(cache.glob("*.npz"))
    assert len(files) == 1 and first.n == 600 and first.features.shape == (600, 128)
    import ganforge.metrics.pipeline as ev

    def fail(*a, **k):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(ev, "collect", fail)
    second = reference_stats(ref_npz, ext, progress=False)  # a hit: nothing recomputed
    np.testing.assert_array_equal(first.sigma, second.sigma)
    np.testing.assert_array_equal(first.features, second.features)
    np.savez_compressed(ref_npz, images=mnist[0][6000:6600])  # new content, new key
    with pytest.raises(AssertionError, match="cache was not used"):
        reference_stats(ref_npz, ext, progress=False)


def test_evaluate_streams_and_equals_the_pure_functions(cache, ref_npz, mnist):
    calls = []
    out = evaluate(
        mnist_sampler(mnist, calls),
        ref=ref_npz,
        metrics="fid,kid,is,pr,dc,modes",
        n=500,
        batch_size=128,
        seed=3,
        progress=False,
        kid_subsets=5,
        kid_subset_size=200,
    )
    assert [c[0] for c in calls] == [128, 128, 128, 116]  # one call per batch
    assert [c[1] for c in calls] == [batch_seed(3, i) for i in range(4)]
    # the same images and reference through the extractor at once, then the pure functions
    ext = get_extractor("lenet-mnist")
    gen = torch.cat([mnist_sampler(mnist)(n, s) for n, s in calls])
    fg = ext(gen).features.double().numpy()
    fr = ext(to_float(mnist[0][5000:5600])).features.double().numpy()
    ref_fid = fid_from_features(fg, fr)
    assert abs(out["fid"] - ref_fid) <= 1e-6 * ref_fid
    assert abs(out["kid"] - kid(fg, fr, 5, 200, seed=3)[0]) <= 1e-4 * abs(out["kid"]) + 1e-9
    assert 0.5 < out["precision"] <= 1 and 0.5 < out["recall"] <= 1 and 0.5 < out["coverage"] <= 1
    assert 8 < out["is"] <= 10 and out["modes"] == 10 and out["class_kl"] < 0.05
    assert set(out) == {
        "fid",
        "kid",
        "kid_std",
        "is",
        "is_std",
        "precision",
        "recall",
        "density",
        "coverage",
        "modes",
        "class_kl",
    }


def test_reference_is_brought_to_the_generated_size(cache, ref_npz, mnist):
    """A 32x32 'model' of 28x28 digits is scored against the reference resized to 32x32 the way
    data.resolution=32 resizes training data: the same images then score FID ~0, while against
    the reference at its native size the resampling alone makes a large FID."""
    from ganforge.data.datasets import fit_images

    up = fit_images(to_float(mnist[0][5000:5600]), 32, None)  # the training-data resize
    sampler = lambda n, s, _it=iter(up.split(200)): next(_it)[:n]  # noqa: E731
    matched = evaluate(sampler, ref=ref_npz, metrics="fid", n=600, batch_size=200, progress=False)
    sampler = lambda n, s, _it=iter(up.split(200)): next(_it)[:n]  # noqa: E731
    native = evaluate(sampler, ref=ref_npz, metrics="fid", n=600, batch_size=200, progress=False, match_size=False)
    assert abs(matched["fid"]) < 1e-6 * native["fid"] and native["fid"] > 1.0
    assert len(list(cache.glob("*.npz"))) == 2  # one cache entry per size


def test_evaluate_conditional_metrics(cache, ref_npz, mnist):
    calls = []
    out = evaluate(
        mnist_sampler(mnist, calls, labelled=True), ref=ref_npz, metrics=("ifid", "acc"), n=400, progress=False
    )
    assert out["acc"] >= 0.97  # real digits, labelled with their true class
    # intra-class FID through the pure function on the same images (40 per class: biased, but equal)
    ext = get_extractor("lenet-mnist")
    gen = [mnist_sampler(mnist, labelled=True)(n, s) for n, s in calls]
    fg = ext(torch.cat([g[0] for g in gen])).features.double().numpy()
    fr = ext(to_float(mnist[0][5000:5600])).features.double().numpy()
    expected = intra_class_fid(fg, torch.cat([g[1] for g in gen]).numpy(), fr, mnist[1][5000:5600])
    assert abs(out["ifid"] - expected) <= 1e-6 * expected
    with pytest.raises(UserError, match="need generated labels"):
        evaluate(mnist_sampler(mnist), ref=ref_npz, metrics="acc", n=100, progress=False)


def test_evaluate_checks_before_sampling(cache, ref_npz, mnist):
    calls = []
    with pytest.raises(UserError, match="at least 1000 samples"):
        evaluate(mnist_sampler(mnist, calls), ref=ref_npz, metrics="kid", n=500, progress=False)
    with pytest.raises(UserError, match="did you mean 'fid'"):
        evaluate(mnist_sampler(mnist, calls), ref=ref_npz, metrics="fdi", n=500, progress=False)
    assert calls == []
    feature_only = torch.nn.Flatten()
    with pytest.raises(UserError, match="no class logits"):
        evaluate(mnist_sampler(mnist), ref=ref_npz, metrics="is", n=100, extractor=feature_only, progress=False)


def test_sampler_returning_wrong_images_is_a_user_error(cache, ref_npz):
    with pytest.raises(UserError, match=r"pixel values span \[0, 255\]"):
        evaluate(
            lambda n, s: torch.full((n, 1, 28, 28), 255.0).index_fill(0, torch.tensor([0]), 0),
            ref=ref_npz,
            metrics="fid",
            n=50,
            progress=False,
        )
    with pytest.raises(UserError, match="returned"):
        evaluate(lambda n, s: torch.zeros(n - 1, 1, 28, 28), ref=ref_npz, metrics="fid", n=50, progress=False)


def test_fewer_samples_than_feature_dims_warns(cache, ref_npz, mnist):
    with pytest.warns(UserWarning, match="biased"):
        evaluate(mnist_sampler(mnist), ref=ref_npz, metrics="fid", n=100, progress=False)


def test_eval_command_on_a_run_directory(cache, ref_npz, mnist, tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    sample = mnist_sampler(mnist)

    class FakeModel:  # what ganforge.api.load returns
        step, run_dir, num_classes = 1200, run, 0

        def sample(self, n, seed=0):
            return sample(n, seed)

    fake_api = types.ModuleType("ganforge.api")
    fake_api.load = lambda path, device="cpu": FakeModel()
    monkeypatch.setitem(sys.modules, "ganforge.api", fake_api)
    args = [str(run), "--metrics", "fid,pr", "--n", "300", "--ref", str(ref_npz), "--quiet"]
    result = CliRunner().invoke(eval_command, args)
    assert result.exit_code == 0, result.output
    assert "fid" in result.output and "precision" in result.output
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["kind"] == "eval" and record["step"] == 1200 and record["fid"] > 0 and "recall" in record


def test_eval_command_user_errors_exit_2(tmp_path):
    from conftest import assert_user_error, run_cli

    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(run_cli("eval", str(empty), "--metrics", "fid"), "no image files")
