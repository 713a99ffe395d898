"""Editing an image along an ordered attribute with its identity kept: Age-cGAN (Antipov et al. 2017)
for a family that edits (`Family.edits`).

    1. z0 = E(x)                                  the encoder's estimate (sec. 3.2)
    2. the source group y0: the one given, else the group whose reconstruction G(z0, g) is nearest
       to x in the identity features
    3. z* = argmin_z ||F(x) - F(G(z, y0))||^2     the identity-preserving latent optimisation
       from z0 (sec. 3.3; Adam on z, the best z of each image kept; F = model.identity's extractor,
       ganforge's LeNet for digits, in place of the paper's face recogniser); steps=0 skips it
    4. G(z*, y) for each target group y

    edit(model, x, to, ...) -> Edit             images [N, C, H, W] in [-1, 1]
    group_index(model, value)                    a group by index or name, range-checked
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.metrics.extractors import check_images, differentiable_features


@dataclass
class Edit:
    outputs: Tensor  # [N, T, C, H, W]: image n edited to target group t
    targets: list[int]  # the T target groups
    source: Tensor  # [N] the source group of each image
    z: Tensor  # [N, z_dim] the latent used (after the optimisation when it ran)
    reconstruction: Tensor  # [N, C, H, W] G(z, source)
    identity_distance: Tensor  # [N] ||F(x) - F(reconstruction)||^2
    encoder_distance: Tensor  # [N] the same for z0 = E(x), before the optimisation


def check_editor(model: LoadedModel) -> None:
    if not model.family.edits:
        able = ", ".join(families_that(lambda f: f.edits))
        raise UserError(f"a {model.family.name} model does not edit images along an attribute; use one of: {able}")


def group_index(model: LoadedModel, value: int | str) -> int:
    """A group by index ('2', 2) or name ('thick', '30-39') -> its index; out of range: UserError."""
    names = list(model.classes)
    k = model.num_classes
    listing = f"0 to {k - 1}" + (f" ({', '.join(names)})" if names else "")
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        if value in names:
            return names.index(value)
        raise UserError(f"unknown group {value!r}; this model's groups are {listing}")
    i = int(value)
    if not 0 <= i < k:
        raise UserError(f"group {i} is out of range: this model has {k} groups, {listing}")
    return i


def identity_features(model: LoadedModel) -> Callable[[Tensor], Tensor]:
    return differentiable_features(model.config.model.identity)


def feature_distance(features: Callable[[Tensor], Tensor], a: Tensor, b: Tensor) -> Tensor:
    """[N] squared distances between the identity features of a and b."""
    return (features(a) - features(b)).square().sum(1)


@torch.no_grad()
def encode(model: LoadedModel, x: Tensor) -> Tensor:
    return model.networks["E"](x.to(model.device)).float()


def nearest_group(model: LoadedModel, x: Tensor, z: Tensor, features) -> Tensor:
    """[N] the group g minimising the identity distance between x and G(z, g)."""
    G = model.networks["G"]
    with torch.no_grad():
        d = torch.stack(
            [
                feature_distance(features, x, G(z, torch.full((len(x),), g, device=x.device)))
                for g in range(model.num_classes)
            ],
            1,
        )  # [N, K]
    return d.argmin(1)


def optimise_latent(
    model: LoadedModel, x: Tensor, y: Tensor, z0: Tensor, features, steps: int = 100, lr: float = 0.05
) -> tuple[Tensor, Tensor]:
    """(z* [N, z_dim], its distance [N]): Adam on z from z0 minimising ||F(x) - F(G(z, y))||^2, each image's
    best z kept. The images are independent (the loss is their sum); G's weights are not touched."""
    G = model.networks["G"]
    target = features(x).detach()
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    with torch.no_grad():
        best_d = (features(G(z0, y)) - target).square().sum(1)
    best_z = z0.clone()
    for _ in range(steps):
        with torch.enable_grad():
            d = (features(G(z, y)) - target).square().sum(1)  # [N]
            (grad,) = torch.autograd.grad(d.sum(), z)
        with torch.no_grad():
            better = d < best_d
            best_z[better], best_d[better] = z[better], d[better]
        opt.zero_grad(set_to_none=True)
        z.grad = grad
        opt.step()
    with torch.no_grad():
        d = (features(G(z, y)) - target).square().sum(1)
        better = d < best_d
        best_z[better], best_d[better] = z[better].detach(), d[better]
    return best_z.detach(), best_d


def edit(
    model: LoadedModel,
    x: Tensor,
    to: int | str | Sequence[int | str] | None = None,
    *,
    source: int | str | None = None,
    steps: int = 100,
    lr: float = 0.05,
) -> Edit:
    """Images x [N, C, H, W] in [-1, 1] edited to each group of `to` (None: every group, a strip)."""
    check_editor(model)
    x = check_images(x, "images").to(model.device)
    if tuple(x.shape[1:]) != tuple(model.data_shape):
        raise UserError(f"images of shape {list(x.shape[1:])}; this model edits {list(model.data_shape)}")
    if steps < 0:
        raise UserError(f"--steps {steps}: give 0 (no latent optimisation) or more")
    if to is None:
        targets = list(range(model.num_classes))
    else:
        targets = [group_index(model, t) for t in ([to] if isinstance(to, (int, str)) else to)]
    features = identity_features(model)
    G = model.networks["G"]
    z0 = encode(model, x)
    if source is None:
        y0 = nearest_group(model, x, z0, features)
    else:
        y0 = torch.full((len(x),), group_index(model, source), device=x.device)
    with torch.no_grad():
        d0 = feature_distance(features, x, G(z0, y0))
    z, d = optimise_latent(model, x, y0, z0, features, steps, lr) if steps else (z0, d0)
    with torch.no_grad():
        recon = G(z, y0)
        outs = torch.stack([G(z, torch.full_like(y0, t)) for t in targets], 1)  # [N, T, C, H, W]
    return Edit(outs.float().cpu(), targets, y0.cpu(), z.cpu(), recon.float().cpu(), d.cpu(), d0.cpu())
