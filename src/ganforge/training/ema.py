"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float, rampup: float | None = 0.05):
        self.decay, self.rampup = decay, rampup
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend `model` into the average. With `rampup` (StyleGAN2-ADA's ema_rampup), the average's
        half-life is at most rampup * steps so far, so short runs are not dominated by early weights."""
        decay = self.decay
        if self.rampup:
            decay = min(decay, 0.5 ** (1.0 / max(self.rampup * (step + 1), 1e-8)))
        # one multi-tensor op over all weights (and one copy over all buffers), not one op per tensor
        avg, cur = list(self.model.parameters()), [p.detach() for p in model.parameters()]
        if avg:
            torch._foreach_lerp_(avg, cur, 1.0 - decay)
        avg, cur = list(self.model.buffers()), list(model.buffers())
        if avg:
            torch._foreach_copy_(avg, cur)  # BatchNorm statistics follow the live generator
