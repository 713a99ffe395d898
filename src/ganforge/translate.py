"""Translate images with a trained pix2pix or CycleGAN model, and draw comparison grids.

    model = ganforge.load("runs/pix2pix-edges")
    out = model.translate(x, direction="AtoB")          # [N, C, H, W] in [-1, 1] -> same layout
    translate_files(model, Path("edges/"), Path("out/"))  # files -> out/<name>.png + out/comparison.png

A family's objective names which network translates which way (`directions`): pix2pix has "AtoB"
only (train with data.direction=BtoA for the reverse), CycleGAN has G for "AtoB" and F for "BtoA".
Networks run in eval mode: dropout off, batch norm with its running statistics. (Isola et al. keep
dropout on at test time and use the test batch's statistics; eval mode makes outputs a
deterministic function of each input alone.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import Tensor, nn

from ganforge.errors import UserError

MAX_GRID_ROWS = 64            # the comparison grid shows at most this many examples


def directions(model) -> dict[str, str]:
    """Direction -> network name for a loaded model's family ({} for noise -> image families)."""
    from ganforge.models import MODELS

    return dict(MODELS.get(model.config.model.family).directions)


def translator(model, direction: str) -> nn.Module:
    dirs = directions(model)
    family = model.config.model.family
    if not dirs:
        raise UserError(f"this {family} model generates from noise and does not translate images; "
                        "use 'ganforge sample'")
    if direction not in dirs:
        hint = " (train with data.direction=BtoA for the other way)" if family == "pix2pix" else ""
        raise UserError(f"a {family} model translates {' and '.join(dirs)} only, not {direction!r}{hint}")
    return model.networks[dirs[direction]]


def io_shapes(model, direction: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """([C, H, W] of the inputs, [C, H, W] of the outputs) for `direction`."""
    c_a, h, w = model.data_shape
    c_b = model.config.model.out_channels or c_a
    a, b = (c_a, h, w), (c_b, h, w)
    return (a, b) if direction == "AtoB" else (b, a)


@torch.no_grad()
def translate_tensor(model, x: Tensor, direction: str = "AtoB", batch_size: int = 64) -> Tensor:
    """Images [N, C, H, W] (or one [C, H, W]) in [-1, 1] -> their translations, on the CPU."""
    net = translator(model, direction)
    x = torch.as_tensor(x)
    if x.ndim == 3:
        x = x[None]
    want, _ = io_shapes(model, direction)
    if x.ndim != 4 or tuple(x.shape[1:]) != want:
        raise UserError(f"this model translates images of shape [N, {want[0]}, {want[1]}, {want[2]}] "
                        f"({direction}), got {list(x.shape)}")
    out = [net(x[i:i + batch_size].to(model.device, torch.float32)).float().cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out)


def comparison_tiles(inputs: Tensor, outputs: Tensor, targets: Tensor | None = None) -> Tensor:
    """[k N, C, H, W]: per example `input | output | target` (k = 2 without targets); grey images
    become RGB when any column is colour. The training previews use the same layout."""
    from ganforge.objectives.translation import tiles

    return tiles([inputs, outputs] + ([targets] if targets is not None else []))


def save_comparison(path: Path, inputs: Tensor, outputs: Tensor, targets: Tensor | None = None,
                    per_row: int = 1) -> Path:
    """A PNG grid with rows of `input | output | target`, `per_row` examples side by side."""
    from ganforge.training.logging import save_samples

    tiles = comparison_tiles(inputs, outputs, targets)
    k = 2 if targets is None else 3
    return save_samples(tiles, Path(path), nrow=k * per_row)


# --- files ---------------------------------------------------------------------------------------------
def list_inputs(path: Path) -> list[Path]:
    from ganforge.data.folders import IMAGE_SUFFIXES, list_images

    if not path.exists():
        raise UserError(f"input {path} does not exist; give an image file or a folder of images")
    if path.is_dir():
        return list_images(path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise UserError(f"input {path} is not an image file ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return [path]


def _key(path: Path, base: Path) -> str:
    """A flat output name: the path below the input folder with '/' as '_', without its suffix."""
    rel = path.relative_to(base) if base.is_dir() else Path(path.name)
    return "_".join(rel.with_suffix("").parts)


def _write_png(image: Tensor, path: Path) -> None:
    """One image [C, H, W] in [-1, 1] -> PNG, written to a temporary name and renamed."""
    from PIL import Image

    from ganforge.api import to_uint8

    arr = to_uint8(image[None])[0]                                # [H, W, C] uint8
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png")
    os.close(fd)
    try:
        Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def translate_files(model, input_path: Path, out_dir: Path, direction: str = "AtoB",
                    target: Path | None = None, paired: bool = False, overwrite: bool = False) -> dict:
    """Translate an image file or a folder of images into `out_dir`/<name>.png and draw
    `out_dir`/comparison.png (input | output | target). Targets come from `target` (a file, or a
    folder matched by name) or, with `paired`, from the other half of side-by-side A|B inputs.
    Inputs are centre-cropped to squares and resized to the model's size. Nothing existing is
    overwritten unless `overwrite`."""
    from ganforge.data.paired import read_translation_input

    input_path, out_dir = Path(input_path), Path(out_dir)
    files = list_inputs(input_path)
    translator(model, direction)                                  # fail early on a wrong direction
    (c_in, size, _), (c_out, _, _) = io_shapes(model, direction)
    if target is not None and paired:
        raise UserError("give --target or --paired, not both")
    target_files = None
    if target is not None:
        target = Path(target)
        if not target.exists():
            raise UserError(f"target {target} does not exist; give an image file or a folder of images")
        if target.is_dir():
            by_key = {_key(p, target): p for p in list_inputs(target)}
            missing = [_key(p, input_path) for p in files if _key(p, input_path) not in by_key]
            if missing:
                raise UserError(f"no target for '{missing[0]}' in {target} ({len(missing)} missing); "
                                "target files must have the inputs' names")
            target_files = [by_key[_key(p, input_path)] for p in files]
        elif len(files) == 1:
            target_files = list_inputs(target)
        else:
            raise UserError(f"--target {target} is one file but the input holds {len(files)} images; "
                            "give a folder of targets with the same names")
    names = [out_dir / f"{_key(p, input_path)}.png" for p in files]
    grid = out_dir / "comparison.png"
    if not overwrite:
        clash = next((p for p in names + [grid] if p.exists()), None)
        if clash is not None:
            raise UserError(f"{clash} already exists; pass --overwrite or choose another --out")
    inputs, targets = [], []
    for i, p in enumerate(files):
        if paired:                                                # side-by-side A|B: one half in, the other the target
            halves_in = read_translation_input(p, size, c_in, paired=True)
            halves_out = halves_in if c_out == c_in else read_translation_input(p, size, c_out, paired=True)
            first = 0 if direction == "AtoB" else 1
            inputs.append(halves_in[first])
            targets.append(halves_out[1 - first])
            continue
        inputs.append(read_translation_input(p, size, c_in)[0])
        if target_files is not None:
            targets.append(read_translation_input(target_files[i], size, c_out)[0])
    x = torch.cat(inputs)                                         # [N, C_in, size, size]
    y = translate_tensor(model, x, direction)
    out_dir.mkdir(parents=True, exist_ok=True)
    for image, path in zip(y, names):
        _write_png(image, path)
    t = torch.cat(targets) if targets else None
    k = min(len(x), MAX_GRID_ROWS)
    save_comparison(grid, x[:k], y[:k], None if t is None else t[:k])
    result = {"outputs": names, "grid": grid, "count": len(files)}
    if t is not None:                                             # how close to the known targets, on the [0, 1] scale
        result["l1"] = float(((y - t) / 2).abs().mean())
        result["psnr"] = float(psnr(y, t).mean())
    return result


def psnr(x: Tensor, y: Tensor) -> Tensor:
    """Peak signal-to-noise ratio per image [N], of images in [-1, 1] measured on the [0, 1] scale:
    10 log10(1 / MSE)."""
    mse = ((x - y) / 2).square().flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-10))


__all__ = ["translate_tensor", "translate_files", "save_comparison", "comparison_tiles", "psnr",
           "directions", "translator"]
