"""Super-resolution with a loaded restorer (`Family.restores == "upscale"`: the srgan family).

Large images are processed in overlapping tiles, so memory is bounded by the tile, not the image:
the input is cut into `tile` x `tile` cores (low-resolution pixels); each core goes through G with a
margin of `margin` pixels of its neighbours around it (fewer at the image's edges) and only the core's
part of the output is kept. With a margin at least G's receptive-field radius (`receptive_radius`,
the default) every kept output pixel sees exactly the inputs it sees in one whole-image pass, so
the tiles join without seams: tiled and whole-image outputs agree to float rounding
(tests/inference/test_restoration.py checks 1e-5).

    upscale(model, image)                  uint8 [h, w, 3] (or [h, w]) -> uint8 [h s, w s, 3]
    upscale_tensor(model, x)               [N, C, h, w] in [-1, 1] -> [N, C, h s, w s] in [-1, 1], on the CPU
    upscale_files(model, path, out_dir)    an image or a folder -> out_dir/<name>.png each
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from ganforge.data.folders import UNREADABLE, unreadable
from ganforge.data.photos import read_photo
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.inference.translation import _key, list_inputs  # the same inputs and output names as translate
from ganforge.io import atomic_write, refuse_overwrite

DEFAULT_TILE = 128  # low-resolution pixels per tile side (512 output pixels at x4)


def require_upscaler(model: LoadedModel) -> tuple[nn.Module, int]:
    """(G, scale) of a super-resolution model, else a one-line UserError."""
    if model.family.restores != "upscale":
        able = ", ".join(families_that(lambda f: f.restores == "upscale"))
        raise UserError(
            f"this {model.family.name} model does not upscale images; give the run of a super-resolution family ({able})"
        )
    return model.networks["G"], int(model.config.model.scale)


def receptive_radius(G: nn.Module) -> int:
    """How many input pixels on each side of a pixel can reach its output, from G's layers in order
    (convolutions at the scale they run at; a pixel shuffle multiplies the scale). A bicubic skip
    reaches 2 input pixels."""
    radius, scale = 0.0, 1
    for m in G.modules():
        if isinstance(m, nn.Conv2d):
            radius += m.dilation[0] * (m.kernel_size[0] // 2) / scale
        elif isinstance(m, nn.PixelShuffle):
            scale *= m.upscale_factor
    skip = 2 if getattr(G, "bicubic_skip", False) else 0
    return max(math.ceil(radius), skip)


def _check_size(h: int, w: int, scale: int, what: str) -> None:
    if min(h, w) < scale:
        raise UserError(
            f"{what} is {w}x{h} pixels, smaller than the x{scale} scale; give an image at least {scale} px a side"
        )


@torch.no_grad()
def _tiled(
    G: nn.Module, x: Tensor, scale: int, tile: int | None, margin: int | None, emit, device: torch.device
) -> None:
    """Run G over x [1, C, h, w] (float, [-1, 1]) tile by tile; emit(top, left, out) gets each core's
    output [C, th s, tw s] (clamped to [-1, 1], float32, CPU) at its output position."""
    _, _, h, w = x.shape
    tile = max(h, w) if not tile else tile
    margin = receptive_radius(G) if margin is None else margin
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            t0, l0 = max(0, top - margin), max(0, left - margin)
            t1, l1 = min(h, bottom + margin), min(w, right + margin)
            out = G(x[:, :, t0:t1, l0:l1].to(device, torch.float32)).float()  # [1, C, (t1 - t0) s, (l1 - l0) s]
            core = out[0, :, (top - t0) * scale : (bottom - t0) * scale, (left - l0) * scale : (right - l0) * scale]
            emit(top * scale, left * scale, core.clamp(-1, 1).cpu())


def upscale_tensor(model: LoadedModel, x: Tensor, tile: int | None = DEFAULT_TILE, margin: int | None = None) -> Tensor:
    """Images [N, C, h, w] (or one [C, h, w]) in [-1, 1] -> [N, C, h s, w s] in [-1, 1] on the CPU.
    tile=None or 0: each image in one pass (memory grows with the image)."""
    G, scale = require_upscaler(model)
    x = torch.as_tensor(x)
    if x.ndim == 3:
        x = x[None]
    channels = model.data_shape[0]
    if x.ndim != 4 or x.shape[1] != channels:
        raise UserError(f"this model upscales images of shape [N, {channels}, h, w], got {list(x.shape)}")
    _check_size(x.shape[-2], x.shape[-1], scale, "the input")
    n, c, h, w = x.shape
    out = torch.empty(n, c, h * scale, w * scale)
    for i in range(n):

        def put(top: int, left: int, core: Tensor, i: int = i) -> None:
            out[i, :, top : top + core.shape[-2], left : left + core.shape[-1]] = core

        _tiled(G, x[i : i + 1], scale, tile, margin, put, model.device)
    return out


def upscale(
    model: LoadedModel, image: np.ndarray | Image.Image, tile: int | None = DEFAULT_TILE, margin: int | None = None
) -> np.ndarray:
    """One image, uint8 [h, w, 3] (grey [h, w] or [h, w, 1] becomes RGB; a PIL image works too) ->
    uint8 [h s, w s, 3]. Memory: the input as floats, the uint8 output and one tile's activations."""
    G, scale = require_upscaler(model)
    arr = np.asarray(image.convert("RGB")) if isinstance(image, Image.Image) else np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.dtype != np.uint8:
        raise UserError(f"upscale takes a uint8 image [h, w, 3], got {arr.dtype} {list(arr.shape)}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[:, :, :3]  # an alpha channel is dropped
    h, w = arr.shape[:2]
    _check_size(h, w, scale, "the image")
    x = torch.from_numpy(np.array(arr)).permute(2, 0, 1)[None].float().div_(127.5).sub_(1.0)  # a writable copy
    out = np.empty((h * scale, w * scale, 3), dtype=np.uint8)  # [H, W, C]

    def put(top: int, left: int, core: Tensor) -> None:
        u8 = core.add(1).mul_(127.5).round_().to(torch.uint8).permute(1, 2, 0).numpy()  # [th, tw, C]
        out[top : top + u8.shape[0], left : left + u8.shape[1]] = u8

    _tiled(G, x, scale, tile, margin, put, model.device)
    return out


# --- files -----------------------------------------------------------------------------------------------
def _out_name(path: Path, base: Path) -> str:
    return _key(path, base) + ".png"


def check_inputs(files: list[Path], scale: int) -> None:
    """Every input decodes and is at least `scale` px a side; checked before anything is written."""
    for p in files:
        try:
            with Image.open(p) as img:
                img.load()  # a truncated file fails here, not half way through the outputs
                w, h = img.size
        except UNREADABLE as e:
            raise unreadable(p, e) from None
        _check_size(h, w, scale, str(p))


def upscale_files(
    model: LoadedModel,
    input_path: Path,
    out_dir: Path,
    tile: int | None = DEFAULT_TILE,
    overwrite: bool = False,
) -> dict:
    """Upscale an image or a folder of images into out_dir/<name>.png (a folder's subfolders joined
    with '_'). Inputs are all read and checked first; nothing existing is overwritten unless
    `overwrite`; each output is written atomically."""
    input_path, out_dir = Path(input_path), Path(out_dir)
    _, scale = require_upscaler(model)
    files = list_inputs(input_path)
    outs = [out_dir / _out_name(p, input_path) for p in files]
    refuse_overwrite(*outs, overwrite=overwrite)
    check_inputs(files, scale)
    for p, out in zip(files, outs):
        sr = upscale(model, read_photo(p), tile)
        pil = Image.fromarray(sr)
        atomic_write(out, lambda tmp, pil=pil: pil.save(tmp, format="PNG", compress_level=1))
    return {"count": len(files), "outputs": outs, "scale": scale}


__all__ = [
    "DEFAULT_TILE",
    "check_inputs",
    "list_inputs",
    "receptive_radius",
    "require_upscaler",
    "upscale",
    "upscale_files",
    "upscale_tensor",
]
