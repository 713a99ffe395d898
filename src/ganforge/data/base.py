"""What every data set is made of: `Data` (tensors in memory) and the conversions shared by the
data set builders and by the metrics' references (uint8 -> [-1, 1] floats, the one resize)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.errors import UserError


@dataclass
class Data:
    x: Tensor  # images [N, C, H, W] in [-1, 1], or points [N, D]
    y: Tensor | None = None  # class labels [N] (int64), when the data set has them
    classes: tuple[str, ...] = ()
    kind: str = "image"  # image | points | table
    extra: dict[str, Tensor] = field(default_factory=dict)  # more per-example tensors, indexed like x (e.g. "x_b")
    meta: dict = field(default_factory=dict)  # JSON-able, kept in checkpoints (tables: the column transforms)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.x)


def uint8_to_float(images: np.ndarray | Tensor) -> Tensor:
    """uint8 [N, H, W] or [N, C, H, W] -> float32 [N, C, H, W] in [-1, 1]."""
    x = torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x[:, None]  # [N, 1, H, W]
    return x.float().div_(127.5).sub_(1.0)


def fit_images(x: Tensor, resolution: int | tuple[int, int] | None, channels: int | None) -> Tensor:
    """Resize [N, C, H, W] images to `resolution` (a side, or (H, W); bilinear, antialiased) and
    convert channels. The one resize of training data, and of a reference compared with a model."""
    if channels is not None and channels != x.shape[1]:
        if channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1).contiguous()
        elif channels == 1 and x.shape[1] == 3:
            x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]  # ITU-R 601 luma
        else:
            raise UserError(f"data.channels={channels}: cannot convert {x.shape[1]}-channel images; use 1 or 3")
    size = (resolution, resolution) if isinstance(resolution, int) else resolution
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        out = []
        for chunk in x.split(4096):
            out.append(
                F.interpolate(chunk, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp_(
                    -1, 1
                )
            )
        x = torch.cat(out)
    return x
