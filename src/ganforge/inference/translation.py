"""Translate images with a loaded image-to-image model, and draw comparison grids.

    out = translate_tensor(model, x, "AtoB")            # [N, C, H, W] in [-1, 1] -> same layout, on the CPU
    translate_files(model, Path("edges/"), Path("out/"))  # files -> out/<name>.png + out/comparison.png

The family names which network translates which way (`Family.directions`): pix2pix has "AtoB"
only (train with data.direction=BtoA for the reverse), CycleGAN has G for "AtoB" and F for "BtoA".
Networks run in eval mode: dropout off, batch norm with its running statistics. (Isola et al. keep
dropout on at test time and use the test batch's statistics; eval mode makes outputs a
deterministic function of each input alone.)
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from ganforge.data.folders import list_images
from ganforge.data.paired import read_translation_input
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.io import IMAGE_SUFFIXES, refuse_overwrite, save_grid, save_image, tiles
from ganforge.metrics.image import psnr

MAX_GRID_ROWS = 64  # the comparison grid shows at most this many examples


def directions(model: LoadedModel) -> dict[str, str]:
    """Direction -> network name for a loaded model's family ({} for noise -> image families)."""
    return dict(model.family.directions)


def translator(model: LoadedModel, direction: str) -> nn.Module:
    dirs = directions(model)
    family = model.family.name
    if not dirs and model.family.restores == "upscale":
        raise UserError(f"this {family} model upscales images and does not translate them; use 'ganforge upscale'")
    if not dirs:
        able = ", ".join(families_that(lambda f: f.directions))
        raise UserError(
            f"this {family} model generates from noise and does not translate images; "
            f"use 'ganforge sample' (families that translate: {able})"
        )
    if direction not in dirs:
        hint = f" (train with data.direction={direction} for the other way)" if len(dirs) == 1 else ""
        raise UserError(f"a {family} model translates {' and '.join(dirs)} only, not {direction!r}{hint}")
    return model.networks[dirs[direction]]


def io_shapes(model: LoadedModel, direction: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """([C, H, W] of the inputs, [C, H, W] of the outputs) for `direction`."""
    c_a, h, w = model.data_shape
    c_b = model.config.model.out_channels or c_a
    a, b = (c_a, h, w), (c_b, h, w)
    return (a, b) if direction == "AtoB" else (b, a)


@torch.no_grad()
def translate_tensor(model: LoadedModel, x: Tensor, direction: str = "AtoB", batch_size: int = 64) -> Tensor:
    """Images [N, C, H, W] (or one [C, H, W]) in [-1, 1] -> their translations, on the CPU."""
    net = translator(model, direction)
    x = torch.as_tensor(x)
    if x.ndim == 3:
        x = x[None]
    want, _ = io_shapes(model, direction)
    if x.ndim != 4 or tuple(x.shape[1:]) != want:
        raise UserError(
            f"this model translates images of shape [N, {want[0]}, {want[1]}, {want[2]}] "
            f"({direction}), got {list(x.shape)}"
        )
    out = [
        net(x[i : i + batch_size].to(model.device, torch.float32)).float().cpu() for i in range(0, len(x), batch_size)
    ]
    return torch.cat(out)


def comparison_tiles(inputs: Tensor, outputs: Tensor, targets: Tensor | None = None) -> Tensor:
    """[k N, C, H, W]: per example `input | output | target` (k = 2 without targets); grey images
    become RGB when any column is colour. The training previews use the same layout."""
    return tiles([inputs, outputs] + ([targets] if targets is not None else []))


def save_comparison(
    path: Path, inputs: Tensor, outputs: Tensor, targets: Tensor | None = None, per_row: int = 1
) -> Path:
    """A PNG grid with rows of `input | output | target`, `per_row` examples side by side."""
    k = 2 if targets is None else 3
    return save_grid(comparison_tiles(inputs, outputs, targets), Path(path), nrow=k * per_row)


# --- files ---------------------------------------------------------------------------------------------
def list_inputs(path: Path) -> list[Path]:
    """An image file, or the images of a folder (recursively, sorted)."""
    path = Path(path)
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


def _target_files(files: list[Path], input_path: Path, target: Path) -> list[Path]:
    """The known target of every input: the one file `target`, or the file of the same name in the folder."""
    if not target.exists():
        raise UserError(f"target {target} does not exist; give an image file or a folder of images")
    if target.is_dir():
        by_key = {_key(p, target): p for p in list_inputs(target)}
        missing = [_key(p, input_path) for p in files if _key(p, input_path) not in by_key]
        if missing:
            raise UserError(
                f"no target for '{missing[0]}' in {target} ({len(missing)} missing); "
                "target files must have the inputs' names"
            )
        return [by_key[_key(p, input_path)] for p in files]
    if len(files) == 1:
        return list_inputs(target)
    raise UserError(
        f"--target {target} is one file but the input holds {len(files)} images; "
        "give a folder of targets with the same names"
    )


def translate_files(
    model: LoadedModel,
    input_path: Path,
    out_dir: Path,
    direction: str = "AtoB",
    target: Path | None = None,
    paired: bool = False,
    overwrite: bool = False,
) -> dict:
    """Translate an image file or a folder of images into `out_dir`/<name>.png and draw
    `out_dir`/comparison.png (input | output | target). Targets come from `target` (a file, or a
    folder matched by name) or, with `paired`, from the other half of side-by-side A|B inputs.
    Inputs are centre-cropped to squares and resized to the model's size. Nothing existing is
    overwritten unless `overwrite`."""
    input_path, out_dir = Path(input_path), Path(out_dir)
    files = list_inputs(input_path)
    translator(model, direction)  # fail early on a wrong direction
    (c_in, size, _), (c_out, _, _) = io_shapes(model, direction)
    if target is not None and paired:
        raise UserError("give --target or --paired, not both")
    target_files = None if target is None else _target_files(files, input_path, Path(target))
    names = [out_dir / f"{_key(p, input_path)}.png" for p in files]
    grid = out_dir / "comparison.png"
    refuse_overwrite(*names, grid, overwrite=overwrite)
    inputs, targets = [], []
    for i, p in enumerate(files):
        if paired:  # side-by-side A|B: one half in, the other the target
            halves_in = read_translation_input(p, size, c_in, paired=True)
            halves_out = halves_in if c_out == c_in else read_translation_input(p, size, c_out, paired=True)
            first = 0 if direction == "AtoB" else 1
            inputs.append(halves_in[first])
            targets.append(halves_out[1 - first])
            continue
        inputs.append(read_translation_input(p, size, c_in)[0])
        if target_files is not None:
            targets.append(read_translation_input(target_files[i], size, c_out)[0])
    x = torch.cat(inputs)  # [N, C_in, size, size]
    y = translate_tensor(model, x, direction)
    for image, path in zip(y, names):
        save_image(image, path)
    t = torch.cat(targets) if targets else None
    k = min(len(x), MAX_GRID_ROWS)
    save_comparison(grid, x[:k], y[:k], None if t is None else t[:k])
    result = {"outputs": names, "grid": grid, "count": len(files)}
    if t is not None:  # how close to the known targets, on the [0, 1] scale
        result["l1"] = float(((y - t) / 2).abs().mean())
        result["psnr"] = float(psnr(y, t).mean())
    return result


__all__ = [
    "MAX_GRID_ROWS",
    "comparison_tiles",
    "directions",
    "io_shapes",
    "list_inputs",
    "save_comparison",
    "translate_files",
    "translate_tensor",
    "translator",
]
