"""Files, written so that nothing the user had is lost: atomic writes, the refuse-to-overwrite check,
uint8 conversion, PNG images and grids, and the one list of image suffixes ganforge reads.

    atomic_write(path, lambda tmp: np.savez(tmp, ...))   temporary file beside `path`, fsync, rename
    with NpzWriter(tmp) as npz: npz.write(name, shape, dtype, chunks)   an .npz written in row chunks
    refuse_overwrite(out, overwrite=overwrite)            UserError when `out` exists and overwrite is off
    to_uint8(images)                                      [-1, 1] float [N, C, H, W] -> uint8 [N, H, W, C]
    save_image(image, path) / save_grid(images, path)     PNG files, written atomically
    tiles([inputs, outputs, targets])                     columns of images interleaved into grid rows

torch, torchvision and Pillow are imported when a function needs them, so that importing this
module (the CLI does, to start fast) costs nothing.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.errors import UserError

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

# every suffix a folder of images may hold (lower case); Pillow reads them all
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call write(tmp) on a temporary file in `path`'s folder (same suffix, so writers that go by the
    suffix pick the right format), fsync it and rename it onto `path`. A writer that fails leaves
    `path` as it was and no temporary file behind. The folder is created when missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:  # the bytes reach the disk before the rename names them
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class NpzWriter:
    """An .npz written one array at a time, each from row chunks, so memory holds one chunk, not the
    array: what `np.savez_compressed` writes (members NAME.npy, deflated, zip64, .npy headers of
    format 1.0), byte for byte the same arrays, read back by `np.load` as usual.

        with NpzWriter(tmp) as npz:
            npz.write("images", (n, 28, 28, 1), np.uint8, chunks)   # chunks: arrays [b, 28, 28, 1], sum b = n
    """

    def __init__(self, path: str | Path, compress: bool = True):
        import zipfile

        mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self.zip = zipfile.ZipFile(path, mode="w", compression=mode, allowZip64=True)

    def write(self, name: str, shape: tuple[int, ...], dtype, chunks: Iterable[np.ndarray]) -> None:
        """Array `name` of `shape` and `dtype` (C order) from `chunks`, pieces along the first axis
        whose lengths add up to shape[0]; anything else is a ValueError (the file is then unusable)."""
        import numpy as np

        dtype, shape = np.dtype(dtype), tuple(int(d) for d in shape)
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
        rows = 0
        with self.zip.open(f"{name}.npy", "w", force_zip64=True) as f:  # zip64 always, as numpy does
            try:
                np.lib.format.write_array_header_1_0(f, header)
            except ValueError:  # a header over 64 KiB (a shape of very many dimensions)
                np.lib.format.write_array_header_2_0(f, header)
            for chunk in chunks:
                chunk = np.ascontiguousarray(chunk, dtype=dtype)
                if chunk.shape[1:] != shape[1:] or rows + len(chunk) > shape[0]:
                    raise ValueError(f"{name}: a chunk {chunk.shape} does not fit an array {shape} at row {rows}")
                f.write(chunk.data)
                rows += len(chunk)
        if rows != shape[0]:
            raise ValueError(f"{name}: {rows} rows written, {shape[0]} expected")

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> NpzWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def refuse_overwrite(*paths: str | Path, overwrite: bool) -> None:
    """A UserError naming the first of `paths` that exists, unless `overwrite`."""
    if overwrite:
        return
    for p in paths:
        if Path(p).exists():
            raise UserError(f"{p} already exists; pass --overwrite or choose another --out")


def to_uint8(images: Tensor) -> np.ndarray:
    """[-1, 1] float [N, C, H, W] -> uint8 [N, H, W, C], the layout image files and .npz use."""
    import torch

    return images.detach().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def save_image(image: Tensor, path: str | Path) -> Path:
    """One image [C, H, W] in [-1, 1] -> a PNG file (grey for one channel), written atomically."""
    from PIL import Image

    arr = to_uint8(image[None])[0]  # [H, W, C] uint8
    pil = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    return atomic_write(path, lambda tmp: pil.save(tmp, format="PNG"))


def tiles(columns: list[Tensor]) -> Tensor:
    """Interleave image columns for a grid of rows `input | output | target | input | ...`: columns
    [k] x [N, C, H, W] -> [k N, C', H, W], example-major (grey columns become RGB when any is RGB)."""
    import torch

    c = max(t.shape[1] for t in columns)
    columns = [t.expand(-1, c, -1, -1) if t.shape[1] != c else t for t in columns]
    return torch.stack(columns, 1).flatten(0, 1)  # [N, k, C, H, W] -> [N k, C, H, W]


def save_grid(images: Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Images [N, C, H, W] in [-1, 1] -> a PNG grid, `nrow` images per row (default: a square),
    2 pixels of padding, written atomically."""
    from torchvision.utils import save_image as tv_save_image

    images = images.detach().float().cpu().clamp(-1, 1)
    nrow = nrow or max(1, int(math.sqrt(len(images))))
    return atomic_write(
        path,
        lambda tmp: tv_save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1), padding=2, format="PNG"),
    )


__all__ = ["IMAGE_SUFFIXES", "NpzWriter", "atomic_write", "refuse_overwrite", "save_grid", "save_image", "to_uint8"]
