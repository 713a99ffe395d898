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

import torch

from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.datasets import DATASETS
from ganforge.data.idx import SOURCES, load_idx_dataset
from ganforge.data.paired import pad_to
from ganforge.data.photos import load_photos, random_crops
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


def _photo_root(cfg: DataConfig) -> Path:
    base = cfg.root or os.environ.get("GANFORGE_DATA")
    if not base:
        raise UserError(
            "data.name=photo-crops needs data.root=PATH (a folder holding photos/ or bsd68/, sun-hays80/, "
            "set14/) or GANFORGE_DATA set"
        )
    root = Path(base).expanduser()
    return root / "photos" if (root / "photos").is_dir() else root


@DATASETS.register("photo-crops")
def photo_crops(cfg: DataConfig) -> Data:
    """64 px colour crops: train from photos/bsd68 + sun-hays80, test (split=test) from set14"""
    if cfg.split not in PHOTO_FOLDERS:
        raise UserError(f"data.split={cfg.split}: photo-crops has splits train and test")
    root = _photo_root(cfg)
    folders = [root / folder for folder in PHOTO_FOLDERS[cfg.split]]
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"photo-crops: {folder} does not exist; point data.root at the photos folder")
    size = cfg.resolution or 64
    photos = load_photos(folders, min_side=size)  # the super-resolution data's reader and crops (data/photos.py)
    crops = random_crops(photos, len(photos) * CROPS_PER_PHOTO[cfg.split], size, CROP_SEED)
    x = uint8_to_float(crops)  # [N, 3, size, size] in [-1, 1]
    if cfg.channels not in (None, 3):
        x = fit_images(x, None, cfg.channels)
    return Data(x)


__all__ = ["photo_crops"]
