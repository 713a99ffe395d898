import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import BatchStream, build_dataset
from ganforge.data.datasets import MIXTURES
from ganforge.data.idx import load_idx_dataset, read_idx
from ganforge.errors import UserError

from conftest import TINY, assert_user_error, run_cli


def test_idx_reader_on_real_mnist(shared_data):
    x, y = load_idx_dataset("mnist", "train", root=str(shared_data))
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.shape == (60000,)
    assert abs(x.mean() / 255 - 0.1307) < 1e-3                # published MNIST pixel mean
    assert np.bincount(y).tolist()[:3] == [5923, 6742, 5958]   # published class counts
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
    assert_user_error(run_cli("train", "quickstart", *TINY, f"data.root={tmp_path / 'nope'}", "--out", str(out)),
                      "does not exist")
    broken = tmp_path / "data" / "mnist"
    broken.mkdir(parents=True)
    (broken / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08corrupt")
    (broken / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08corrupt")
    assert_user_error(run_cli("train", "quickstart", *TINY, f"data.root={tmp_path / 'data'}", "--out", str(out)),
                      "t10k-")


def _write_images(folder, n=6, size=(20, 30), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 255, (size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8)
        Image.fromarray(arr.squeeze()).save(folder / f"img{i}.png")


def test_image_folder_resize_crop_and_classes(tmp_path):
    _write_images(tmp_path / "imgs" / "cats")
    _write_images(tmp_path / "imgs" / "dogs", n=4)
    data = build_dataset(DataConfig(name="folder", root=str(tmp_path / "imgs"), resolution=16))
    assert data.x.shape == (10, 3, 16, 16) and data.classes == ("cats", "dogs")
    assert data.y.tolist() == [0] * 6 + [1] * 4
    grey = build_dataset(DataConfig(name="folder", root=str(tmp_path / "imgs"), resolution=8, channels=1))
    assert grey.x.shape == (10, 1, 8, 8)


def test_image_folder_bad_files(tmp_path):
    _write_images(tmp_path / "a")
    (tmp_path / "a" / "notes.png").write_text("not an image")
    with pytest.raises(UserError, match="notes.png: not a readable image"):
        build_dataset(DataConfig(name="folder", root=str(tmp_path / "a"), resolution=8))
    _write_images(tmp_path / "b")
    good = (tmp_path / "b" / "img0.png").read_bytes()
    (tmp_path / "b" / "img0.png").write_bytes(good[: len(good) // 2])          # truncated
    with pytest.raises(UserError, match="img0.png: not a readable image"):
        build_dataset(DataConfig(name="folder", root=str(tmp_path / "b"), resolution=8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        build_dataset(DataConfig(name="folder", root=str(tmp_path / "empty")))
    proc = run_cli("train", "quickstart", *TINY, "data.name=folder", f"data.root={tmp_path / 'b'}",
                   "data.resolution=28", "--out", str(tmp_path / "run"))
    assert_user_error(proc, "img0.png")


@pytest.mark.parametrize("name, k, sigma", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_toy_mixtures(name, k, sigma):
    mix = MIXTURES[name]()
    assert mix.modes.shape == (k, 2) and mix.sigma == sigma
    pts = mix.sample(20000, torch.Generator().manual_seed(0))
    d = torch.cdist(pts, mix.modes).min(1).values / sigma
    assert (d < 3).float().mean() > 0.98                      # ~98.9% of a 2-D Gaussian lies within 3 sigma
    counts = torch.bincount(torch.cdist(pts, mix.modes).argmin(1), minlength=k)
    assert counts.min() > 20000 / k * 0.8
    if name == "ring8":
        assert torch.allclose(mix.modes.norm(dim=1), torch.ones(8))
    data = build_dataset(DataConfig(name=name))
    assert data.x.shape == (100_000, 2)


def test_batch_stream_is_a_function_of_position():
    a = BatchStream(100, 16, seed=3)
    seq = [a.next() for _ in range(20)]                        # crosses epochs (6 batches each)
    b = BatchStream(100, 16, seed=3)
    b.position = 13
    assert torch.equal(b.next(), seq[13])
    epoch0 = torch.cat(seq[:6])
    assert len(set(epoch0.tolist())) == 96                     # no repeats inside an epoch
    ranks = [BatchStream(100, 8, seed=3, rank=r, world=2).next() for r in range(2)]
    assert not set(ranks[0].tolist()) & set(ranks[1].tolist())
