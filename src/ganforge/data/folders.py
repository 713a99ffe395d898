"""Image folders: every file Pillow can read, resized and centre-cropped to a square."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ganforge.data.base import Data
from ganforge.errors import UserError
from ganforge.io import IMAGE_SUFFIXES

# what Pillow raises for a file that is not an image it can decode (a decompression bomb included)
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def unreadable(path: Path, e: Exception) -> UserError:
    return UserError(f"{path}: not a readable image ({e}); remove or replace the file")


def read_image(path: Path, resolution: int | None, channels: int | None) -> np.ndarray:
    """One image as uint8 [H, W, C]: centre-cropped to a square, resized, grey or RGB."""
    try:
        with Image.open(path) as img:
            img.load()  # forces decoding: truncated files fail here
            mode = (
                "L"
                if channels == 1
                else "RGB"
                if channels == 3
                else ("L" if img.mode in ("L", "1", "I;16", "I") else "RGB")
            )
            img = img.convert(mode)
    except UNREADABLE as e:
        raise unreadable(path, e) from e  # the cause: what --verbose shows
    w, h = img.size
    side = min(w, h)
    if w != h:
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if resolution is not None and side != resolution:
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC)
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr


def list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UserError(f"image folder {folder} does not exist; check data.root")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"image folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def load_image_folder(folder: Path, resolution: int | None, channels: int | None) -> Data:
    files = list_images(folder)
    if channels is None:  # one channel count for all: grey if the first image is
        try:
            with Image.open(files[0]) as first:
                channels = 1 if first.mode in ("L", "1", "I;16", "I") else 3
        except UNREADABLE as e:
            raise unreadable(files[0], e) from e
    arrays = [read_image(p, resolution, channels) for p in files]
    sizes = {a.shape for a in arrays}
    if len(sizes) > 1:
        raise UserError(f"{folder}: images have different sizes {sorted(sizes)[:3]}...; set data.resolution")
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)  # [N, C, H, W]
    subdirs = sorted({p.parent.relative_to(folder).parts[0] for p in files if p.parent != folder})
    if subdirs and all(p.parent != folder for p in files):
        index = {name: i for i, name in enumerate(subdirs)}
        y = torch.tensor([index[p.relative_to(folder).parts[0]] for p in files])
        return Data(x, y, tuple(subdirs))
    return Data(x)
