"""Two-domain data sets: edges2digits (paired, and unpaired halves with no digit in both), and paired
(side by side, or A/ and B/) and unpaired (trainA/, trainB/) image folders."""

import numpy as np
import pytest
import torch

from ganforge.config import load_config
from ganforge.data import build_dataset
from ganforge.data.paired import load_paired_folder, sobel_edges
from ganforge.errors import UserError

from tests_helpers import write_png as _png


def test_edges2digits_pairs_and_unpaired_halves():
    data = build_dataset(load_config(None, ["data.name=edges2digits", "data.split=test"]).data)
    assert data.x.shape == (10000, 1, 32, 32) and data.extra["x_b"].shape == (10000, 1, 32, 32)
    torch.testing.assert_close(data.x[:50], sobel_edges(data.extra["x_b"][:50]))  # A is B's edge map
    assert set(data.x.unique().tolist()) == {-1.0, 1.0}
    un = build_dataset(load_config(None, ["data.name=edges2digits-unpaired", "data.split=test"]).data)
    assert len(un) == 5000
    key = lambda t: {r.numpy().tobytes() for r in t.flatten(1)}  # noqa: E731
    assert not key(un.extra["x_b"]) & key(un.extra["x_b_true"])  # no digit is in both domains
    torch.testing.assert_close(un.x[:50], sobel_edges(un.extra["x_b_true"][:50]))
    swapped = build_dataset(
        load_config(None, ["data.name=invert", "data.split=test", "data.direction=BtoA", "data.limit=8"]).data
    )
    torch.testing.assert_close(swapped.extra["x_b"], -swapped.x)


def test_paired_and_unpaired_folders(tmp_path):
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (16, 16, 3)) for _ in range(3)]
    for i, im in enumerate(imgs):  # side by side: A | B = A | 255 - A
        _png(tmp_path / "sbs" / "train" / f"{i}.png", np.concatenate([im, 255 - im], 1))
        _png(tmp_path / "ab" / "A" / f"{i}.png", im)
        _png(tmp_path / "ab" / "B" / f"{i}.png", 255 - im)
    for root in ("sbs", "ab"):
        a, b = load_paired_folder(tmp_path / root, "train", None, None)
        assert a.shape == (3, 3, 16, 16)
        torch.testing.assert_close(b, -a)
    cfg = load_config(None, [f"data.root={tmp_path / 'sbs'}", "data.name=paired-folder"])
    assert torch.equal(build_dataset(cfg.data).extra["x_b"], b)
    _png(tmp_path / "ab" / "A" / "extra.png", imgs[0])
    with pytest.raises(UserError, match="'extra' has no partner in B/"):
        load_paired_folder(tmp_path / "ab", "train", None, None)
    for i in range(3):
        _png(tmp_path / "un" / "trainA" / f"{i}.png", imgs[i])
    for i in range(5):
        _png(tmp_path / "un" / "trainB" / f"{i}.png", np.full((16, 16, 3), 40 * i))
    un = build_dataset(load_config(None, ["data.name=unpaired-folder", f"data.root={tmp_path / 'un'}"]).data)
    assert len(un) == 5 and un.extra["x_b"].shape == (5, 3, 16, 16)
    assert len({float(v) for v in un.extra["x_b"][:, 0, 0, 0]}) == 5  # every B image used once
    with pytest.raises(UserError, match="testA"):
        build_dataset(
            load_config(None, ["data.name=unpaired-folder", f"data.root={tmp_path / 'un'}", "data.split=test"]).data
        )
