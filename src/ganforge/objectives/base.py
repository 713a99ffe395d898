from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.registry import Registry


@dataclass(frozen=True)
class Phase:
    """One entry of the training schedule (as in stylegan2-ada's Gmain/Dmain/Dreg phases)."""
    name: str               # e.g. "D", "G", "Dreg"
    optimizer: str          # which optimiser steps: a key of Objective.optimizers()
    interval: int = 1       # run at steps where step % interval == 0 (lazy regularisation)
    repeats: int = 1        # times per due step, each on a fresh batch (e.g. n_critic D steps)
    needs_data: bool = True # draws a real batch


class Objective:
    """Base class. Subclasses set `networks` (by name) and implement `phases` and `loss`."""

    networks: dict[str, nn.Module]
    ema_network: str | None = "G"       # the network whose EMA is kept (None: no EMA)

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        self.cfg, self.networks = cfg, networks

    def optimizers(self) -> dict[str, list[str]]:
        """Optimiser name -> the networks it steps (their configs: cfg.g_optim for "G", cfg.d_optim for "D")."""
        return {"G": ["G"], "D": ["D"]}

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def loss(self, phase: Phase, batch: dict[str, Tensor], step: int) -> tuple[Tensor, dict[str, float]]:
        raise NotImplementedError

    def after_step(self, phase: Phase) -> None:
        """Hook after an optimiser step of `phase` (e.g. WGAN weight clipping)."""

    def lr_scale(self, step: int) -> float:
        """Factor on every optimiser's configured lr at `step`; the loop applies it before each step.
        1.0, or with train.lr_decay_start = s a linear fall to 0 over the last (1 - s) of the steps
        (CycleGAN, Zhu et al. 2017: constant for 100 epochs, then to 0 over 100). A pure function of
        the step, so resuming needs no schedule state."""
        t = self.cfg.train
        start = getattr(t, "lr_decay_start", None)
        if start is None:
            return 1.0
        first = int(start * t.steps)                  # the last step at full lr
        if step <= first:
            return 1.0
        return max(0.0, (t.steps - step) / max(1, t.steps - first))

    def state_tensors(self) -> dict[str, Tensor]:
        """Training state the objective keeps between steps (e.g. CycleGAN's pool of past fakes),
        saved in checkpoints beside the networks so resuming continues it; {} when there is none."""
        return {}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        """Restore what `state_tensors` returned."""

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """Inputs for the preview grids, drawn once from their own generator (never the training RNG)."""
        gen = torch.Generator().manual_seed(seed + 7919)
        return {"z": torch.randn(n, self.cfg.model.z_dim, generator=gen)}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        """What the sample grid shows; `networks["G"]` is the EMA generator when there is one."""
        return networks["G"](fixed["z"])


OBJECTIVES: Registry[type[Objective]] = Registry("objective")
