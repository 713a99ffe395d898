"""Images for the inpainting families. The holes are not stored: the inpainting objective draws each
batch's masks from (train.seed, batch number) with `ganforge.data.masks`, so a batch of these data
sets plus its masks is a pure function of (seed, batch number) and resume stays exact.

    mnist32, fashion-mnist32   28x28 digits / clothes centre-padded to 32x32 (black border), labels
                               kept (the digit benchmark reads completed digits with lenet-mnist)
    photo-crops                64x64 colour crops of photos (data.resolution: another crop size):
                               split=train from photos/bsd68 + photos/sun-hays80, split=test from
                               photos/set14 (held out, never trained on; 16 crops a photo); the crops and their flips
                               are drawn once with a fixed seed, so they are a property of the data set
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.datasets import DATASETS
from ganforge.data.folders import UNREADABLE, list_images, unreadable
from ganforge.data.idx import SOURCES, load_idx_dataset
from ganforge.data.paired import pad_to
from ganforge.errors import UserError
from ganforge.schema import DataConfig

PHOTO_FOLDERS = {"train": ("bsd68", "sun-hays80"), "test": ("set14",)}
CROPS_PER_PHOTO = {"train": 32, "test": 16}  # 148 x 32 = 4,736 training crops (233 MB float32 at 64 px)
CROP_SEED = 2016  # which crops: a property of the data set, not of a run


def _padded(name: str):
    def build(cfg: DataConfig) -> Data:
        images, labels = load_idx_dataset(name, cfg.split, cfg.root, cfg.download)
        x = pad_to(uint8_to_float(images), 32)  # [N, 1, 32, 32]: the digit keeps its 28 px
        if cfg.resolution not in (None, 32) or cfg.channels not in (None, 1):
            x = fit_images(x, cfg.resolution, cfg.channels)
        return Data(x, torch.from_numpy(labels), SOURCES[name].classes)

    build.__doc__ = f"{name} 28x28 centre-padded to 32x32 (inpainting; labels kept)"
    return build


for _name in ("mnist", "fashion-mnist"):
    DATASETS.register(f"{_name}32", _padded(_name))


# TODO(lead): use data/photos.py's crops at merge
def _photo_root(cfg: DataConfig) -> Path:
    base = cfg.root or os.environ.get("GANFORGE_DATA")
    if not base:
        raise UserError(
            "data.name=photo-crops needs data.root=PATH (a folder holding photos/ or bsd68/, sun-hays80/, "
            "set14/) or GANFORGE_DATA set"
        )
    root = Path(base).expanduser()
    return root / "photos" if (root / "photos").is_dir() else root


def _read_rgb(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("RGB"))  # [H, W, 3] uint8; grey photos (Set14's bridge) as RGB
    except UNREADABLE as e:
        raise unreadable(path, e) from e


def random_crops(images: list[np.ndarray], size: int, per_image: int, seed: int) -> np.ndarray:
    """`per_image` crops of size x size from each image at seeded positions, half of them flipped
    left-right: uint8 [len(images) * per_image, size, size, 3]."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(images) * per_image, size, size, 3), np.uint8)
    k = 0
    for img in images:
        h, w = img.shape[:2]
        if h < size or w < size:
            raise UserError(f"a {w}x{h} photo is smaller than the {size} px crops; lower data.resolution")
        for _ in range(per_image):
            top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
            crop = img[top : top + size, left : left + size]
            out[k] = crop[:, ::-1] if rng.random() < 0.5 else crop
            k += 1
    return out


@DATASETS.register("photo-crops")
def photo_crops(cfg: DataConfig) -> Data:
    """64 px colour crops: train from photos/bsd68 + sun-hays80, test (split=test) from set14"""
    if cfg.split not in PHOTO_FOLDERS:
        raise UserError(f"data.split={cfg.split}: photo-crops has splits train and test")
    root = _photo_root(cfg)
    files = []
    for folder in PHOTO_FOLDERS[cfg.split]:
        if not (root / folder).is_dir():
            raise UserError(f"photo-crops: {root / folder} does not exist; point data.root at the photos folder")
        files += list_images(root / folder)
    size = cfg.resolution or 64
    crops = random_crops([_read_rgb(p) for p in files], size, CROPS_PER_PHOTO[cfg.split], CROP_SEED)
    x = uint8_to_float(torch.from_numpy(crops).permute(0, 3, 1, 2))  # [N, 3, size, size] in [-1, 1]
    if cfg.channels not in (None, 3):
        x = fit_images(x, None, cfg.channels)
    return Data(x)


__all__ = ["random_crops", "photo_crops"]
