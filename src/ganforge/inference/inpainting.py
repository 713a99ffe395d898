"""Inpainting with an inpainting family (`Family.inpaints`: context-encoder, inpaint-gan).

    inpaint(model, image, mask)      image [C, H, W] or [N, C, H, W] in [-1, 1], mask [H, W], [1, H, W] or
                                     [N, 1, H, W] (1 = missing) -> the completed image(s): the input
                                     outside the hole, G's output inside it
    policy_mask(model, policy, h, w, seed)   a named mask policy's mask (ganforge.data.masks)
    inpaint_file(model, image, out, mask=..., policy=...)   `ganforge inpaint`: files in, a PNG out

A fully convolutional G (it has `margin` and `multiple`: inpaint-gan) takes images of any size. The
image is first padded (edge pixels repeated, the padding known, not missing) to a multiple of
`G.multiple`; if it is larger than `tile` x `tile` it is processed in tiles of `tile` pixels, each run
with `G.margin` pixels of context on every side (clipped at the image's border) and only its core
kept, so memory is bounded by the tile and the result equals whole-image processing: every output
pixel reads only pixels within `G.margin` of it, and tiles start at multiples of `G.multiple`, so the
strided layers see the same pixel grid. A G with a fully connected bottleneck (context-encoder) takes
images of its training size only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ganforge.data.masks import POLICIES, apply_mask, check_policy, composite, make_masks, read_mask
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.io import refuse_overwrite, save_image

DEFAULT_TILE = 256  # core pixels per tile side: about 0.3 GB of activations for inpaint-gan at width 32


def require_inpainter(model: LoadedModel) -> None:
    if not model.family.inpaints:
        able = ", ".join(families_that(lambda f: f.inpaints))
        raise UserError(f"this {model.family.name} model does not inpaint; train an inpainting family ({able})")


def _as_batch(image: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    x = image[None] if image.ndim == 3 else image
    m = mask
    while m.ndim < 4:
        m = m[None]
    if x.ndim != 4:
        raise UserError(f"an image must be [C, H, W] or [N, C, H, W], got shape {list(image.shape)}")
    if tuple(m.shape[-2:]) != tuple(x.shape[-2:]):
        raise UserError(
            f"the mask is {m.shape[-1]}x{m.shape[-2]} but the image is {x.shape[-1]}x{x.shape[-2]}; "
            "give a mask of the image's size (white = missing)"
        )
    if m.shape[1] != 1 or m.shape[0] not in (1, x.shape[0]):
        raise UserError(f"a mask must be [H, W], [1, H, W] or [N, 1, H, W], got shape {list(mask.shape)}")
    return x, (m > 0.5).to(x.dtype).expand(x.shape[0], -1, -1, -1)


def check_image(model: LoadedModel, x: Tensor) -> None:
    c = model.data_shape[0]
    if x.shape[1] != c:
        raise UserError(f"this model inpaints {c}-channel images, got {x.shape[1]} channels")
    G = model.networks["G"]
    if not hasattr(G, "margin"):  # a bottleneck ties G to its training size
        size = tuple(model.data_shape[1:])
        if tuple(x.shape[-2:]) != size:
            raise UserError(
                f"this {model.family.name} model inpaints {size[1]}x{size[0]} images only, got "
                f"{x.shape[-1]}x{x.shape[-2]}; resize the image, or use a fully convolutional family (inpaint-gan)"
            )


@torch.no_grad()
def run_tiled(G: torch.nn.Module, x_in: Tensor, m: Tensor, tile: int) -> Tensor:
    """G(x_in, m) of an image whose sides are multiples of G.multiple, in tiles of `tile` core pixels
    (a multiple of G.multiple) with G.margin pixels of context; [N, C, H, W]."""
    h, w = x_in.shape[-2:]
    margin = G.margin
    out = torch.empty_like(x_in)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            t0, l0 = max(0, top - margin), max(0, left - margin)  # multiples of G.multiple
            t1, l1 = min(h, bottom + margin), min(w, right + margin)
            y = G(x_in[..., t0:t1, l0:l1], m[..., t0:t1, l0:l1])
            out[..., top:bottom, left:right] = y[..., top - t0 : bottom - t0, left - l0 : right - l0]
    return out


@torch.no_grad()
def inpaint(model: LoadedModel, image: Tensor, mask: Tensor, tile: int | None = DEFAULT_TILE) -> Tensor:
    """The completed image(s), on the CPU, shaped as `image`; `tile`: core tile side for fully
    convolutional families (rounded down to a multiple of G.multiple); None: the whole image at once."""
    require_inpainter(model)
    x, m = _as_batch(image.float(), mask.float())
    check_image(model, x)
    G = model.networks["G"]
    x, m = x.to(model.device), m.to(model.device)
    h, w = x.shape[-2:]
    if hasattr(G, "margin"):
        k = G.multiple
        ph, pw = -h % k, -w % k
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x  # [N, C, H', W']
        mp = F.pad(m, (0, pw, 0, ph)) if ph or pw else m  # padded pixels: known
        x_in = apply_mask(xp, mp)
        if tile is not None and tile < 1:
            raise UserError(f"tile={tile}: give a tile side of at least {k} pixels, or None for the whole image")
        if tile is None or (xp.shape[-2] <= tile and xp.shape[-1] <= tile):
            out = G(x_in, mp)
        else:
            out = run_tiled(G, x_in, mp, max(k, tile // k * k))
        out = out[..., :h, :w]
    else:
        out = G(apply_mask(x, m), m)
    result = composite(x, out, m).clamp(-1, 1).cpu()
    return result[0] if image.ndim == 3 else result


def training_mask_options(model: LoadedModel) -> tuple[float, float]:
    """(hole, coverage) the model was trained with (the policies' sizes by default)."""
    loss = model.config.loss
    return float(getattr(loss, "hole", 0.5)), float(getattr(loss, "coverage", 0.25))


def policy_mask(model: LoadedModel, policy: str, height: int, width: int, seed: int = 0) -> Tensor:
    """[1, 1, H, W]: one mask of `policy` at the sizes the model trained with, from `seed`."""
    hole, coverage = training_mask_options(model)
    check_policy(policy, hole, coverage, where="--policy ")
    return make_masks(policy, 1, height, width, torch.Generator().manual_seed(seed), hole, coverage)


def read_image_file(path: Path, channels: int) -> Tensor:
    """An image file as [1, C, H, W] in [-1, 1] at its own size (grey or RGB as the model needs)."""
    from ganforge.data.folders import UNREADABLE, unreadable

    if not path.is_file():
        raise UserError(f"image {path} does not exist")
    try:
        with Image.open(path) as img:
            img.load()
            arr = np.asarray(img.convert("L" if channels == 1 else "RGB"))
    except UNREADABLE as e:
        raise unreadable(path, e) from e
    arr = arr[:, :, None] if arr.ndim == 2 else arr  # [H, W, C]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float().div(127.5).sub(1.0)


def check_out(out: Path, image: Path, mask: Path | None, overwrite: bool) -> None:
    """Refuse an --out that is not a .png, that is one of the inputs, or that exists without overwrite."""
    if out.suffix.lower() != ".png":
        raise UserError(f"--out {out}: give a .png file name")
    for src in (image, mask):
        if src is not None and out.resolve() == src.resolve():
            raise UserError(f"--out {out} is an input file; choose another name (inputs are never overwritten)")
    refuse_overwrite(out, overwrite=overwrite)


def inpaint_file(
    model: LoadedModel,
    image: Path,
    out: Path,
    mask: Path | None = None,
    policy: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
    tile: int | None = DEFAULT_TILE,
) -> dict:
    """`ganforge inpaint`: IMAGE with the hole of the --mask file (or of --policy, from --seed) filled,
    written to `out` (a PNG, atomically; an existing file only with `overwrite`)."""
    require_inpainter(model)
    if (mask is None) == (policy is None):
        raise UserError(f"give either --mask MASK.png (white = missing) or --policy {'|'.join(POLICIES)}")
    check_out(out, image, mask, overwrite)
    x = read_image_file(image, model.data_shape[0])
    h, w = x.shape[-2:]
    m = read_mask(mask, h, w) if mask is not None else policy_mask(model, policy, h, w, seed)
    check_image(model, x)
    result = inpaint(model, x, m, tile)
    save_image(result[0], out)
    return {"path": str(out), "width": w, "height": h, "hole": float(m.mean())}


__all__ = ["DEFAULT_TILE", "check_out", "inpaint", "inpaint_file", "policy_mask", "read_image_file", "run_tiled"]
