"""ganforge.io: atomic writes, the refuse-to-overwrite check, uint8 conversion, PNG files, image suffixes."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.errors import UserError
from ganforge.io import IMAGE_SUFFIXES, atomic_write, refuse_overwrite, save_grid, save_image, to_uint8


def test_atomic_write_replaces_the_file_or_leaves_it_alone(tmp_path):
    path = tmp_path / "deep" / "data.npz"
    atomic_write(path, lambda tmp: np.savez(tmp, x=np.arange(3)))  # the folder is created
    with np.load(path) as z:
        assert z["x"].tolist() == [0, 1, 2]
    before = path.read_bytes()

    def failing(tmp):
        tmp.write_bytes(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, failing)
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.npz"]  # and no temporary file is left


def test_refuse_overwrite_names_the_first_existing_path(tmp_path):
    (tmp_path / "b.png").write_bytes(b"")
    refuse_overwrite(tmp_path / "a.png", overwrite=False)  # nothing there: fine
    refuse_overwrite(tmp_path / "a.png", tmp_path / "b.png", overwrite=True)
    with pytest.raises(UserError) as e:
        refuse_overwrite(tmp_path / "a.png", tmp_path / "b.png", overwrite=False)
    assert str(e.value) == f"{tmp_path / 'b.png'} already exists; pass --overwrite or choose another --out"


def test_to_uint8_round_trip():
    pixels = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).expand(2, 3, 16, 16)  # [N, C, H, W]
    x = pixels.float() / 127.5 - 1  # the inverse of to_uint8 on [-1, 1]
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(out, pixels.permute(0, 2, 3, 1).numpy())
    assert to_uint8(torch.tensor([-3.0, 3.0]).view(1, 1, 1, 2)).ravel().tolist() == [0, 255]  # clamped


def test_png_image_and_grid(tmp_path):
    x = torch.rand(6, 1, 8, 8) * 2 - 1
    save_image(x[0], tmp_path / "one.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "one.png")), to_uint8(x[:1])[0, :, :, 0])
    save_grid(x, tmp_path / "grid.png", nrow=3)
    assert Image.open(tmp_path / "grid.png").size == (2 + 3 * 10, 2 + 2 * 10)  # 3 x 2 tiles, 2 px padding


def test_one_list_of_image_suffixes():
    from ganforge.data import folders
    from ganforge.metrics import sources

    assert {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"} == IMAGE_SUFFIXES
    assert folders.IMAGE_SUFFIXES is IMAGE_SUFFIXES and sources.IMAGE_SUFFIXES is IMAGE_SUFFIXES
