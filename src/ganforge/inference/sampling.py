"""Sampling from a loaded model: latents, the truncation trick, class labels, per-class grids, and
labelled synthetic data sets written to .npz. What a model can do comes from its family:
`model.conditional` (G takes labels), `model.family.truncation` ("z": |z_i| <= psi, "w": psi in W,
None: none), `model.family.directions` (a translation model does not sample from noise).

    latents(model, n, seed, truncation)       z [n, z_dim] from seed, truncated in Z when asked
    labels_for(model, n, y)                   the labels G gets: None (unconditional), all one class, or given
    generate(model, z, y, psi=)               G(z, y) in batches
    sample(model, n, seed, y=, truncation=)   n samples, reproducible from seed alone
    sample_batches(model, n, seed, ...)       the same samples a piece at a time, for outputs larger than memory
    write_samples(model, path, n, seed, ...)  them into an .npz (images uint8 [N, H, W, C] or points, labels), streamed
    class_grid(model, per_class)              [K * per_class, C, H, W], row k = class k, the same z per column
    write_synthetic(model, path, per_class)   images uint8 [N, H, W, C] + labels int64 [N] in an .npz
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.io import NpzWriter, atomic_write, refuse_overwrite, to_uint8


# --- latents and truncation ---------------------------------------------------------------------------
def truncated_normal(
    n: int, dim: int, psi: float, generator: torch.Generator | None = None, max_rounds: int = 10_000
) -> Tensor:
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


def check_psi(psi) -> float:
    """A truncation psi in W: any finite number (1: none, 0: the mean w; the StyleGAN paper also shows -1)."""
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value):
        raise UserError(f"truncation psi {psi!r}: give a number such as 0.7 (1: no truncation, 0: the average image)")
    return value


def latents(model: LoadedModel, n: int, seed: int = 0, truncation: float | None = None) -> Tensor:
    """z [n, z_dim] on the CPU from its own generator seeded with `seed`; with `truncation` every
    |z_i| <= truncation (`truncated_normal`)."""
    gen = torch.Generator().manual_seed(seed)
    if truncation is None:
        return torch.randn(n, model.z_dim, generator=gen)
    return truncated_normal(n, model.z_dim, truncation, gen)


def piece_bounds(n: int, rows: int, z_dim: int) -> list[tuple[int, int]]:
    """(start, stop) of the pieces `latent_chunks` draws: `rows` rows each, a shorter tail of under
    16 values joined to the piece before it."""
    bounds, start = [], 0
    while start < n:
        stop = min(n, start + rows)
        if (n - stop) * z_dim < 16:
            stop = n
        bounds.append((start, stop))
        start = stop
    return bounds


def latent_chunks(model: LoadedModel, n: int, seed: int, rows: int) -> Iterator[Tensor]:
    """`latents(model, n, seed)` (no truncation) in pieces of `rows` rows, a multiple of 16, never
    drawing all n at once: the pieces joined are bit for bit that tensor. torch's CPU normal sampler
    turns consecutive uniforms into normals 16 at a time and redraws the last 16 when the count is
    not a multiple of 16; pieces whose sizes are multiples of 16, and a last piece of at least 16
    values (`piece_bounds`), draw the same numbers as one call (tests/reliability/
    test_large_outputs.py pins this against torch)."""
    if rows % 16:
        raise ValueError(f"rows={rows}: must be a multiple of 16")
    gen = torch.Generator().manual_seed(seed)
    for start, stop in piece_bounds(n, rows, model.z_dim):
        yield torch.randn(stop - start, model.z_dim, generator=gen)


def truncated_latents(
    model: LoadedModel, n: int, seed: int = 0, truncation: float | None = None
) -> tuple[Tensor, float | None]:
    """(z [n, z_dim], psi for G or None): the truncation trick where the model's family applies it,
    in Z (re-sampled z) or in W (plain z; G moves w towards w_avg by psi)."""
    space = model.family.truncation if truncation is not None else "z"
    if space == "z":
        return latents(model, n, seed, truncation), None
    if space == "w":
        return latents(model, n, seed), check_psi(truncation)
    able = families_that(lambda f: f.truncation is not None)
    raise UserError(
        f"a {model.family.name} model has no truncation trick; drop --truncation (families with one: {', '.join(able)})"
    )


# --- labels -------------------------------------------------------------------------------------------
def class_index(model: LoadedModel, value: int | str) -> int:
    """A class given by index ('3', 3) or by name ('Trouser') -> its index, checked against the model."""
    if not model.conditional:
        able = families_that(lambda f: f.can_condition)
        raise UserError(
            f"this {model.family.name} model is unconditional and takes no class; drop --class "
            f"(class-conditional families: {', '.join(able)})"
        )
    k = model.num_classes
    names = list(model.classes)
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        if value in names:
            return names.index(value)
        raise UserError(
            f"unknown class {value!r}; this model's classes are 0-{k - 1}" + (f" ({', '.join(names)})" if names else "")
        )
    i = int(value)
    if not 0 <= i < k:
        raise UserError(f"class {i} is out of range: this model has {k} classes, 0 to {k - 1}")
    return i


def labels_for(model: LoadedModel, n: int, y: int | str | Sequence[int] | Tensor | None = None) -> Tensor | None:
    """The labels [n] (int64) to give G: None for an unconditional model (and y must be None);
    for a conditional one, y=None -> balanced 0, 1, ..., K-1, 0, ... ; an int or name -> that class
    for all; a sequence / tensor of n labels -> those, range-checked."""
    if y is None:
        return torch.arange(n) % model.num_classes if model.conditional else None
    if isinstance(y, (int, str, np.integer)):
        return torch.full((n,), class_index(model, y if isinstance(y, str) else int(y)), dtype=torch.long)
    labels = torch.as_tensor(y).long().reshape(-1)
    if len(labels) != n:
        raise UserError(f"{len(labels)} labels given for {n} samples; give one label per sample or a single class")
    for c in labels.unique().tolist():
        class_index(model, c)
    return labels


def grid_labels(model: LoadedModel, per_class: int) -> Tensor:
    """The labels of `class_grid`: [0] * per_class + [1] * per_class + ... + [K - 1] * per_class."""
    return torch.arange(model.num_classes).repeat_interleave(per_class)


def _needs_classes(model: LoadedModel, what: str) -> None:
    if not model.conditional:
        able = families_that(lambda f: f.can_condition)
        raise UserError(
            f"{what} needs a class-conditional model ({', '.join(able)}); "
            f"this {model.family.name} model is unconditional"
        )


# --- samples ------------------------------------------------------------------------------------------
@torch.no_grad()
def generate(
    model: LoadedModel, z: Tensor, y: Tensor | None = None, batch_size: int = 256, *, psi: float | None = None
) -> Tensor:
    """G(z, y) in batches, on the CPU: images [N, C, H, W] in [-1, 1] or points [N, D]. psi: the
    truncation in W of a family that truncates there."""
    out = []
    kw = {} if psi is None else {"psi": psi}
    for i in range(0, len(z), batch_size):
        yb = None if y is None else y[i : i + batch_size].to(model.device)
        out.append(model.generator(z[i : i + batch_size].to(model.device), yb, **kw).float().cpu())
    return torch.cat(out) if out else torch.empty(0, *model.data_shape)


def require_noise_model(model: LoadedModel) -> None:
    """A UserError for a model whose family translates images, or scores them, instead of sampling from noise."""
    if model.family.detects:
        raise UserError(
            f"this {model.family.name} model scores images for anomalies and does not sample "
            "from noise; use 'ganforge detect' (GanModel.detect)"
        )
    if model.family.directions:
        raise UserError(
            f"this {model.family.name} model translates images and does not sample "
            "from noise; use 'ganforge translate' (GanModel.translate)"
        )


def _check_samples(model: LoadedModel, n: int) -> None:
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    require_noise_model(model)


def sample(
    model: LoadedModel, n: int, seed: int = 0, batch_size: int = 256, *, y=None, truncation: float | None = None
) -> Tensor:
    """n samples, reproducible from `seed` alone (independent of batch_size). Conditional models:
    y = a class index or name for all samples, n labels, or None for classes 0..K-1 in turn; an
    unconditional model takes no y. truncation: the truncation trick of the model's family."""
    _check_samples(model, n)
    labels = labels_for(model, n, y)  # None for unconditional models
    z, psi = truncated_latents(model, n, seed, truncation)
    return generate(model, z, labels, batch_size=batch_size, psi=psi)


def _chunk_rows(batch_size: int) -> int:
    """Rows per piece: a multiple of G's batch (the same batches as `sample`, so the same numbers)
    and of 16 (`latent_chunks`)."""
    return math.lcm(batch_size, 16)


def label_chunks(model: LoadedModel, n: int, y, rows: int) -> Iterator[Tensor | None]:
    """`labels_for(model, n, y)` in the pieces of `piece_bounds`; None pieces when unconditional."""
    given = y is not None and not isinstance(y, (int, str, np.integer))
    full = labels_for(model, n, y) if given else None  # labels the caller gave: already in memory
    if not given:
        labels_for(model, 1, y)  # refuses a class for an unconditional model, an unknown class
    for start, stop in piece_bounds(n, rows, model.z_dim):
        if full is not None:
            yield full[start:stop]
        elif y is None:
            yield torch.arange(start, stop) % model.num_classes if model.conditional else None
        else:
            yield labels_for(model, stop - start, y)


def sample_batches(
    model: LoadedModel, n: int, seed: int = 0, batch_size: int = 256, *, y=None, truncation: float | None = None
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """`sample(model, n, seed, ...)` a piece at a time: (samples, labels or None) pieces whose
    concatenation is bit for bit what `sample` returns (same latents, same G batches), holding one
    piece in memory rather than n samples. Truncation in Z re-samples latents across the whole draw,
    so that case holds all n latents (n x z_dim floats), still not the samples."""
    _check_samples(model, n)
    rows = _chunk_rows(batch_size)
    labels = label_chunks(model, n, y, rows)
    if truncation is not None and model.family.truncation == "z":
        z_all, psi = truncated_latents(model, n, seed, truncation)
        z_pieces: Iterator[Tensor] = (z_all[a:b] for a, b in piece_bounds(n, rows, model.z_dim))
    else:
        psi = None if truncation is None else truncated_latents(model, 1, seed, truncation)[1]  # psi in W, checked
        z_pieces = latent_chunks(model, n, seed, rows)
    for z, yb in zip(z_pieces, labels, strict=True):
        yield generate(model, z, yb, batch_size=batch_size, psi=psi), yb


def write_samples(
    model: LoadedModel,
    path: Path,
    n: int,
    seed: int = 0,
    *,
    y=None,
    truncation: float | None = None,
    overwrite: bool = False,
    batch_size: int = 256,
) -> dict:
    """`sample(model, n, seed, y=y, truncation=truncation)` into the .npz `path`, streamed: `images`
    uint8 [N, H, W, C] (or `points` float32 [N, D] for a 2-D model) and, for a conditional model,
    `labels` int64 [N] -- the arrays np.savez_compressed wrote of them, in memory one piece of
    `sample_batches` at a time, however large n. Written atomically; an existing file is kept unless
    `overwrite`."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise UserError(f"--out {path}: give a file name ending in .npz")
    refuse_overwrite(path, overwrite=overwrite)
    _check_samples(model, n)
    if model.kind == "image":
        c, h, w = model.data_shape
        name, shape, dtype, convert = "images", (n, h, w, c), np.uint8, to_uint8
    else:
        name, shape, dtype, convert = "points", (n, *model.data_shape), np.float32, lambda x: x.numpy()
    rows = _chunk_rows(batch_size)
    has_labels = next(label_chunks(model, n, y, rows)) is not None  # checks y before anything is drawn

    def write(tmp: Path) -> None:
        with NpzWriter(tmp) as npz:
            pieces = sample_batches(model, n, seed, batch_size, y=y, truncation=truncation)
            npz.write(name, shape, dtype, (convert(x) for x, _ in pieces))
            if has_labels:  # labels are cheap to derive again: no need to keep them from the first pass
                npz.write("labels", (n,), np.int64, (lb.numpy() for lb in label_chunks(model, n, y, rows)))

    atomic_write(path, write)
    return {"path": str(path), "count": n, "array": name, "shape": list(shape[1:]), "labels": has_labels}


def class_grid(model: LoadedModel, per_class: int = 10, seed: int = 0, truncation: float | None = None) -> Tensor:
    """One row per class, `per_class` columns; column j uses the same z in every row, so a change
    from row to row is the label's doing. [K * per_class, C, H, W]."""
    if per_class < 1:
        raise UserError(f"--n {per_class}: at least one sample per class")
    _needs_classes(model, "a per-class grid")
    z, psi = truncated_latents(model, per_class, seed, truncation)
    return generate(
        model, z.repeat(model.num_classes, 1), grid_labels(model, per_class), psi=psi
    )  # [K * per_class, ...]


def sampler(model: LoadedModel) -> Callable[[int, int], Tensor | tuple[Tensor, Tensor]]:
    """`sample(b, seed)` for evaluation (ganforge.metrics): b images from `seed`, and for a
    conditional model their labels too, balanced (label of row i = i % classes)."""
    if model.conditional:

        def sample_with_labels(b: int, s: int) -> tuple[Tensor, Tensor]:
            y = torch.arange(b) % model.num_classes
            return generate(model, latents(model, b, s), y), y

        return sample_with_labels
    return lambda b, s: sample(model, b, seed=s)


# --- synthetic data sets ------------------------------------------------------------------------------
def write_synthetic(
    model: LoadedModel,
    path: Path,
    per_class: int,
    seed: int = 0,
    truncation: float | None = None,
    overwrite: bool = False,
    batch_size: int = 256,
) -> dict:
    """Write `per_class` samples of every class to `path` (.npz): images uint8 [N, H, W, C] (the
    layout of ganforge's .npz files), labels int64 [N], classes (their names). Written atomically;
    an existing file is kept unless `overwrite`."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise UserError(f"--out {path}: give a file name ending in .npz")
    refuse_overwrite(path, overwrite=overwrite)
    if per_class < 1:
        raise UserError(f"--per-class {per_class}: at least 1")
    _needs_classes(model, "a labelled data set")
    if model.kind != "image":
        raise UserError("synthetic data sets are written for image models only")
    k = model.num_classes
    n = k * per_class
    y = grid_labels(model, per_class)  # [N]: class-sorted
    names = np.array(list(model.classes) or [str(i) for i in range(k)], dtype=str)
    c, h, w = model.data_shape

    def write(tmp: Path) -> None:  # streamed: one piece of `sample_batches` in memory at a time
        with NpzWriter(tmp) as npz:
            pieces = sample_batches(model, n, seed, batch_size, y=y, truncation=truncation)
            npz.write("images", (n, h, w, c), np.uint8, (to_uint8(x) for x, _ in pieces))
            npz.write("labels", (n,), np.int64, [y.numpy()])
            npz.write("classes", names.shape, names.dtype, [names])

    atomic_write(path, write)
    return {"path": str(path), "count": n, "classes": k, "shape": [h, w, c]}


__all__ = [
    "check_psi",
    "class_grid",
    "class_index",
    "generate",
    "grid_labels",
    "label_chunks",
    "labels_for",
    "latent_chunks",
    "latents",
    "piece_bounds",
    "sample",
    "sample_batches",
    "sampler",
    "truncated_latents",
    "truncated_normal",
    "write_samples",
    "write_synthetic",
]
