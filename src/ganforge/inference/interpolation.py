"""Walks through latent space: slerp strips between random z (any noise -> image family), and
straight lines in W (families with per-layer styles).

    interpolation(model, rows, steps)              rows of `steps` images along slerp paths between two z
    between_seeds(model, seed_a, seed_b, steps)    one slerp path from the sample of seed_a to that of seed_b
    interpolate_w(model, seed_a, seed_b, steps)    images along the line from w(seed_a) to w(seed_b)
"""

from __future__ import annotations

import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.inference.sampling import class_index, generate, labels_for, require_noise_model, truncated_latents
from ganforge.inference.styles import map_z, seeded_z, style_device, style_generator, style_labels


def slerp_path(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of a and b [R, D] at fractions t [S] -> [R, S, D]; the
    norm moves from |a| to |b| along the way (White 2016, "Sampling Generative Networks": Gaussian
    latents live near a sphere, and a straight line between two of them passes through unlikely,
    low-norm points). Perceptual path length walks unit directions instead: metrics.path_length."""
    a_n, b_n = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(1).clamp(-1 + 1e-7, 1 - 1e-7))[:, None, None]  # [R, 1, 1]
    t = t[None, :, None]  # [1, S, 1]
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a[:, None] + (torch.sin(t * omega) / so) * b[:, None]


def interpolation(
    model: LoadedModel,
    rows: int = 4,
    steps: int = 8,
    seed: int = 0,
    truncation: float | None = None,
    y: int | str | None = None,
) -> Tensor:
    """`rows` strips of `steps` images along slerp paths between two random z (row r of a conditional
    model keeps class y, or class r mod K). [rows * steps, C, H, W]."""
    if rows < 1 or steps < 2:
        raise UserError(f"--rows {rows} --steps {steps}: need at least 1 row and 2 steps")
    require_noise_model(model)
    ends, psi = truncated_latents(model, 2 * rows, seed, truncation)  # [2R, z]
    z = slerp_path(ends[:rows], ends[rows:], torch.linspace(0, 1, steps)).reshape(rows * steps, -1)
    if truncation is not None and psi is None:
        z = z.clamp(-truncation, truncation)  # slerp can overshoot the box a little; keep |z| <= psi
    labels = None
    if model.conditional:
        per_row = (
            torch.full((rows,), class_index(model, y)) if y is not None else torch.arange(rows) % model.num_classes
        )
        labels = per_row.repeat_interleave(steps)
    elif y is not None:
        class_index(model, y)  # raises: unconditional models take no class
    return generate(model, z, labels, psi=psi)


def between_seeds(
    model: LoadedModel,
    seed_a: int,
    seed_b: int,
    steps: int = 8,
    truncation: float | None = None,
    y: int | str | None = None,
) -> Tensor:
    """`steps` images along the slerp path from the z of `sample(model, 1, seed_a)` to that of
    `sample(model, 1, seed_b)`, so the ends are those two samples; a conditional model keeps class y
    (default 0) along the way. [steps, C, H, W]."""
    if steps < 2:
        raise UserError(f"interpolation needs at least 2 steps, got {steps}")
    require_noise_model(model)
    z_a, psi = truncated_latents(model, 1, seed_a, truncation)  # [1, z]
    z_b, _ = truncated_latents(model, 1, seed_b, truncation)
    z = slerp_path(z_a, z_b, torch.linspace(0, 1, steps))[0]  # [steps, z]
    if truncation is not None and psi is None:
        z = z.clamp(-truncation, truncation)  # as in `interpolation`: keep |z| <= psi
    labels = labels_for(model, steps, 0 if model.conditional and y is None else y)
    return generate(model, z, labels, psi=psi)


@torch.no_grad()
def interpolate_w(
    model, seed_a: int = 0, seed_b: int = 1, steps: int = 8, psi: float = 1.0, label: int | None = None
) -> Tensor:
    """Images along the straight line from w(seed_a) to w(seed_b) in W: [steps, C, H, W]."""
    G = style_generator(model)
    if steps < 2:
        raise UserError(f"interpolation needs at least 2 steps, got {steps}")
    y = style_labels(G, 1, label)  # conditional: both ends in one class (default 0)
    w = G.truncate(map_z(G, seeded_z(G, [seed_a, seed_b], style_device(G)), None if y is None else y.expand(2)), psi)
    t = torch.linspace(0, 1, steps, device=w.device)[:, None]  # [steps, 1]
    return G.synthesis(G.broadcast(w[:1].lerp(w[1:], t)), noise_mode="const").float().cpu().clamp(-1, 1)


__all__ = ["between_seeds", "interpolate_w", "interpolation", "slerp_path"]
