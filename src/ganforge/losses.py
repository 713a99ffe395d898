"""Adversarial losses as pure functions of discriminator logits.

Sign convention, used everywhere in ganforge: D's logit is HIGH FOR REAL. Every function takes
keyword-only `real=` / `fake=` logits (any shape; reduced by mean) and returns a scalar to
minimise. A loss is a pair (`d`, `g`) registered under one name in `LOSSES`.

    name            D minimises                                   G minimises
    minimax         -log s(r) - log(1 - s(f))                     log(1 - s(f))
    nonsaturating   -log s(r) - log(1 - s(f))                     -log s(f)
    lsgan           (r - 1)^2 / 2 + f^2 / 2                       (f - 1)^2 / 2
    hinge           max(0, 1 - r) + max(0, 1 + f)                 -f
    wasserstein     f - r                                         -f
    ragan           -log s(r - E f) - log(1 - s(f - E r))         -log s(f - E r) - log(1 - s(r - E f))

(s = sigmoid, r / f = D's logits on real / fake, E = mean over the batch.) Regularisers that need
D itself rather than its logits (gradient penalty, R1, R2) live in `ganforge.regularizers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from ganforge.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    d: Callable[..., Tensor]  # d(*, real, fake) -> scalar
    g: Callable[..., Tensor]  # g(*, fake, real=None) -> scalar (real is used by relativistic losses)
    g_needs_real: bool = False  # g reads D(real) too: the objective then passes real=D(x_real) to g


LOSSES: Registry[AdversarialLoss] = Registry("loss")


# --- Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))) -------------------------
def minimax_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()  # -log(sigmoid(real)) - log(1 - sigmoid(fake))


def minimax_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return -F.softplus(fake).mean()  # log(1 - sigmoid(fake)), saturates when D wins


def nonsaturating_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return F.softplus(-fake).mean()  # -log(sigmoid(fake))


LOSSES.register(
    "minimax", AdversarialLoss(d=minimax_d, g=minimax_g), doc="Original minimax GAN loss (Goodfellow et al. 2014)"
)
LOSSES.register(
    "nonsaturating",
    AdversarialLoss(d=minimax_d, g=nonsaturating_g),
    doc="Non-saturating GAN loss: G maximises log D(G(z))",
)


# --- Mao et al. 2017, "Least Squares Generative Adversarial Networks": the a=0, b=1, c=1 coding ---
def lsgan_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * (real - 1).square().mean() + 0.5 * fake.square().mean()  # (r - 1)^2 / 2 + f^2 / 2


def lsgan_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return 0.5 * (fake - 1).square().mean()  # (f - 1)^2 / 2


# --- hinge loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018 use it with spectral norm) ---
def hinge_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()  # max(0, 1 - r) + max(0, 1 + f)


def wasserstein_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return -fake.mean()  # -f: G raises the critic's score


# --- Arjovsky et al. 2017, "Wasserstein GAN": the critic estimates E r - E f (Lipschitz through
# clipping or a gradient penalty, which this loss alone does not impose) ---
def wasserstein_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()  # f - r


# --- Jolicoeur-Martineau 2019, "The relativistic discriminator" (RaSGAN): D judges whether real
# data is more realistic than the average fake, and G the reverse, so G's loss also reads D(real) ---
def ragan_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return (
        F.softplus(-(real - fake.mean())).mean()  # -log s(r - E f)
        + F.softplus(fake - real.mean()).mean()
    )  # -log(1 - s(f - E r))


def ragan_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    if real is None:
        raise ValueError("the relativistic average loss needs real= logits in G's loss too")
    return (
        F.softplus(-(fake - real.mean())).mean()  # -log s(f - E r)
        + F.softplus(real - fake.mean()).mean()
    )  # -log(1 - s(r - E f))


LOSSES.register("lsgan", AdversarialLoss(d=lsgan_d, g=lsgan_g), doc="Least-squares GAN (Mao et al. 2017)")
LOSSES.register("hinge", AdversarialLoss(d=hinge_d, g=wasserstein_g), doc="Hinge loss (Lim & Ye 2017; SNGAN, BigGAN)")
LOSSES.register(
    "wasserstein",
    AdversarialLoss(d=wasserstein_d, g=wasserstein_g),
    doc="Wasserstein critic loss (Arjovsky et al. 2017); pair with clipping or a gradient penalty",
)
LOSSES.register(
    "ragan",
    AdversarialLoss(d=ragan_d, g=ragan_g, g_needs_real=True),
    doc="Relativistic average GAN, RaSGAN (Jolicoeur-Martineau 2019)",
)
