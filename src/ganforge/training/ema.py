"""Exponential moving average of the generator's weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float, start: int = 0):
        self.decay, self.start = decay, start
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        """Blend `model` into the average; before `start` steps, copy it (the average would lag a
        randomly initialised network)."""
        decay = self.decay if step >= self.start else 0.0
        for avg, cur in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(cur.detach(), 1.0 - decay)
        for avg, cur in zip(self.model.buffers(), model.buffers()):
            avg.copy_(cur)                  # BatchNorm statistics follow the live generator
