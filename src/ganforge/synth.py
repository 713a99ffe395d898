"""Sampling from trained (conditional) generators: class labels, the truncation trick, per-class
grids, latent interpolation strips, and labelled synthetic data sets written to .npz.

Everything here reads a loaded model (`ganforge.api.load`) and never the training code:

    labels_for(model, n, y)          the labels G gets: None (unconditional), all one class, or given
    truncated_normal(n, d, psi, g)   z ~ N(0, I) with every |z_i| <= psi, by re-sampling (BigGAN)
    class_grid(model, per_class)     [K * per_class, C, H, W], row k = class k, the same z per column
    interpolation(model, rows, steps)   rows of `steps` images along slerp paths between two z
    write_synthetic(model, path, per_class)   images uint8 [N, H, W, C] + labels int64 [N] in an .npz
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ganforge.errors import UserError


def truncated_normal(n: int, dim: int, psi: float, generator: torch.Generator | None = None,
                     max_rounds: int = 10_000) -> Tensor:
    """[n, dim] standard normal draws conditioned on |z| <= psi (the truncation trick, Brock et al. 2019,
    sec. 3.1): values outside are re-sampled until every one is inside. Smaller psi trades variety
    for fidelity."""
    if not psi > 0:
        raise UserError(f"truncation {psi}: give a threshold > 0 such as 0.5 (1 to 2 keeps most of N(0, 1))")
    z = torch.randn(n, dim, generator=generator)
    for _ in range(max_rounds):
        out = z.abs() > psi
        k = int(out.sum())
        if k == 0:
            return z
        z[out] = torch.randn(k, generator=generator)
    raise UserError(f"truncation {psi}: too small to sample (under 1 in {max_rounds} draws fall inside); use >= 0.01")


def is_conditional(model) -> bool:
    """Whether the model's generator takes class labels (cdcgan, cresnet, biggan)."""
    return int(getattr(model.generator, "num_classes", 0) or 0) > 0


def class_index(model, value: int | str) -> int:
    """A class given by index ('3', 3) or by name ('Trouser') -> its index, checked against the model."""
    if not is_conditional(model):
        raise UserError(f"this {model.config.model.family} model is unconditional and takes no class; drop --class "
                        "(class-conditional families: cdcgan, cresnet, biggan)")
    k = model.generator.num_classes
    names = list(model.classes)
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        if value in names:
            return names.index(value)
        raise UserError(f"unknown class {value!r}; this model's classes are 0-{k - 1}"
                        + (f" ({', '.join(names)})" if names else ""))
    i = int(value)
    if not 0 <= i < k:
        raise UserError(f"class {i} is out of range: this model has {k} classes, 0 to {k - 1}")
    return i


def labels_for(model, n: int, y: int | str | Sequence[int] | Tensor | None = None) -> Tensor | None:
    """The labels [n] (int64) to give G: None for an unconditional model (and y must be None);
    for a conditional one, y=None -> balanced 0, 1, ..., K-1, 0, ... ; an int or name -> that class
    for all; a sequence / tensor of n labels -> those, range-checked."""
    if y is None:
        return torch.arange(n) % model.generator.num_classes if is_conditional(model) else None
    if isinstance(y, (int, str, np.integer)):
        return torch.full((n,), class_index(model, y if isinstance(y, str) else int(y)), dtype=torch.long)
    labels = torch.as_tensor(y).long().reshape(-1)
    if len(labels) != n:
        raise UserError(f"{len(labels)} labels given for {n} samples; give one label per sample or a single class")
    for c in labels.unique().tolist():
        class_index(model, c)
    return labels


def latents(model, n: int, seed: int = 0, truncation: float | None = None) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    if truncation is None:
        return torch.randn(n, model.z_dim, generator=gen)
    return truncated_normal(n, model.z_dim, truncation, gen)


def grid_labels(model, per_class: int) -> Tensor:
    """The labels of `class_grid`: [0] * per_class + [1] * per_class + ... + [K - 1] * per_class."""
    return torch.arange(model.generator.num_classes).repeat_interleave(per_class)


def class_grid(model, per_class: int = 10, seed: int = 0, truncation: float | None = None) -> Tensor:
    """One row per class, `per_class` columns; column j uses the same z in every row, so a change
    from row to row is the label's doing. [K * per_class, C, H, W]."""
    if per_class < 1:
        raise UserError(f"--n {per_class}: at least one sample per class")
    if not is_conditional(model):
        raise UserError(f"a per-class grid needs a class-conditional model (cdcgan, cresnet, biggan); "
                        f"this is {model.config.model.family}")
    k = model.generator.num_classes
    z = latents(model, per_class, seed, truncation).repeat(k, 1)                    # [K * per_class, z]
    return model.generate(z, grid_labels(model, per_class))


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of a and b [R, D] at fractions t [S] -> [R, S, D]
    (White 2016, "Sampling Generative Networks": Gaussian latents live near a sphere, and a straight
    line between two of them passes through unlikely, low-norm points)."""
    a_n, b_n = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(1).clamp(-1 + 1e-7, 1 - 1e-7))[:, None, None]   # [R, 1, 1]
    t = t[None, :, None]                                                            # [1, S, 1]
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a[:, None] + (torch.sin(t * omega) / so) * b[:, None]


def interpolation(model, rows: int = 4, steps: int = 8, seed: int = 0, truncation: float | None = None,
                  y: int | str | None = None) -> Tensor:
    """`rows` strips of `steps` images along slerp paths between two random z (row r of a conditional
    model keeps class y, or class r mod K). [rows * steps, C, H, W]."""
    if rows < 1 or steps < 2:
        raise UserError(f"--rows {rows} --steps {steps}: need at least 1 row and 2 steps")
    ends = latents(model, 2 * rows, seed, truncation)                               # [2R, z]
    z = slerp(ends[:rows], ends[rows:], torch.linspace(0, 1, steps)).reshape(rows * steps, -1)
    if truncation is not None:
        z = z.clamp(-truncation, truncation)          # slerp can overshoot the box a little; keep |z| <= psi
    labels = None
    if is_conditional(model):
        k = model.generator.num_classes
        per_row = torch.full((rows,), class_index(model, y)) if y is not None else torch.arange(rows) % k
        labels = per_row.repeat_interleave(steps)
    elif y is not None:
        class_index(model, y)                         # raises: unconditional models take no class
    return model.generate(z, labels)


def write_synthetic(model, path: Path, per_class: int, seed: int = 0, truncation: float | None = None,
                    overwrite: bool = False, batch_size: int = 256) -> dict:
    """Write `per_class` samples of every class to `path` (.npz): images uint8 [N, H, W, C] (the
    layout of ganforge's .npz files), labels int64 [N], classes (their names). Written to a temporary
    file in the same folder and renamed, so a crash never leaves half a file; an existing file is
    kept unless `overwrite`."""
    from ganforge.api import to_uint8

    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise UserError(f"--out {path}: give a file name ending in .npz")
    if path.exists() and not overwrite:
        raise UserError(f"{path} already exists; pass --overwrite or choose another --out")
    if per_class < 1:
        raise UserError(f"--per-class {per_class}: at least 1")
    if not is_conditional(model):
        raise UserError(f"a labelled data set needs a class-conditional model (cdcgan, cresnet, biggan); "
                        f"this is {model.config.model.family}")
    if model.kind != "image":
        raise UserError("synthetic data sets are written for image models only")
    k = model.generator.num_classes
    n = k * per_class
    y = torch.arange(k).repeat_interleave(per_class)                                 # [N]: class-sorted
    images = to_uint8(model.generate(latents(model, n, seed, truncation), y, batch_size=batch_size))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".npz")
    os.close(fd)
    try:
        names = list(model.classes) or [str(i) for i in range(k)]
        np.savez_compressed(tmp, images=images, labels=y.numpy(), classes=np.array(names, dtype=str))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"path": str(path), "count": n, "classes": k, "shape": list(images.shape[1:])}
