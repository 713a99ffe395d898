"""Photos for image restoration (super-resolution, inpainting): folders of PNG / JPEG files read as
uint8 RGB arrays of their own sizes, random crops with flips, and the one degradation of
super-resolution (bicubic downscaling with antialiasing), which training and the benchmark share.

    photos = load_photos(photo_folders("bsd68,sun-hays80"))     # [H, W, 3] uint8 arrays, any sizes
    crops = random_crops(photos, 256, 96, seed=0)               # uint8 [256, 3, 96, 96]
    lr = bicubic_down(crops, 4)                                 # uint8 [256, 3, 24, 24]

Photos come in many sizes, so they do not fit `Data`'s one [N, C, H, W] tensor. The smallest honest
extension we found: the data set `photos-sr` cuts a pool of `data.crops` random crops (default
8192 of data.resolution = 96 px) once, with a fixed seed, and keeps them as uint8 in `Data.x` (a
quarter of float32's memory: 226 MB at the defaults). The loop's `BatchStream` then indexes the pool
as any other data set, so the batch order stays a pure function of (seed, batch number) and resume
stays exact; the SR objective adds a seeded flip / transpose per crop and step (8 variants) and
makes each low-resolution input on the fly from its high-resolution crop. At the defaults the pool
covers about as many pixels as the training photos hold (~7,500 disjoint 96 px squares), so a
fresh pool per epoch would add little but a second copy of the photos in memory.

Folders (`data.root`): one folder or several separated by commas; a relative name that is not a
folder here is looked up under $GANFORGE_DATA and $GANFORGE_DATA/photos. None: bsd68 and sun-hays80
under $GANFORGE_DATA/photos (the training photos of the super-resolution benchmark; set5 and set14
are its test images and never trained on).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ganforge.data.base import Data
from ganforge.data.datasets import DATASETS
from ganforge.data.folders import UNREADABLE, list_images, unreadable
from ganforge.errors import UserError
from ganforge.schema import DataConfig

DEFAULT_TRAIN_FOLDERS = ("bsd68", "sun-hays80")  # under $GANFORGE_DATA/photos
PHOTO_CROP_SEED = 20170  # which crops form the pool: a property of the data set, not of a run
DEFAULT_CROP = 96  # high-resolution crop side when data.resolution is None (SRGAN's 96 px)


# --- reading -----------------------------------------------------------------------------------------
def photo_folders(root: str | None, default: tuple[str, ...] = DEFAULT_TRAIN_FOLDERS) -> list[Path]:
    """The folders `root` names (comma-separated; see the module docstring), or the default ones."""
    env = os.environ.get("GANFORGE_DATA")
    names = [s.strip() for s in root.split(",") if s.strip()] if root else list(default)
    if not root and not env:
        raise UserError(
            "photo data needs data.root=FOLDER[,FOLDER...] (folders of PNG / JPEG photos), "
            "or GANFORGE_DATA set to a folder holding photos/"
        )
    out = []
    for name in names:
        here = Path(name).expanduser()
        candidates = [here]
        if env and not here.is_absolute():
            candidates += [Path(env) / name, Path(env) / "photos" / name]
        found = next((c for c in candidates if c.is_dir()), None)
        if found is None:
            where = " or ".join(str(c) for c in candidates)
            raise UserError(f"photo folder {name} not found (looked in {where}); check data.root")
        out.append(found)
    return out


def read_photo(path: str | Path) -> np.ndarray:
    """One photo as uint8 [H, W, 3] RGB (grey and palette images become three equal channels)."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()  # forces decoding: truncated files fail here
            arr = np.asarray(img.convert("RGB"))
    except UNREADABLE as e:
        raise unreadable(path, e) from e
    return arr


def load_photos(folders: list[Path], min_side: int = 1) -> list[np.ndarray]:
    """Every photo of `folders` (recursively, sorted by path), uint8 [H, W, 3] each; a photo whose
    shorter side is below `min_side` is an error naming it."""
    photos = []
    for folder in folders:
        for path in list_images(folder):
            arr = read_photo(path)
            if min(arr.shape[:2]) < min_side:
                raise UserError(
                    f"{path} is {arr.shape[1]}x{arr.shape[0]}, smaller than the {min_side} px crops; "
                    "remove it or lower data.resolution"
                )
            photos.append(arr)
    return photos


# --- crops ---------------------------------------------------------------------------------------------
def random_crops(photos: list[np.ndarray], n: int, size: int, seed: int = 0, flip: bool = True) -> Tensor:
    """`n` random `size` x `size` crops of `photos` (uint8 [H, W, 3] arrays) as uint8 [n, 3, size, size].

    Each crop picks a photo with probability proportional to its number of crop positions (so every
    position of every photo is equally likely: a large photo gives more crops than a small one), a
    uniform position in it, and with `flip` a random horizontal flip. A pure function of `seed`.
    The public way to cut training crops from photos (super-resolution, inpainting)."""
    if n < 1 or size < 1:
        raise ValueError(f"random_crops: n={n} and size={size} must be >= 1")
    small = [i for i, p in enumerate(photos) if min(p.shape[:2]) < size]
    if small or not photos:
        raise UserError(
            f"{len(small)} of {len(photos)} photos are smaller than the {size} px crops; lower data.resolution"
            if photos
            else "no photos to crop"
        )
    rng = np.random.default_rng(seed)
    positions = np.array([(p.shape[0] - size + 1) * (p.shape[1] - size + 1) for p in photos], dtype=np.float64)
    which = rng.choice(len(photos), size=n, p=positions / positions.sum())
    out = np.empty((n, size, size, 3), dtype=np.uint8)  # [n, H, W, C]
    for k, i in enumerate(which):
        h, w = photos[i].shape[:2]
        top, left = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        crop = photos[i][top : top + size, left : left + size]
        out[k] = crop[:, ::-1] if flip and rng.random() < 0.5 else crop
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()  # [n, 3, size, size]


def dihedral(x: Tensor, which: Tensor) -> Tensor:
    """Each image of [N, C, S, S] under one of the 8 symmetries of the square (`which` [N] in 0..7:
    bit 0 a horizontal flip, bit 1 a vertical flip, bit 2 a transpose). Bicubic downscaling commutes
    with all eight, so the low-resolution inputs may be made after this."""
    out = x.clone()
    for k in range(8):
        sel = which == k
        if not sel.any():
            continue
        y = x[sel]
        if k & 1:
            y = y.flip(-1)
        if k & 2:
            y = y.flip(-2)
        if k & 4:
            y = y.transpose(-1, -2)
        out[sel] = y
    return out


def crop_to_multiple(image: np.ndarray, scale: int) -> np.ndarray:
    """[H, W, ...] cut at the bottom and right to multiples of `scale`, as the SR benchmarks do."""
    h, w = image.shape[0] // scale * scale, image.shape[1] // scale * scale
    return image[:h, :w]


# --- the degradation -------------------------------------------------------------------------------------
def bicubic_down(hr: Tensor, scale: int) -> Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, H / scale, W / scale]: bicubic downscaling with
    antialiasing (torch's `interpolate(mode="bicubic", antialias=True)`, Keys' kernel with a = -0.5
    stretched by `scale`, as MATLAB's `imresize` and Pillow's BICUBIC), rounded to uint8 as a saved
    low-resolution image is. H and W must be multiples of `scale`. The degradation of both the
    training pairs and the benchmark: the bicubic x4 rows it gives on Set5 / Set14 are within 0.1 dB
    of the published MATLAB figures (docs/benchmarks/restoration.md)."""
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"bicubic_down: {h}x{w} is not a multiple of {scale}; crop_to_multiple first")
    lr = F.interpolate(
        hr.double(), size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False
    )  # float64: the same uint8 result in a batch of one or many
    return lr.round_().clamp_(0, 255).to(torch.uint8)


def bicubic_up(lr: Tensor, scale: int) -> Tensor:
    """The baseline: float [N, C, h, w] (any range) -> [N, C, h scale, w scale], bicubic (a = -0.5,
    as MATLAB and Pillow; no antialiasing is needed to enlarge). Not clamped, not rounded."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", antialias=True, align_corners=False)


def to_unit(x: Tensor) -> Tensor:
    """uint8 images -> float32 in [-1, 1], ganforge's image range."""
    return x.float().div(127.5).sub(1.0)


# --- the data set --------------------------------------------------------------------------------------
@DATASETS.register("photos-sr")
def photos_sr(cfg: DataConfig) -> Data:
    """Super-resolution training crops: a pool of data.crops random high-resolution crops (data.resolution px,
    default 96) of the photos in data.root (default bsd68 + sun-hays80), uint8; low-resolution inputs are made
    by the objective"""
    size = cfg.resolution or DEFAULT_CROP
    if cfg.crops < 1:
        raise UserError(f"data.crops={cfg.crops}: must be at least 1")
    if cfg.channels not in (None, 3):
        raise UserError(f"data.channels={cfg.channels}: photo data are RGB; remove the option or set 3")
    photos = load_photos(photo_folders(cfg.root), min_side=size)
    x = random_crops(photos, cfg.crops, size, seed=PHOTO_CROP_SEED, flip=True)  # uint8 [crops, 3, S, S]
    return Data(x, meta={"photos": len(photos), "crop": size})


__all__ = [
    "DEFAULT_TRAIN_FOLDERS",
    "bicubic_down",
    "bicubic_up",
    "crop_to_multiple",
    "dihedral",
    "load_photos",
    "photo_folders",
    "random_crops",
    "read_photo",
    "to_unit",
]
