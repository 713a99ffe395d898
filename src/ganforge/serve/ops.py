"""What each API call does with a model: plain functions over the inference layer, run in the
inference pool's threads. They take checked values and return JSON-ready dicts; images travel as
base64 PNG strings (the page puts them in `data:image/png;base64,` URLs; a script decodes them).
A bad value the inference layer refuses is its UserError, which the app answers with 400."""

from __future__ import annotations

import base64
import io
import math

import torch
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid  # at import, not on the first request: its memory counts from the start

from ganforge.errors import UserError
from ganforge.inference import interpolation, sampling, styles, translation
from ganforge.io import to_uint8
from ganforge.serve.models import ServedModel
from ganforge.serve.uploads import image_tensor

MAX_LOSS_POINTS = 200  # a projection's loss curve, thinned for the page


def png(images: Tensor, nrow: int | None = None) -> str:
    """Images [N, C, H, W] in [-1, 1] -> a base64 PNG: one image, or a grid of `nrow` per row
    (default: a square) with 2 black pixels between them, as `ganforge sample` draws it."""
    images = images.detach().float().cpu().clamp(-1, 1)
    if len(images) == 1:
        grid = images[0]
    else:
        grid = make_grid(images, nrow=nrow or max(1, int(math.sqrt(len(images)))), padding=2, pad_value=-1)
    arr = to_uint8(grid[None])[0]  # [H, W, C] uint8
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def need(served: ServedModel, capability: str) -> None:
    """A UserError when the model lacks `capability`, naming what it can do instead."""
    if capability not in served.caps:
        raise UserError(
            f"model '{served.id}' ({served.model.family.name}) cannot {capability.replace('-', ' ')}; "
            f"it can: {', '.join(served.caps) or 'nothing the studio shows'}"
        )


def _check_truncation(served: ServedModel, truncation: float | None) -> None:
    if truncation is not None and "truncation" not in served.caps:
        raise UserError(
            f"model '{served.id}' ({served.model.family.name}) has no truncation trick; leave truncation out"
        )


def generate(served: ServedModel, seed: int, count: int, label: int | None, truncation: float | None, nrow) -> dict:
    """`count` samples from `seed`: a PNG grid for images, coordinates for points."""
    need(served, "generate")
    _check_truncation(served, truncation)
    x = sampling.sample(served.model, count, seed, y=label, truncation=truncation)
    if served.model.kind != "image":
        return {"count": count, "points": x.tolist()}
    return {"count": count, "image": png(x, nrow)}


def interpolate(
    served: ServedModel, seed_a: int, seed_b: int, steps: int, label: int | None, truncation: float | None
) -> dict:
    """The path between two seeds' samples: a strip and its frames (for the animation). Families with
    per-layer styles walk a straight line in W; the others a great circle in Z."""
    need(served, "interpolate")
    _check_truncation(served, truncation)
    m = served.model
    if m.family.styles:
        psi = 1.0 if truncation is None else sampling.check_psi(truncation)
        frames = interpolation.interpolate_w(m, seed_a, seed_b, steps, psi=psi, label=label)
    else:
        frames = interpolation.between_seeds(m, seed_a, seed_b, steps, truncation, label)
    return {"steps": steps, "strip": png(frames, nrow=steps), "frames": [png(f[None]) for f in frames]}


def style_mix(served: ServedModel, rows: list[int], cols: list[int], crossover: int, psi: float, label) -> dict:
    """StyleGAN's mixing figure: row seeds' styles before `crossover`, column seeds' from it on."""
    need(served, "style-mixing")
    grid, per_row = styles.style_mixing_grid(served.model, rows, cols, crossover, psi, label)
    return {"rows": len(rows), "cols": len(cols), "image": png(grid, per_row)}


def project(served: ServedModel, data: bytes, steps: int, seed: int, label: int | None) -> dict:
    """An uploaded image projected into W: the target as the model sees it, the reconstruction, PSNR
    and the loss per step (thinned)."""
    need(served, "project")
    G = styles.style_generator(served.model)
    target = image_tensor(data, G.synthesis.resolution, G.synthesis.channels)[0]  # [C, H, W]
    result = styles.project(served.model, target, steps=steps, seed=seed, label=label)
    stride = max(1, math.ceil(len(result.losses) / MAX_LOSS_POINTS))
    return {
        "target": png(result.target[None]),
        "reconstruction": png(result.image[None]),
        "psnr": result.psnr,
        "losses": result.losses[::stride],
    }


def translate(served: ServedModel, data: bytes, direction: str) -> dict:
    """An uploaded image translated A -> B or B -> A: the input as the model sees it and the output."""
    need(served, "translate")
    translation.translator(served.model, direction)  # a direction this model lacks: refused before decoding
    (c, size, _), _ = translation.io_shapes(served.model, direction)
    x = image_tensor(data, size, c)
    with torch.no_grad():
        y = translation.translate_tensor(served.model, x, direction)
    return {"direction": direction, "input": png(x), "output": png(y)}


__all__ = ["generate", "interpolate", "need", "png", "project", "style_mix", "translate"]
