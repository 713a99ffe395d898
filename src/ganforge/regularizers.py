"""Regularisers of the discriminator (and generator) as pure functions.

The adversarial losses in `ganforge.losses` read only logits; the penalties here need D itself,
because they are about D's gradient with respect to its input. Each registered D penalty has one
signature, `penalty(D, *, real, fake, y=None) -> scalar`, and is the term per unit weight, so the
objective adds `weight * penalty(...)` for every weight set in `cfg.loss`:

    name   weight            term (x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] per sample)
    gp     lambda  (10)      E (||grad D(x_hat)||_2 - 1)^2     Gulrajani et al. 2017, WGAN-GP
    r1     gamma             1/2 E ||grad D(x)||_2^2           Mescheder et al. 2018, on real data
    r2     gamma             1/2 E ||grad D(G(z))||_2^2        Mescheder et al. 2018, on fakes

Not registered because they act on weights, not on D's input: `orthogonal_penalty` (BigGAN's
off-diagonal orthogonality, Brock et al. 2019) and `clip_weights_` (WGAN weight clipping, Arjovsky
et al. 2017), which is a projection applied after an optimiser step, not a loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ganforge.registry import Registry

REGULARIZERS: Registry[Callable[..., Tensor]] = Registry("regularizer")


def input_gradients(D: Callable[..., Tensor], x: Tensor, y: Tensor | None = None) -> Tensor:
    """d(sum of D's logits)/dx with the graph kept (so a penalty on it trains D): [N, ...] like x.

    Summing the logits is exact per sample because each logit depends only on its own input --
    true for every D without batch-coupling layers. With PacGAN packing a logit depends on its m
    packed samples and each sample's gradient is that of its pack's logit; with BatchNorm or a
    minibatch-stddev layer the coupling is weak and, as in the papers, ignored."""
    x = x.detach().requires_grad_(True)
    logits = D(x) if y is None else D(x, y)
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def gradient_penalty(
    D: Callable[..., Tensor],
    *,
    real: Tensor,
    fake: Tensor,
    y: Tensor | None = None,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1): E (||grad D(x_hat)|| - target)^2 on random
    interpolates x_hat between paired real and fake samples."""
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient penalty needs real and fake batches of one shape, got {list(real.shape)} and {list(fake.shape)}"
        )
    eps = torch.rand(
        len(real), *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype, generator=generator
    )  # [N, 1, 1, 1]: one mixing weight per sample
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    norms = input_gradients(D, x_hat, y).flatten(1).norm(dim=1)  # [N]
    return (norms - target).square().mean()


def r1_penalty(
    D: Callable[..., Tensor], *, real: Tensor, fake: Tensor | None = None, y: Tensor | None = None
) -> Tensor:
    """R1 (Mescheder et al. 2018, eq. 9): 1/2 E ||grad D(x)||^2 on real data; times gamma outside."""
    return 0.5 * input_gradients(D, real, y).flatten(1).square().sum(1).mean()


def r2_penalty(
    D: Callable[..., Tensor], *, real: Tensor | None = None, fake: Tensor, y: Tensor | None = None
) -> Tensor:
    """R2 (Mescheder et al. 2018, eq. 10): 1/2 E ||grad D(G(z))||^2 on generated data."""
    return 0.5 * input_gradients(D, fake, y).flatten(1).square().sum(1).mean()


REGULARIZERS.register("gp", gradient_penalty, doc="WGAN-GP gradient penalty on interpolates (Gulrajani et al. 2017)")
REGULARIZERS.register("r1", r1_penalty, doc="R1: squared gradient norm on real data (Mescheder et al. 2018)")
REGULARIZERS.register("r2", r2_penalty, doc="R2: squared gradient norm on generated data (Mescheder et al. 2018)")


def weighted_penalties(
    D: Callable[..., Tensor], penalties: dict[str, float], *, real: Tensor, fake: Tensor, y: Tensor | None = None
) -> tuple[Tensor, dict[str, float]]:
    """sum(weight * penalty) over {name: weight} (names from REGULARIZERS), and each unweighted
    term for the logs as {'reg_<name>': value}."""
    total, logs = real.new_zeros(()), {}
    for name, weight in penalties.items():
        term = REGULARIZERS.get(name)(D, real=real, fake=fake, y=y)
        total = total + weight * term
        logs[f"reg_{name}"] = term.item()
    return total, logs


def weight_matrices(module: nn.Module) -> list[Tensor]:
    """Every trainable weight of rank >= 2 as a matrix [out, in * kh * kw] (biases and norm scales are
    left out, as in BigGAN). Under spectral norm this is the unnormalised `original` weight."""
    return [p.flatten(1) for name, p in module.named_parameters() if p.ndim >= 2]


def orthogonal_penalty(module: nn.Module) -> Tensor:
    """BigGAN's orthogonal regularisation (Brock et al. 2019, sec. 3.1):
    sum over weights W [out, in] of ||W W^T (.) (1 - I)||_F^2 -- only the off-diagonal inner products
    of the filters are pushed to 0, their norms are left free. Times beta (BigGAN: 1e-4) outside."""
    total = None
    for w in weight_matrices(module):
        gram = w @ w.t()  # [out, out]
        off = gram - torch.diag_embed(torch.diagonal(gram))  # (1 - I) mask: zero the diagonal
        term = off.square().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("orthogonal_penalty: the module has no weight matrices")
    return total


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> None:
    """WGAN (Arjovsky et al. 2017, Algorithm 1): clamp every parameter of the critic to [-c, c]
    after each critic update, a crude way to keep it K-Lipschitz."""
    for p in module.parameters():
        p.clamp_(-c, c)
