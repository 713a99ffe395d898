"""Adversarial losses as pure functions of discriminator logits.

Sign convention, used everywhere in ganforge: D's logit is HIGH FOR REAL. Every function takes
keyword-only `real=` / `fake=` logits (any shape; reduced by mean) and returns a scalar to
minimise. A loss is a pair (`d`, `g`) registered under one name in `LOSSES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    d: Callable[..., Tensor]       # d(*, real, fake) -> scalar
    g: Callable[..., Tensor]       # g(*, fake, real=None) -> scalar (real is used by relativistic losses)


LOSSES: Registry[AdversarialLoss] = Registry("loss")


# --- Goodfellow et al. 2014: D maximises log D(x) + log(1 - D(G(z))) -------------------------
def minimax_d(*, real: Tensor, fake: Tensor) -> Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()     # -log(sigmoid(real)) - log(1 - sigmoid(fake))


def minimax_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return -F.softplus(fake).mean()                               # log(1 - sigmoid(fake)), saturates when D wins


def nonsaturating_g(*, fake: Tensor, real: Tensor | None = None) -> Tensor:
    return F.softplus(-fake).mean()                               # -log(sigmoid(fake))


LOSSES.register("minimax", AdversarialLoss(d=minimax_d, g=minimax_g),
                doc="Original minimax GAN loss (Goodfellow et al. 2014)")
LOSSES.register("nonsaturating", AdversarialLoss(d=minimax_d, g=nonsaturating_g),
                doc="Non-saturating GAN loss: G maximises log D(G(z))")
