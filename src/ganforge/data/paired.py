"""Data for image-to-image translation: two domains, A (the input) and B (the output).

A `Data` holds domain A in `x` and domain B in `extra["x_b"]`, indexed by the same batch indices:

    paired     x[i] and x_b[i] are two views of one scene (pix2pix, Isola et al. 2017)
    unpaired   x and x_b come from disjoint sets; row i of x_b is a random B image, shuffled once
               with a fixed seed when the data set is built (CycleGAN, Zhu et al. 2017), so the
               batch order stays a pure function of (seed, batch number) and resume stays exact

Folders: `paired-folder` reads pix2pix's side-by-side A|B images (`ROOT/train/*.jpg`, or ROOT itself),
or two folders matched by file name (`ROOT/A[/train]`, `ROOT/B[/train]`); `unpaired-folder` reads
CycleGAN's `ROOT/trainA` and `ROOT/trainB` (`testA`/`testB` for data.split=test).

Built-in tasks with known ground truth, made from MNIST (28x28 digits padded to 32x32 so U-Net
depths work): `edges2digits` (A = the digit's Sobel edge map, B = the digit), `invert` (B = the
negative of A), and `*-unpaired` versions whose two domains come from disjoint halves of the split,
so no pair exists in training; `extra["x_b_true"]` keeps each A image's true partner for previews and
evaluation only (the CycleGAN objective never reads it).

Random jitter (pix2pix's resize-to-286-then-crop-256 and flips) is `PairedJitter`: one random crop
offset and flip per example, applied identically to every tensor of that example.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ganforge.augment import PairedJitter
from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.datasets import DATASETS
from ganforge.data.folders import list_images, load_image_folder
from ganforge.data.idx import SOURCES, load_idx_dataset
from ganforge.errors import UserError
from ganforge.schema import DataConfig

UNPAIRED_SPLIT_SEED = 1234  # which half of MNIST feeds which domain: a property of the data set, not of a run


# --- transforms ------------------------------------------------------------------------------------
def pad_to(x: Tensor, size: int, value: float = -1.0) -> Tensor:
    """Centre-pad [N, C, H, W] images to size x size with `value` (MNIST's black background is -1)."""
    dh, dw = size - x.shape[-2], size - x.shape[-1]
    if dh < 0 or dw < 0:
        raise ValueError(f"cannot pad {list(x.shape[-2:])} images to {size}")
    return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2), value=value)


def sobel_edges(x: Tensor, threshold: float = 2.0) -> Tensor:
    """Binary edge map of [N, 1, H, W] images in [-1, 1]: Sobel gradient magnitude of the image
    scaled to [0, 1], thresholded. A sharp 0 -> 1 step has magnitude 4; the threshold 2.0 keeps the
    outline of each stroke on both sides and drops its inside. Returns {-1, 1} in the input's shape."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=x.dtype)
    kernels = torch.stack([kx, kx.t()])[:, None]  # [2, 1, 3, 3]: d/dx, d/dy
    out = []
    for chunk in x.split(8192):
        u = (chunk + 1) / 2
        grad = F.conv2d(u, kernels, padding=1)  # [n, 2, H, W]
        mag = grad.square().sum(1, keepdim=True).sqrt()  # [n, 1, H, W]
        out.append((mag > threshold).to(x.dtype) * 2 - 1)
    return torch.cat(out)


# --- built-in MNIST tasks --------------------------------------------------------------------------
def _digits(cfg: DataConfig) -> tuple[Tensor, Tensor]:
    """MNIST digits of cfg.split as [N, 1, 32, 32] in [-1, 1] (padded from 28; resized if
    data.resolution asks for another size), and their labels [N]."""
    images, labels = load_idx_dataset("mnist", cfg.split, cfg.root, cfg.download)
    x = pad_to(uint8_to_float(images), 32)  # [N, 1, 32, 32]
    if cfg.resolution not in (None, 32):
        x = fit_images(x, cfg.resolution, None)
    return x, torch.from_numpy(labels)


TASKS = {  # name -> (A from digits, B from digits)
    "edges2digits": (sobel_edges, lambda d: d),
    "invert": (lambda d: d, lambda d: -d),
}
TASK_DOCS = {
    "edges2digits": "A = Sobel edge map of an MNIST digit, B = the digit (32x32)",
    "invert": "A = an MNIST digit, B = its negative (32x32)",
}


def _convert_channels(t: Tensor, channels: int | None) -> Tensor:
    return fit_images(t, None, channels) if channels is not None else t


def _finish(a: Tensor, b: Tensor, y: Tensor | None, cfg: DataConfig, classes=(), extra=None) -> Data:
    """Apply data.channels and data.direction; A in x, B in extra["x_b"]."""
    a, b = _convert_channels(a, cfg.channels), _convert_channels(b, cfg.channels)
    if cfg.direction == "BtoA":
        a, b = b, a
    data = Data(a, y, tuple(classes))
    data.extra["x_b"] = b
    for k, v in (extra or {}).items():
        data.extra[k] = _convert_channels(v, cfg.channels)
    return data


def _paired_task(name: str):
    make_a, make_b = TASKS[name]

    def build(cfg: DataConfig) -> Data:
        digits, labels = _digits(cfg)
        return _finish(make_a(digits), make_b(digits), labels, cfg, SOURCES["mnist"].classes)

    build.__doc__ = f"paired: {TASK_DOCS[name]}"
    return build


def _unpaired_task(name: str):
    make_a, make_b = TASKS[name]

    def build(cfg: DataConfig) -> Data:
        digits, labels = _digits(cfg)
        perm = torch.randperm(len(digits), generator=torch.Generator().manual_seed(UNPAIRED_SPLIT_SEED))
        half = len(digits) // 2
        ia, ib = perm[:half], perm[half : 2 * half]  # disjoint: no digit is in both domains
        # the true partner of each input image, for evaluation and previews only (after _finish's
        # swap for BtoA the inputs are the B half, whose partners are their A images)
        if cfg.direction == "BtoA":
            extra, y = {"x_b_true": make_a(digits[ib])}, labels[ib]
        else:
            extra, y = {"x_b_true": make_b(digits[ia])}, labels[ia]
        return _finish(make_a(digits[ia]), make_b(digits[ib]), y, cfg, SOURCES["mnist"].classes, extra)

    build.__doc__ = f"unpaired (disjoint halves of the split): {TASK_DOCS[name]}"
    return build


for _name in TASKS:
    DATASETS.register(_name, _paired_task(_name))
    DATASETS.register(f"{_name}-unpaired", _unpaired_task(_name))


# --- folders -----------------------------------------------------------------------------------------
def _open(path: Path, channels: int | None) -> Image.Image:
    try:
        with Image.open(path) as img:
            img.load()
            grey = img.mode in ("L", "1", "I;16", "I")
            mode = "L" if channels == 1 else "RGB" if channels == 3 else ("L" if grey else "RGB")
            return img.convert(mode)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: not a readable image ({e}); remove or replace the file") from None


def _to_array(img: Image.Image, resolution: int | None) -> np.ndarray:
    if resolution is not None and img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.BICUBIC)
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr  # [H, W, C]


def _stack(arrays: list[np.ndarray], where: Path) -> Tensor:
    sizes = {a.shape for a in arrays}
    if len(sizes) > 1:
        raise UserError(f"{where}: images have different sizes {sorted(sizes)[:3]}; set data.resolution")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)  # [N, C, H, W]


def split_side_by_side(img: Image.Image, path: Path) -> tuple[Image.Image, Image.Image]:
    """pix2pix's A|B format: the left half is A, the right half is B."""
    w, h = img.size
    if w < 2 or w % 2:
        raise UserError(
            f"{path}: a side-by-side A|B image needs an even width, got {w}x{h}; or put A and B in ROOT/A and ROOT/B"
        )
    return img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))


def _split_dir(root: Path, split: str) -> Path:
    return root / split if (root / split).is_dir() else root


def load_paired_folder(root: Path, split: str, resolution: int | None, channels: int | None) -> tuple[Tensor, Tensor]:
    """(A [N, C, H, W], B [N, C, H, W]) from side-by-side images or A/ and B/ folders matched by name."""
    if not root.is_dir():
        raise UserError(f"paired data folder {root} does not exist; check data.root")
    if (root / "A").is_dir() and (root / "B").is_dir():
        dir_a, dir_b = _split_dir(root / "A", split), _split_dir(root / "B", split)
        files_a = {p.relative_to(dir_a).with_suffix("").as_posix(): p for p in list_images(dir_a)}
        files_b = {p.relative_to(dir_b).with_suffix("").as_posix(): p for p in list_images(dir_b)}
        missing = sorted(set(files_a) ^ set(files_b))
        if missing:
            side = "B" if missing[0] in files_a else "A"
            raise UserError(
                f"{root}: '{missing[0]}' has no partner in {side}/ ({len(missing)} unmatched); "
                "paired folders must hold the same file names"
            )
        names = sorted(files_a)
        a = [_to_array(_open(files_a[n], channels), resolution) for n in names]
        b = [_to_array(_open(files_b[n], channels), resolution) for n in names]
        return _stack(a, dir_a), _stack(b, dir_b)
    folder = _split_dir(root, split)
    halves = [split_side_by_side(_open(p, channels), p) for p in list_images(folder)]
    a = [_to_array(h[0], resolution) for h in halves]
    b = [_to_array(h[1], resolution) for h in halves]
    return _stack(a, folder), _stack(b, folder)


@DATASETS.register("paired-folder")
def paired_folder(cfg: DataConfig) -> Data:
    """Paired images: side-by-side A|B files (pix2pix format) or ROOT/A and ROOT/B matched by name"""
    if not cfg.root:
        raise UserError(
            "data.name=paired-folder needs data.root=PATH: a folder of side-by-side A|B images "
            "(optionally in train/ and test/), or one holding A/ and B/"
        )
    a, b = load_paired_folder(Path(cfg.root).expanduser(), cfg.split, cfg.resolution, cfg.channels)
    return _finish(a, b, None, cfg)


def stretch_indices(n_src: int, n: int, generator: torch.Generator) -> Tensor:
    """n indices into n_src items: seeded permutations of range(n_src), concatenated and cut to n, so
    every item appears before any appears twice."""
    reps = -(-n // n_src)
    return torch.cat([torch.randperm(n_src, generator=generator) for _ in range(reps)])[:n]


@DATASETS.register("unpaired-folder")
def unpaired_folder(cfg: DataConfig) -> Data:
    """Unpaired domains: ROOT/trainA and ROOT/trainB (CycleGAN format; testA/testB for split=test)"""
    if not cfg.root:
        raise UserError("data.name=unpaired-folder needs data.root=PATH, a folder holding trainA/ and trainB/")
    root = Path(cfg.root).expanduser()
    dirs = [root / f"{cfg.split}A", root / f"{cfg.split}B"]
    for d in dirs:
        if not d.is_dir():
            raise UserError(f"unpaired data: {d} does not exist; data.root must hold {cfg.split}A/ and {cfg.split}B/")
    a = load_image_folder(dirs[0], cfg.resolution, cfg.channels).x  # [Na, C, H, W]
    b = load_image_folder(dirs[1], cfg.resolution, cfg.channels).x  # [Nb, C, H, W]
    if a.shape[2:] != b.shape[2:]:
        raise UserError(
            f"{root}: A images are {list(a.shape[2:])}, B images {list(b.shape[2:])}; "
            "set data.resolution so both domains share one size"
        )
    # one epoch covers the larger domain; the other repeats in fresh seeded orders, and B is
    # shuffled once (fixed seed) so row i of A and row i of B are unrelated
    gen = torch.Generator().manual_seed(UNPAIRED_SPLIT_SEED)
    n = max(len(a), len(b))
    ia = torch.arange(len(a)) if len(a) == n else stretch_indices(len(a), n, gen)
    return _finish(a[ia], b[stretch_indices(len(b), n, gen)], None, cfg)


def read_translation_input(
    path: Path, resolution: int, channels: int, paired: bool = False
) -> tuple[Tensor, Tensor | None]:
    """One file for `ganforge translate`: (image [1, C, R, R], the B half [1, C, R, R] when `paired`)."""
    img = _open(path, channels)
    if paired:
        a, b = split_side_by_side(img, path)
        return _stack([_to_array(a, resolution)], path), _stack([_to_array(b, resolution)], path)
    w, h = img.size
    side = min(w, h)
    if w != h:  # centre-crop to a square first
        img = img.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    return _stack([_to_array(img, resolution)], path), None


__all__ = ["PairedJitter", "sobel_edges", "pad_to", "load_paired_folder", "read_translation_input", "stretch_indices"]
