"""Image folders: resize, crop, grey / RGB, subfolders as classes, and unreadable or missing images."""

import numpy as np
import pytest
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.errors import UserError

from conftest import TINY, assert_user_error, run_cli


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
    (tmp_path / "b" / "img0.png").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(UserError, match="img0.png: not a readable image"):
        build_dataset(DataConfig(name="folder", root=str(tmp_path / "b"), resolution=8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no images"):
        build_dataset(DataConfig(name="folder", root=str(tmp_path / "empty")))
    proc = run_cli(
        "train",
        "quickstart",
        *TINY,
        "data.name=folder",
        f"data.root={tmp_path / 'b'}",
        "data.resolution=28",
        "--out",
        str(tmp_path / "run"),
    )
    assert_user_error(proc, "img0.png")
