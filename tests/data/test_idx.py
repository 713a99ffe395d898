"""The IDX reader on the real MNIST / Fashion-MNIST files, the embedded test split, and the one-line
errors for a missing split, a corrupt or truncated file and a missing data folder."""

import gzip

import numpy as np
import pytest

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.idx import load_idx_dataset, read_idx
from ganforge.errors import UserError

from conftest import TINY, assert_user_error, run_cli


def test_idx_reader_on_real_mnist(shared_data):
    x, y = load_idx_dataset("mnist", "train", root=str(shared_data))
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.shape == (60000,)
    assert abs(x.mean() / 255 - 0.1307) < 1e-3  # published MNIST pixel mean
    assert np.bincount(y).tolist()[:3] == [5923, 6742, 5958]  # published class counts
    xt, yt = load_idx_dataset("mnist", "test", root=str(shared_data))
    assert xt.shape == (10000, 28, 28) and set(np.unique(yt)) == set(range(10))


def test_idx_reader_on_real_fashion(shared_data):
    x, y = load_idx_dataset("fashion-mnist", "train", root=str(shared_data))
    assert x.shape == (60000, 28, 28)
    assert abs(x.mean() / 255 - 0.2860) < 1e-3


def test_embedded_split_needs_no_setup(monkeypatch):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    data = build_dataset(DataConfig(name="mnist", split="test"))
    assert data.x.shape == (10000, 1, 28, 28) and data.num_classes == 10
    assert data.x.min() >= -1 and data.x.max() <= 1


def test_missing_train_split_offline_says_where(monkeypatch, tmp_path):
    monkeypatch.delenv("GANFORGE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UserError) as e:
        load_idx_dataset("mnist", "train")
    assert "train-images-idx3-ubyte.gz" in str(e.value) and "GANFORGE_DATA" in str(e.value)


def test_corrupt_and_truncated_idx(tmp_path, shared_data):
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(UserError, match="not a readable gzip"):
        read_idx(tmp_path / "bad.gz")
    raw = gzip.decompress((shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "short").write_bytes(raw[:-10])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "notidx").write_bytes(b"hello world")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "notidx")


def test_cli_missing_data_folder_and_corrupt_gz(tmp_path):
    out = tmp_path / "run"
    assert_user_error(
        run_cli("train", "quickstart", *TINY, f"data.root={tmp_path / 'nope'}", "--out", str(out)), "does not exist"
    )
    broken = tmp_path / "data" / "mnist"
    broken.mkdir(parents=True)
    (broken / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08corrupt")
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08corrupt")
    assert_user_error(
        run_cli("train", "quickstart", *TINY, f"data.root={tmp_path / 'data'}", "--out", str(out)), "t10k-"
    )
