"""What a style-based generator (a family with `styles`: a mapping network z -> w and one w input per
synthesis layer) can do beyond G(z): truncation in W, style mixing, and projection of an image into
W (GAN inversion).

Every function takes a loaded model (`ganforge.load(run)`) or the generator itself, never changes its
weights, and draws its randomness from its own seeded generator, so results are a function of the
arguments alone. Images are [N, C, H, W], clamped to [-1, 1] (the synthesis output is not squashed;
projection optimises the raw output).

    sample_truncated(model, 16, seed=0, psi=0.7)          truncation trick (Karras et al. 2019, sec. 4)
    style_mixing_grid(model, [1, 2, 3], [4, 5], crossover=4)
    project(model, target)                                 -> Projection(w, ws, image, psnr, losses)
    project_image(model, "digit.png", "out/")              the same from / to files (`ganforge project`)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.data.folders import read_image
from ganforge.errors import UserError
from ganforge.inference.model import families_that
from ganforge.inference.sampling import check_psi
from ganforge.io import atomic_write, refuse_overwrite, save_grid
from ganforge.metrics.extractors import differentiable_features, extractor_for_data
from ganforge.metrics.image import psnr

# what a style-based generator offers: mapping(z, y) -> w [N, w_dim]; broadcast(w) -> ws [N, num_ws, w_dim];
# truncate(ws, psi, cutoff); mix(ws_a, ws_b, crossover); synthesis(ws, noise_mode=)
STYLE_INTERFACE = ("mapping", "synthesis", "broadcast", "truncate", "mix", "num_ws", "z_dim")


# --- inputs ---------------------------------------------------------------------------------------
def style_generator(model) -> nn.Module:
    """The style-based generator of a loaded model (its EMA weights when saved) or the generator itself."""
    family = getattr(model, "family", None)
    able = " or ".join(families_that(lambda f: f.styles))
    if family is not None and not family.styles:
        raise UserError(f"this needs a model with per-layer styles (model.family={able}), not {family.name}")
    G = getattr(model, "generator", model)
    G = getattr(G, "module", G)  # a Fabric-wrapped network
    if not all(hasattr(G, a) for a in STYLE_INTERFACE):
        raise UserError(f"this needs a model with per-layer styles (model.family={able}), not {type(G).__name__}")
    return G


def style_device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


def style_labels(G: nn.Module, n: int, label: int | None) -> Tensor | None:
    """Labels for a conditional G: `label` for every row, or balanced rows (row i: class i % classes)."""
    if not G.conditional:
        if label is not None:
            raise UserError(f"label {label}: this StyleGAN is unconditional and takes no class; drop --label")
        return None
    if label is not None:
        if not 0 <= label < G.num_classes:
            raise UserError(f"label {label} is not a class of this model (0 to {G.num_classes - 1})")
        return torch.full((n,), label, dtype=torch.long)
    return torch.arange(n) % G.num_classes


def seeded_z(G: nn.Module, seeds, device) -> Tensor:
    """One z per seed, each from its own generator (as `sampling.latents`): [len(seeds), z_dim]."""
    return torch.cat([torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]).to(
        device
    )


def map_z(G: nn.Module, z: Tensor, y: Tensor | None) -> Tensor:
    """w [N, w_dim] = G.mapping(z, y)."""
    return G.mapping(z, None if y is None else y.to(z.device))


def default_extractor(model) -> str:
    """ganforge's LeNet trained on the model's data: lenet-fashion for Fashion-MNIST, else lenet-mnist."""
    name = getattr(getattr(getattr(model, "config", None), "data", None), "name", "")
    return extractor_for_data(name)


# --- sampling -------------------------------------------------------------------------------------
@torch.no_grad()
def sample_truncated(
    model,
    n: int,
    seed: int = 0,
    psi: float = 0.7,
    cutoff: int | None = None,
    label: int | None = None,
    batch_size: int = 256,
) -> Tensor:
    """n images with the truncation trick: w <- w_avg + psi (w - w_avg) on the first `cutoff` layers
    (None: all). psi = 1 is plain sampling, psi = 0 gives the "average" image for every z. The z are
    those of `sample(model, n, seed)`, so psi = 1 reproduces it."""
    G = style_generator(model)
    psi = check_psi(psi)
    if n < 1:
        raise UserError(f"n must be at least 1, got {n}")
    if cutoff is not None and not 1 <= cutoff <= G.num_ws:
        raise UserError(f"truncation cutoff {cutoff}: choose 1 to {G.num_ws} (the number of style inputs)")
    dev = style_device(G)
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(dev)
    y = style_labels(G, n, label)
    out = []
    for i in range(0, n, batch_size):
        yb = None if y is None else y[i : i + batch_size].to(dev)
        ws = G.truncate(G.broadcast(map_z(G, z[i : i + batch_size], yb)), psi, cutoff)
        out.append(G.synthesis(ws, noise_mode="const").float().cpu().clamp(-1, 1))
    return torch.cat(out)


@torch.no_grad()
def style_mixing_grid(
    model, row_seeds, col_seeds, crossover: int, psi: float = 1.0, label: int | None = None
) -> tuple[Tensor, int]:
    """The StyleGAN figure 3 grid: row i, column j is coarse styles (the ws before `crossover`) from
    row_seeds[i] and fine styles (from `crossover` on) from col_seeds[j]. The first row shows the
    column sources, the first column the row sources; the corner is blank.
    Returns (images [(R + 1) (C + 1), C, H, W], images per row = C + 1) for `save_grid(..., nrow=)`."""
    G = style_generator(model)
    if not 1 <= crossover < G.num_ws:
        raise UserError(f"crossover {crossover}: choose 1 to {G.num_ws - 1} (layers before it take the row's styles)")
    rows, cols = list(row_seeds), list(col_seeds)
    if not rows or not cols:
        raise UserError("style mixing needs at least one row seed and one column seed")
    dev = style_device(G)
    y = style_labels(G, 1, label)
    y1 = None if y is None else y.expand(len(rows) + len(cols))
    w = G.truncate(map_z(G, seeded_z(G, rows + cols, dev), y1), psi)  # [R + C, w_dim]
    w_rows, w_cols = w[: len(rows)], w[len(rows) :]
    synth = lambda ws: G.synthesis(ws, noise_mode="const").float().cpu().clamp(-1, 1)  # noqa: E731
    row_img, col_img = synth(G.broadcast(w_rows)), synth(G.broadcast(w_cols))
    tiles = [torch.full_like(row_img[0], -1.0)] + list(col_img)
    for i in range(len(rows)):
        a = G.broadcast(w_rows[i : i + 1].expand(len(cols), -1))  # [C, num_ws, w_dim]
        mixed = synth(G.mix(a, G.broadcast(w_cols), crossover))
        tiles += [row_img[i]] + list(mixed)
    return torch.stack(tiles), len(cols) + 1


# --- projection -----------------------------------------------------------------------------------
@dataclass
class Projection:
    w: Tensor  # [1, w_dim] (one w for every layer) or [num_ws, w_dim] (W+)
    ws: Tensor  # [num_ws, w_dim]: what each synthesis layer reads
    image: Tensor  # [C, H, W], the reconstruction G.synthesis(ws)
    target: Tensor  # [C, H, W], the image projected
    psnr: float  # of image against target, on the [0, 1] pixel scale
    losses: list[float] = field(default_factory=list)  # the objective per step


def project(
    model,
    target: Tensor,
    *,
    steps: int = 300,
    lr: float = 0.1,
    wplus: bool = False,
    feature_weight: float = 1.0,
    extractor=None,
    label: int | None = None,
    seed: int = 0,
    w_avg_samples: int = 2000,
) -> Projection:
    """Find w (or, with `wplus`, one w per layer: W+, Abdal et al. 2019) whose image matches `target`
    [C, H, W] or [1, C, H, W] in [-1, 1].

    Loss: mean squared pixel error + feature_weight * ||f(G(w)) - f(target)||^2 / ||f(target)||^2,
    f = ganforge's LeNet features (`extractor`; None: lenet-fashion for Fashion-MNIST models, else
    lenet-mnist), in place of the VGG16 / LPIPS distance of StyleGAN2's projector (Karras et al. 2020,
    appendix D). As there, w starts at the mean of `w_avg_samples` mapped z; Adam with the learning
    rate ramped up over the first 5% of the steps and down (cosine) over the last 25%; Gaussian
    noise on w, std 0.05 x the spread of w, decaying to 0 at 75% of the steps, to escape poor local
    minima. Noise inputs stay at their constant images (the official projector optimises them too)."""
    G = style_generator(model)
    dev = style_device(G)
    t = target.detach().float()
    t = t[None] if t.ndim == 3 else t
    exp = (1, G.synthesis.channels, G.synthesis.resolution, G.synthesis.resolution)
    if t.ndim != 4 or tuple(t.shape) != exp:
        raise UserError(
            f"the target must be one image of shape {list(exp[1:])} (the model's), got {list(target.shape)}"
        )
    if steps < 1 or lr <= 0 or feature_weight < 0:
        raise UserError(
            f"projection needs steps >= 1, lr > 0 and feature_weight >= 0 (got {steps}, {lr}, {feature_weight})"
        )
    t = t.to(dev)
    gen = torch.Generator().manual_seed(seed)
    y = style_labels(G, 1, label)
    if G.conditional and label is None:
        raise UserError("this StyleGAN is class-conditional: give the target's class (--label)")
    y = None if y is None else y.to(dev)
    feats = None
    if feature_weight > 0:
        feats = differentiable_features(extractor or default_extractor(model))
        with torch.no_grad():
            f_target = feats(t)
            f_norm = f_target.square().sum().clamp_min(1e-8)
    with torch.no_grad():  # where W lives: its mean and spread
        z = torch.randn(w_avg_samples, G.z_dim, generator=gen).to(dev)
        w_all = map_z(G, z, None if y is None else y.expand(w_avg_samples))  # [S, w_dim]
        w_mean = w_all.mean(0, keepdim=True)  # [1, w_dim]
        w_std = float(((w_all - w_mean).square().sum(1).mean()).sqrt())
    w = (w_mean.repeat(G.num_ws, 1) if wplus else w_mean).clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr, betas=(0.9, 0.999))
    was_training = G.training
    G.eval()
    params = [p for p in G.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)  # only w is optimised
    losses = []
    try:
        for step in range(steps):
            frac = step / steps
            noise_scale = w_std * 0.05 * max(0.0, 1.0 - frac / 0.75) ** 2
            ramp = min(1.0, (1.0 - frac) / 0.25)
            ramp = (0.5 - 0.5 * math.cos(ramp * math.pi)) * min(1.0, (step + 1) / (0.05 * steps))
            for group in opt.param_groups:
                group["lr"] = lr * ramp
            w_noisy = w + torch.randn(w.shape, generator=gen).to(dev) * noise_scale
            ws = w_noisy[None].expand(1, G.num_ws, -1) if not wplus else w_noisy[None]  # [1, num_ws, w_dim]
            img = G.synthesis(ws, noise_mode="const")  # [1, C, H, W]
            loss = F.mse_loss(img, t)
            if feats is not None:
                loss = loss + feature_weight * (feats(img) - f_target).square().sum() / f_norm
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)
        G.train(was_training)
    with torch.no_grad():
        ws = (w.expand(G.num_ws, -1) if not wplus else w).detach()  # [num_ws, w_dim]
        image = G.synthesis(ws[None], noise_mode="const")[0].float()
        score = float(psnr(image.clamp(-1, 1)[None].cpu(), t.cpu()))
    return Projection(w=w.detach().cpu(), ws=ws.cpu(), image=image.cpu(), target=t[0].cpu(), psnr=score, losses=losses)


def load_target(model, path: Path) -> Tensor:
    """An image file as the model's input: grey or RGB like the model, centre-cropped, resized, [C, H, W]."""
    G = style_generator(model)
    if not Path(path).is_file():
        raise UserError(f"{path}: no such image file")
    arr = read_image(Path(path), G.synthesis.resolution, G.synthesis.channels)  # uint8 [H, W, C]
    return torch.from_numpy(np.array(arr)).permute(2, 0, 1).float().div(127.5).sub(1)


def project_image(model, image: str | Path, out_dir: str | Path, *, overwrite: bool = False, **kwargs) -> dict:
    """`project` an image file and write into out_dir: projected_w.npz (w, ws, psnr), reconstruction.png
    and comparison.png (target | reconstruction). Returns {"projection": Projection, paths..., "psnr"}."""
    out = Path(out_dir)
    files = {
        "w": out / "projected_w.npz",
        "reconstruction": out / "reconstruction.png",
        "comparison": out / "comparison.png",
    }
    refuse_overwrite(*files.values(), overwrite=overwrite)
    target = load_target(model, Path(image))
    result = project(model, target, **kwargs)
    atomic_write(
        files["w"],
        lambda tmp: np.savez(
            tmp,
            w=result.w.numpy(),
            ws=result.ws.numpy(),
            psnr=np.float64(result.psnr),
            wplus=np.bool_(len(result.w) > 1),
        ),
    )
    save_grid(result.image[None], files["reconstruction"], nrow=1)
    save_grid(torch.stack([result.target, result.image]), files["comparison"], nrow=2)
    return {"projection": result, "psnr": result.psnr, **{k: str(v) for k, v in files.items()}}


__all__ = [
    "Projection",
    "STYLE_INTERFACE",
    "default_extractor",
    "load_target",
    "map_z",
    "project",
    "project_image",
    "sample_truncated",
    "seeded_z",
    "style_device",
    "style_generator",
    "style_labels",
    "style_mixing_grid",
]
