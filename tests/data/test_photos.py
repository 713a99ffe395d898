"""Photo data (data/photos.py): folders read as uint8 RGB, random crops, the bicubic degradation
(checked against Pillow's), and the photos-sr data set with its bad-input errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import load_config
from ganforge.data import build_dataset
from ganforge.data.photos import (
    bicubic_down,
    bicubic_up,
    crop_to_multiple,
    dihedral,
    load_photos,
    photo_folders,
    random_crops,
    read_photo,
)
from ganforge.errors import UserError

from tests_helpers import write_png


def smooth(rng, h, w, c=3):
    """A smooth random uint8 image [h, w, c]: photo-like rather than noise."""
    coarse = rng.random((h // 8 + 2, w // 8 + 2, c))
    big = np.kron(coarse, np.ones((8, 8, 1)))[:h, :w]
    return (big * 255).astype(np.uint8)


@pytest.fixture()
def folder(tmp_path):
    rng = np.random.default_rng(0)
    write_png(tmp_path / "a" / "one.png", smooth(rng, 40, 60))
    Image.fromarray(smooth(rng, 50, 48)).save(tmp_path / "a" / "two.jpg", quality=95)
    write_png(tmp_path / "b" / "grey.png", smooth(rng, 36, 36, 1)[:, :, 0])
    return tmp_path


def test_photos_are_rgb_uint8_of_their_own_sizes(folder):
    photos = load_photos(photo_folders(f"{folder / 'a'},{folder / 'b'}"))
    assert [p.shape for p in photos] == [(40, 60, 3), (50, 48, 3), (36, 36, 3)]
    assert all(p.dtype == np.uint8 for p in photos)
    grey = read_photo(folder / "b" / "grey.png")
    assert (grey[:, :, 0] == grey[:, :, 1]).all() and (grey[:, :, 1] == grey[:, :, 2]).all()


def test_relative_folders_are_found_under_ganforge_data(folder, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(folder))
    assert photo_folders("a, b") == [folder / "a", folder / "b"]
    (folder / "photos" / "c").mkdir(parents=True)
    assert photo_folders("c") == [folder / "photos" / "c"]
    with pytest.raises(UserError, match="photo folder nowhere not found"):
        photo_folders("nowhere")


def test_random_crops_are_seeded_pieces_of_the_photos(folder):
    photos = load_photos(photo_folders(str(folder / "a")))
    a = random_crops(photos, 50, 16, seed=3)
    assert a.shape == (50, 3, 16, 16) and a.dtype == torch.uint8
    assert torch.equal(a, random_crops(photos, 50, 16, seed=3))
    assert not torch.equal(a, random_crops(photos, 50, 16, seed=4))
    # every crop is a window of one photo (or its mirror image)
    for crop in a[:10].permute(0, 2, 3, 1).numpy():
        found = False
        for p in photos:
            for c in (crop, crop[:, ::-1]):
                hits = np.argwhere((p[: p.shape[0] - 15, : p.shape[1] - 15] == c[0, 0]).all(-1))
                found |= any((p[i : i + 16, j : j + 16] == c).all() for i, j in hits)
        assert found
    with pytest.raises(UserError, match="smaller than the 64 px crops"):
        random_crops(photos, 4, 64)


def test_bicubic_down_matches_pillow():
    """Pillow's BICUBIC resize (antialiased, a = -0.5, as MATLAB's imresize) is the reference: the same
    uint8 values up to rounding (at most 1 level, and rarely)."""
    rng = np.random.default_rng(1)
    hr = smooth(rng, 64, 48)
    ref = np.asarray(Image.fromarray(hr).resize((12, 16), Image.Resampling.BICUBIC))
    ours = bicubic_down(torch.from_numpy(hr).permute(2, 0, 1)[None], 4)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1  # Pillow's uint8 path is fixed-point
    # before rounding: Pillow's float path ("F" images) gives the same values
    exact = torch.nn.functional.interpolate(
        torch.from_numpy(hr).permute(2, 0, 1)[None].double(), size=(16, 12), mode="bicubic", antialias=True
    )[0]
    for c in range(3):
        ref_f = np.asarray(
            Image.fromarray(hr[:, :, c].astype(np.float32), mode="F").resize((12, 16), Image.Resampling.BICUBIC)
        )
        assert np.abs(exact[c].numpy() - ref_f).max() < 1e-3
    with pytest.raises(ValueError, match="multiple of 4"):
        bicubic_down(torch.zeros(1, 3, 10, 12, dtype=torch.uint8), 4)


def test_bicubic_up_matches_pillow():
    rng = np.random.default_rng(2)
    lr = smooth(rng, 12, 10)
    ref = np.asarray(Image.fromarray(lr).resize((40, 48), Image.Resampling.BICUBIC)).astype(int)
    up = bicubic_up(torch.from_numpy(lr).permute(2, 0, 1)[None].double(), 4)
    ours = up[0].round().clamp(0, 255).permute(1, 2, 0).numpy().astype(int)
    assert np.abs(ours - ref).max() <= 1


def test_the_eight_symmetries_commute_with_the_degradation():
    gen = torch.Generator().manual_seed(0)
    hr = (torch.rand(8, 3, 16, 16, generator=gen) * 255).to(torch.uint8)
    which = torch.arange(8)
    moved = dihedral(hr, which)
    assert torch.equal(moved[0], hr[0]) and torch.equal(moved[1], hr[1].flip(-1))
    assert torch.equal(moved[4], hr[4].transpose(-1, -2))
    assert len({m.numpy().tobytes() for m in dihedral(hr[:1].expand(8, -1, -1, -1), which)}) == 8
    a, b = bicubic_down(moved, 4).int(), dihedral(bicubic_down(hr, 4), which).int()
    assert (a - b).abs().max() <= 1 and (a != b).float().mean() < 0.02  # rounding ties only


def test_crop_to_multiple():
    assert crop_to_multiple(np.zeros((10, 13, 3)), 4).shape == (8, 12, 3)


def test_photos_sr_data_set(folder):
    cfg = load_config(
        None,
        [
            "model.family=srgan",
            "data.name=photos-sr",
            f"data.root={folder / 'a'}",
            "data.resolution=32",
            "data.crops=20",
        ],
    )
    data = build_dataset(cfg.data)
    assert data.x.shape == (20, 3, 32, 32) and data.x.dtype == torch.uint8
    assert data.shape == (3, 32, 32) and data.meta == {"photos": 2, "crop": 32}
    assert torch.equal(data.x, build_dataset(cfg.data).x)  # a property of the data set, not of a run


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: (d / "x.png").write_text("not a PNG"), "not a readable image"),
        (lambda d: write_png(d / "tiny.png", np.zeros((8, 40, 3))), "smaller than the 32 px crops"),
    ],
)
def test_photos_sr_bad_input_is_one_line(tmp_path, folder, make, message):
    bad = tmp_path / "bad"
    bad.mkdir()
    write_png(bad / "ok.png", np.zeros((40, 40, 3)))
    make(bad)
    cfg = load_config(None, ["model.family=srgan", "data.name=photos-sr", f"data.root={bad}", "data.resolution=32"])
    with pytest.raises(UserError, match=message):
        build_dataset(cfg.data)
