"""Registered data sets and the deterministic batch stream the training loop reads.

Every data set here fits in memory on a laptop (MNIST at 60,000 x 28 x 28 is 188 MB as float32),
so a `Data` is plain tensors and the order of batches is a pure function of (seed, batch number):
exact resume needs only the number of batches consumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.folders import load_image_folder
from ganforge.data.idx import SOURCES, load_idx_dataset
from ganforge.errors import UserError
from ganforge.registry import Registry
from ganforge.schema import DataConfig

DATASETS: Registry = Registry("dataset")


def _limit(data: Data, limit: int | None, seed: int = 0) -> Data:
    if limit is None or limit >= len(data):
        return data
    if limit < 1:
        raise UserError(f"data.limit={limit}: must be at least 1")
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:limit]
    return Data(
        data.x[idx],
        None if data.y is None else data.y[idx],
        data.classes,
        data.kind,
        {k: v[idx] for k, v in data.extra.items()},
        data.meta,
    )


def _idx_builder(name: str):
    def build(cfg: DataConfig) -> Data:
        images, labels = load_idx_dataset(name, cfg.split, cfg.root, cfg.download)
        x = fit_images(uint8_to_float(images), cfg.resolution, cfg.channels)
        return Data(x, torch.from_numpy(labels), SOURCES[name].classes)

    build.__doc__ = f"{name} from IDX files (train 60,000 / test 10,000), 28x28 grey, 10 classes"
    return build


for _name in SOURCES:
    DATASETS.register(_name, _idx_builder(_name))


# --- toy 2-D mixtures (the PacGAN / VEEGAN benchmarks) ---------------------------------------------
@dataclass(frozen=True)
class Mixture:
    modes: Tensor  # [K, 2] mode centres
    sigma: float  # standard deviation of every component

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        which = torch.randint(len(self.modes), (n,), generator=generator)
        return self.modes[which] + self.sigma * torch.randn(n, 2, generator=generator)


def ring8() -> Mixture:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return Mixture(torch.stack([angles.cos(), angles.sin()], 1).float(), 0.01)


def grid25() -> Mixture:
    g = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return Mixture(torch.cartesian_prod(g, g), 0.05)


MIXTURES = {"ring8": ring8, "grid25": grid25}


def _mixture_builder(name: str):
    def build(cfg: DataConfig) -> Data:
        mix = MIXTURES[name]()
        # the training set is drawn once from a generator fixed per split, so it is a data set
        gen = torch.Generator().manual_seed(0 if cfg.split == "train" else 1)
        return Data(mix.sample(cfg.num_points, gen), kind="points")

    build.__doc__ = {
        "ring8": "8 Gaussians on a ring of radius 1, sigma 0.01",
        "grid25": "25 Gaussians on the grid {-4,-2,0,2,4}^2, sigma 0.05",
    }[name]
    return build


for _name in MIXTURES:
    DATASETS.register(_name, _mixture_builder(_name))


@DATASETS.register("folder")
def image_folder(cfg: DataConfig) -> Data:
    """A folder of images (any format Pillow reads); subfolders, if any, become class labels."""
    if not cfg.root:
        raise UserError("data.name=folder needs data.root=PATH, the folder of images")
    return load_image_folder(Path(cfg.root), cfg.resolution, cfg.channels)


# --- captioned images and ordered attribute groups (StackGAN, Age-cGAN; data/captions.py) ----------
def _register_captioned() -> None:
    from ganforge.data import captions

    for name in captions.CAPTIONED:
        short = "mnist" if name == "mnist" else "fashion"
        DATASETS.register(f"{short}-captions", captions._captioned_builder(name))

    def captioned_pairs(cfg: DataConfig) -> Data:
        """(image, caption) pairs: data.path = a .csv (image,caption) or .jsonl file; images beside it or under data.root"""
        if not cfg.path:
            raise UserError("data.name=captions needs data.path=FILE, a .csv or .jsonl of (image, caption) rows")
        path = Path(cfg.path)
        if not path.is_absolute() and not path.exists() and cfg.root:
            path = Path(cfg.root) / path
        return captions.load_captions(path, Path(cfg.root) if cfg.root else None, cfg.resolution, cfg.channels)

    def thickness(cfg: DataConfig) -> Data:
        """MNIST with its stroke-thickness bucket (5 quintiles, thinnest..thickest) as the class: Age-cGAN's benchmark"""
        return captions.mnist_thickness(cfg)

    def utkface(cfg: DataConfig) -> Data:
        """Faces named [age]_[gender]_[race]_[date].jpg under data.root; the class is the age group (data.age_edges)"""
        if not cfg.root:
            raise UserError("data.name=utkface needs data.root=FOLDER, the folder of UTKFace images")
        return captions.load_utkface(Path(cfg.root), cfg.age_edges, cfg.resolution, cfg.channels)

    DATASETS.register("captions", captioned_pairs)
    DATASETS.register("mnist-thickness", thickness)
    DATASETS.register("utkface", utkface)


_register_captioned()


def _exclude(data: Data, classes: list[int] | None, name: str) -> Data:
    """`data` without the examples of `classes` (data.exclude_classes); class indices keep their meaning."""
    if not classes:
        return data
    if data.y is None:
        raise UserError(f"data.exclude_classes={classes}: data.name={name} has no class labels; remove the option")
    bad = [c for c in classes if not 0 <= c < data.num_classes]
    if bad:
        raise UserError(f"data.exclude_classes={classes}: {name} has classes 0 to {data.num_classes - 1}, not {bad}")
    keep = ~torch.isin(data.y, torch.tensor(classes, dtype=data.y.dtype))
    if not keep.any():
        raise UserError(f"data.exclude_classes={classes} leaves no examples of {name}; exclude fewer classes")
    return Data(
        data.x[keep], data.y[keep], data.classes, data.kind, {k: v[keep] for k, v in data.extra.items()}, data.meta
    )


def build_dataset(cfg: DataConfig, seed: int = 0) -> Data:
    data = DATASETS.get(cfg.name)(cfg)
    return _limit(_exclude(data, cfg.exclude_classes, cfg.name), cfg.limit, seed)


class BatchStream:
    """Batches of indices in a seeded order: epoch e is a permutation drawn from (seed, e); the last
    incomplete batch of an epoch is dropped. Batch number b is a pure function of (seed, b), so
    resuming needs only `position`. With `world` > 1 each rank takes its own slice of the order."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.per_epoch = n // (batch_size * world)
        if self.per_epoch < 1:
            raise UserError(
                f"the data set has {n} examples, fewer than one batch of "
                f"{batch_size * world}; lower train.batch_size or add data"
            )
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.position = 0  # batches consumed so far
        self._epoch, self._perm = -1, None

    def resume(self, position: int, world: int, batch_size: int) -> None:
        """Continue after `position` batches consumed by each of `world` ranks with batches of
        `batch_size` (a checkpoint's), also when this stream's world size or batch size differs.
        Those batches used the first world * batch_size * i examples of epoch e's order (position =
        e * batches per epoch + i; rank r took every world-th of them), so this stream goes on in
        epoch e after as many of its own batches as cover them, rounding up: no example is shown
        twice in an epoch, and fewer than one batch of this stream's is skipped."""
        if world == self.world and batch_size == self.batch_size:
            self.position = position
            return
        per_epoch = self.n // (batch_size * world)
        epoch, i = divmod(position, per_epoch)
        seen = i * batch_size * world  # the epoch's first `seen` examples are used
        self.position = epoch * self.per_epoch + math.ceil(seen / (self.batch_size * self.world))

    def next(self) -> Tensor:
        epoch, i = divmod(self.position, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.n, generator=gen)[self.rank :: self.world]
            self._epoch = epoch
        self.position += 1
        return self._perm[i * self.batch_size : (i + 1) * self.batch_size]
