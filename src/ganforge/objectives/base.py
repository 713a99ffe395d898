from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn


@dataclass(frozen=True)
class Phase:
    """One entry of the training schedule (as in stylegan2-ada's Gmain/Dmain/Dreg phases)."""
    name: str               # e.g. "D", "G", "Dreg"
    optimizer: str          # which network's optimiser steps: "D" or "G"
    interval: int = 1       # run at steps where step % interval == 0 (lazy regularisation)
    repeats: int = 1        # times per due step, each on a fresh batch (e.g. n_critic D steps)
    needs_data: bool = True # draws a real batch


class Objective:
    """Base class: `networks` by name, `phases()`, and `loss(phase, batch) -> (loss, logs)`."""

    networks: dict[str, nn.Module]

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def loss(self, phase: Phase, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def after_step(self, phase: Phase) -> None:
        """Hook after an optimiser step of `phase` (e.g. WGAN weight clipping)."""
