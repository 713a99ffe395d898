"""Perceptual path length (Karras et al. 2019, sec. 4.2) of a style-based generator: how much the
image changes, in feature space, per small step along a latent path.

    perceptual_path_length(model, space="w")    {"ppl": mean, "ppl_median": ..., "n": pairs kept}
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.inference.styles import default_extractor, map_z, style_device, style_generator, style_labels
from ganforge.metrics.extractors import get_extractor


def slerp_directions(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between the directions of a and b [N, D] at t [N, 1] (unit length out);
    the right path in Z, where z ~ N(0, I) is (after pixel norm) a point on a sphere. The slerp of
    interpolation strips keeps the norms instead: inference.interpolation.slerp_path."""
    a = a / a.norm(dim=1, keepdim=True)
    b = b / b.norm(dim=1, keepdim=True)
    d = (a * b).sum(1, keepdim=True).clamp(-1.0, 1.0)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=1, keepdim=True).clamp_min(1e-12)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=1, keepdim=True)


@torch.no_grad()
def perceptual_path_length(
    model,
    space: str = "w",
    n: int = 2000,
    eps: float = 1e-4,
    extractor=None,
    seed: int = 0,
    batch_size: int = 200,
    label: int | None = None,
) -> dict[str, float]:
    """Perceptual path length (Karras et al. 2019, sec. 4.2, "full" paths) of a loaded model with
    per-layer styles, or of its generator: for random pairs and t ~ U[0, 1], the distance between
    the images at t and t + eps along the path, divided by eps^2; paths are slerp in Z (space="z")
    or lerp in W (space="w"); the mean after dropping values outside the 1st and 99th percentiles.

    The distance differs from the original's LPIPS on VGG16 (5 layers, learned weights, on face
    crops): here it is the squared L2 distance between unit-normalised features of ganforge's LeNet
    (128-d fc features of 28x28 grey images; `extractor`, default lenet-mnist or lenet-fashion by the
    model's data), the normalisation LPIPS applies per layer. Values are therefore comparable between
    models scored with the same extractor, not with published PPL. Noise inputs are constant.
    Returns {"ppl": mean, "ppl_median": ..., "n": pairs kept}."""
    G = style_generator(model)
    if space not in ("z", "w"):
        raise UserError(f"space={space!r}: choose z or w")
    if n < 2 or eps <= 0 or batch_size < 1:
        raise UserError(f"PPL needs n >= 2 pairs, eps > 0 and batch_size >= 1 (got {n}, {eps}, {batch_size})")
    ext = get_extractor(extractor or default_extractor(model))
    dev = style_device(G)
    gen = torch.Generator().manual_seed(seed)
    y_all = style_labels(G, n, label)
    dist = []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        z0, z1 = torch.randn(b, G.z_dim, generator=gen), torch.randn(b, G.z_dim, generator=gen)
        t = torch.rand(b, 1, generator=gen)
        y = None if y_all is None else y_all[i : i + b].repeat(2).to(dev)
        if space == "z":
            zs = torch.cat([slerp_directions(z0, z1, t), slerp_directions(z0, z1, t + eps)]).to(dev)  # [2b, z_dim]
            w = map_z(G, zs, y)
        else:
            w0, w1 = map_z(G, torch.cat([z0, z0]).to(dev), y), map_z(G, torch.cat([z1, z1]).to(dev), y)
            tt = torch.cat([t, t + eps]).to(dev)  # [2b, 1]
            w = w0.lerp(w1, tt)
        img = G.synthesis(G.broadcast(w), noise_mode="const").float().cpu().clamp(-1, 1)  # [2b, C, H, W]
        f = ext(img).features.double()
        f = f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)
        dist.append(((f[:b] - f[b:]).square().sum(1) / eps**2).numpy())
    d = np.concatenate(dist)
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    kept = d[(d >= lo) & (d <= hi)]
    return {"ppl": float(kept.mean()), "ppl_median": float(np.median(kept)), "n": int(len(kept))}


__all__ = ["perceptual_path_length", "slerp_directions"]
