"""Inpainting masks (data/masks.py) and the inpainting data sets (data/inpainting.py): each policy's
coverage, masks as a pure function of (seed, batch number), mask files (white = missing) of the
image's size only, and the padded digits / photo crops."""

import numpy as np
import pytest
import torch

from ganforge.data import build_dataset
from ganforge.data.masks import (
    apply_mask,
    batch_generator,
    center_mask,
    check_policy,
    composite,
    make_masks,
    read_mask,
)
from ganforge.errors import UserError
from ganforge.schema import DataConfig

from tests_helpers import write_png


def test_center_is_the_16px_square_of_32():
    m = center_mask(2, 32, 32, hole=0.5)
    assert m.shape == (2, 1, 32, 32) and m.sum().item() == 2 * 16 * 16
    assert m[0, 0, 8:24, 8:24].all() and m[0, 0, :8].sum() == 0 and m[0, 0, 24:].sum() == 0
    assert m[0, 0, :, :8].sum() == 0 and m[0, 0, :, 24:].sum() == 0


@pytest.mark.parametrize("policy", ["box", "strokes", "mixed"])
@pytest.mark.parametrize("coverage", [0.1, 0.25])
def test_random_policies_cover_the_asked_fraction(policy, coverage):
    m = make_masks(policy, 32, 64, 64, batch_generator(0, 5), coverage=coverage)
    assert m.shape == (32, 1, 64, 64) and set(m.unique().tolist()) <= {0.0, 1.0}
    per_image = m.mean((1, 2, 3))
    # a box is the asked area up to rounding of its sides; strokes stop at the first segment past the target
    assert (per_image >= coverage - 0.01).all(), per_image.min()
    assert (per_image <= coverage + (0.01 if policy == "box" else 0.12)).all(), per_image.max()
    assert abs(per_image.mean().item() - coverage) < (0.01 if policy == "box" else 0.05)


def test_boxes_are_rectangles_and_vary():
    m = make_masks("box", 16, 64, 64, batch_generator(3, 0), coverage=0.25)[:, 0]
    for k in range(16):
        rows, cols = m[k].any(1), m[k].any(0)
        assert m[k].sum() == rows.sum() * cols.sum()  # the hole fills its bounding box
    assert len({tuple(mk.nonzero()[0].tolist()) for mk in m}) > 8  # positions differ between images


@pytest.mark.parametrize("policy", ["box", "strokes", "mixed"])
def test_masks_are_a_pure_function_of_seed_and_batch(policy):
    a = make_masks(policy, 8, 32, 32, batch_generator(7, 11))
    b = make_masks(policy, 8, 32, 32, batch_generator(7, 11))
    assert torch.equal(a, b)
    assert not torch.equal(a, make_masks(policy, 8, 32, 32, batch_generator(7, 12)))  # the next batch
    assert not torch.equal(a, make_masks(policy, 8, 32, 32, batch_generator(8, 11)))  # another seed


def test_mixed_draws_both_kinds():
    m = make_masks("mixed", 32, 64, 64, batch_generator(0, 0))[:, 0]
    is_box = [bool(mk.sum() == mk.any(1).sum() * mk.any(0).sum()) for mk in m]
    assert 4 < sum(is_box) < 28


@pytest.mark.parametrize(
    "args, fragment",
    [(("circle",), "loss.mask=circle"), (("center", 1.0), "loss.hole=1.0"), (("box", 0.5, 0.9), "loss.coverage=0.9")],
)
def test_bad_policies_are_one_line(args, fragment):
    with pytest.raises(UserError, match=fragment.replace(".", r"\.")):
        check_policy(*args)


def test_composite_keeps_known_pixels():
    x, out = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    m = center_mask(2, 8, 8)
    assert torch.equal(apply_mask(x, m)[m.expand_as(x) == 1], torch.zeros(2 * 3 * 16))
    c = composite(x, out, m)
    assert torch.equal(c[m.expand_as(x) == 0], x[m.expand_as(x) == 0])
    assert torch.equal(c[m.expand_as(x) == 1], out[m.expand_as(x) == 1])


def test_mask_files_white_is_missing(tmp_path):
    arr = np.zeros((20, 30), np.uint8)
    arr[5:10, 3:9] = 255
    arr[0, 0] = 127  # not brighter than 127: known
    write_png(tmp_path / "m.png", arr)
    m = read_mask(tmp_path / "m.png", 20, 30)
    assert m.shape == (1, 1, 20, 30) and m.sum() == 30 and m[0, 0, 5:10, 3:9].all()
    rgb = np.stack([arr] * 3, -1)
    write_png(tmp_path / "rgb.png", rgb)
    assert torch.equal(read_mask(tmp_path / "rgb.png", 20, 30), m)  # colour masks read as grey


def test_mask_files_of_another_size_or_not_images_are_refused(tmp_path):
    write_png(tmp_path / "m.png", np.zeros((20, 30), np.uint8))
    with pytest.raises(UserError, match="is 30x20 but the image is 32x32"):
        read_mask(tmp_path / "m.png", 32, 32)
    (tmp_path / "bad.png").write_text("not a PNG")
    with pytest.raises(UserError, match="not a readable image"):
        read_mask(tmp_path / "bad.png", 20, 30)
    with pytest.raises(UserError, match="does not exist"):
        read_mask(tmp_path / "none.png", 20, 30)


def test_padded_digits(shared_data):
    d = build_dataset(DataConfig(name="mnist32", split="test", root=str(shared_data)))
    assert d.x.shape == (10000, 1, 32, 32) and d.y is not None and d.num_classes == 10
    assert (d.x[:, :, :2] == -1).all() and (d.x[:, :, :, -2:] == -1).all()  # a 2-px black border
    raw = build_dataset(DataConfig(name="mnist", split="test", root=str(shared_data)))
    assert torch.equal(d.x[:, :, 2:30, 2:30], raw.x)  # the 28 px digits themselves, not resized


def test_photo_crops_hold_out_set14(shared_data):
    test = build_dataset(DataConfig(name="photo-crops", split="test", root=str(shared_data)))
    again = build_dataset(DataConfig(name="photo-crops", split="test", root=str(shared_data)))
    assert test.x.shape == (14 * 16, 3, 64, 64) and test.x.min() >= -1 and test.x.max() <= 1
    assert torch.equal(test.x, again.x)  # the crops are a property of the data set
    small = build_dataset(DataConfig(name="photo-crops", split="test", root=str(shared_data), resolution=32))
    assert small.x.shape == (14 * 16, 3, 32, 32)
    with pytest.raises(UserError, match="splits train and test"):
        build_dataset(DataConfig(name="photo-crops", split="val", root=str(shared_data)))
    with pytest.raises(UserError, match="does not exist"):
        build_dataset(DataConfig(name="photo-crops", split="test", root=str(shared_data / "mnist")))
