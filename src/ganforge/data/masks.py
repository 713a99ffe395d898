"""Inpainting masks: 1 where a pixel is missing (the hole), 0 where it is known, as float tensors
[N, 1, H, W]. Mask files follow the same convention: white (> 127) = missing.

Named policies, each a pure function of its torch.Generator (training draws one per batch from
(seed, batch number), `batch_generator`, so the masks of a run are reproducible and resume is exact):

    center    one centred square of side `hole` x the image side (Pathak et al. 2016's centre region;
              0.5: 16x16 in 32x32)
    box       one random axis-aligned rectangle of `coverage` x the image's area, aspect ratio in
              [1/2, 2], anywhere inside the image (the random boxes of Iizuka et al. 2017 / Yu et al. 2018)
    strokes   free-form brush strokes (Yu et al. 2019, "Free-Form Image Inpainting with Gated
              Convolution", alg. 1): polylines of 4 to 12 vertices at random angles, lengths and brush
              widths, drawn until the hole covers `coverage` of the image
    mixed     box or strokes, one or the other per image with probability 1/2 (DeepFill v2 trains on both)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ganforge.errors import UserError

POLICIES = ("center", "box", "strokes", "mixed")
MASK_SEED_OFFSET = 7_777_777  # keeps the mask stream apart from other (seed, step) streams (translation jitter)


def check_policy(policy: str, hole: float = 0.5, coverage: float = 0.25, where: str = "loss.") -> None:
    """One-line UserErrors for a policy name or size the generators cannot honour."""
    if policy not in POLICIES:
        raise UserError(f"{where}mask={policy}: choose one of {', '.join(POLICIES)}")
    if not 0.0 < hole < 1.0:
        raise UserError(f"{where}hole={hole}: the centre square's side as a fraction of the image, in (0, 1)")
    if not 0.0 < coverage <= 0.75:
        raise UserError(f"{where}coverage={coverage}: the fraction of the image to remove, in (0, 0.75]")


def batch_generator(seed: int, batch: int) -> torch.Generator:
    """The generator of batch number `batch`'s masks in a run seeded `seed`."""
    return torch.Generator().manual_seed(seed * 1_000_003 + batch + MASK_SEED_OFFSET)


def center_mask(n: int, height: int, width: int, hole: float = 0.5) -> Tensor:
    """[n, 1, H, W]: a centred hole of round(hole * side) pixels a side (16 in 32 at hole=0.5)."""
    m = torch.zeros(n, 1, height, width)
    hh, hw = max(1, round(hole * height)), max(1, round(hole * width))
    top, left = (height - hh) // 2, (width - hw) // 2
    m[:, :, top : top + hh, left : left + hw] = 1.0
    return m


def _uniform(gen: torch.Generator, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=gen))


def _box(height: int, width: int, coverage: float, gen: torch.Generator) -> np.ndarray:
    """One rectangle of about coverage * H * W pixels, aspect ratio 2^U(-1, 1), inside the image."""
    area = coverage * height * width
    aspect = 2.0 ** _uniform(gen, -1.0, 1.0)  # width / height
    bh = min(height, max(1, round(math.sqrt(area / aspect))))
    bw = min(width, max(1, round(area / bh)))
    top = int(torch.randint(height - bh + 1, (), generator=gen))
    left = int(torch.randint(width - bw + 1, (), generator=gen))
    m = np.zeros((height, width), np.uint8)
    m[top : top + bh, left : left + bw] = 1
    return m


def _strokes(height: int, width: int, coverage: float, gen: torch.Generator) -> np.ndarray:
    """Yu et al. 2019's free-form strokes: a random walk of line segments with round joints, brush
    width 1/20 to 1/8 of the side, segment length up to 1/4 of it, repeated until `coverage` is reached
    (a stroke may overshoot it a little)."""
    import cv2

    side = min(height, width)
    m = np.zeros((height, width), np.uint8)
    target = coverage * height * width
    for _ in range(64):  # bounded: each stroke adds area, so this ends long before 64 in practice
        if m.sum() >= target:
            break
        x, y = _uniform(gen, 0, width - 1), _uniform(gen, 0, height - 1)
        angle = _uniform(gen, 0, 2 * math.pi)
        brush = max(1, round(_uniform(gen, side / 20, side / 8)))
        for _ in range(int(torch.randint(4, 13, (), generator=gen))):
            angle += _uniform(gen, -math.pi / 3, math.pi / 3)  # the walk turns by at most 60 degrees
            length = _uniform(gen, side / 16, side / 4)
            nx = min(max(x + length * math.cos(angle), 0), width - 1)
            ny = min(max(y + length * math.sin(angle), 0), height - 1)
            cv2.line(m, (round(x), round(y)), (round(nx), round(ny)), 1, brush)
            cv2.circle(m, (round(nx), round(ny)), brush // 2, 1, -1)
            x, y = nx, ny
            if m.sum() >= target:
                break
    return m


def make_masks(
    policy: str,
    n: int,
    height: int,
    width: int,
    gen: torch.Generator,
    hole: float = 0.5,
    coverage: float = 0.25,
) -> Tensor:
    """n masks [n, 1, H, W] (1 = missing) of `policy`, drawn from `gen` (unused by `center`)."""
    check_policy(policy, hole, coverage)
    if policy == "center":
        return center_mask(n, height, width, hole)
    out = []
    for _ in range(n):
        kind = policy if policy != "mixed" else ("box" if _uniform(gen) < 0.5 else "strokes")
        draw = _box if kind == "box" else _strokes
        out.append(torch.from_numpy(draw(height, width, coverage, gen)))
    return torch.stack(out)[:, None].float()  # [n, 1, H, W]


def read_mask(path: str | Path, height: int, width: int) -> Tensor:
    """A mask file as [1, 1, H, W] (1 = missing: pixels brighter than 127 after conversion to grey).
    It must have the image's size: a mask of another size is refused, never resized, since a resized
    hole would no longer be the region the user marked."""
    from ganforge.data.folders import UNREADABLE, unreadable

    path = Path(path)
    if not path.is_file():
        raise UserError(f"mask {path} does not exist; give a PNG with white where pixels are missing")
    try:
        with Image.open(path) as img:
            img.load()
            grey = np.asarray(img.convert("L"))
    except UNREADABLE as e:
        raise unreadable(path, e) from e
    if grey.shape != (height, width):
        raise UserError(
            f"mask {path} is {grey.shape[1]}x{grey.shape[0]} but the image is {width}x{height}; "
            "give a mask of the image's size (white = missing)"
        )
    return torch.from_numpy((grey > 127).astype(np.float32))[None, None]


def mask_to_image(mask: Tensor) -> Tensor:
    """[N, 1, H, W] masks -> images in [-1, 1] (white = missing), for save_image and previews."""
    return mask * 2 - 1


def apply_mask(x: Tensor, mask: Tensor, fill: float = 0.0) -> Tensor:
    """x with its hole set to `fill` (0: mid grey in [-1, 1], the mean colour Pathak et al. fill with)."""
    return x * (1 - mask) + fill * mask


def composite(x: Tensor, out: Tensor, mask: Tensor) -> Tensor:
    """What inpainting returns: the input outside the hole, the model's output inside it."""
    return x * (1 - mask) + out * mask


__all__ = [
    "POLICIES",
    "apply_mask",
    "batch_generator",
    "center_mask",
    "check_policy",
    "composite",
    "make_masks",
    "mask_to_image",
    "read_mask",
]
