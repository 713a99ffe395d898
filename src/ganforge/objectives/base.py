"""What every objective offers the loop. The loop asks an objective for its optimisers (which
networks each steps, which config section it reads) and its phases (the schedule as data, each
phase bound to the method that computes its loss), and runs them; it knows nothing of GANs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.schema import OBJECTIVE_TRAIN_KEYS, LossConfig, TrainConfig


@dataclass
class StepState:
    """What one training step's phases share: the step number and `carry`, the values a phase leaves
    for a later phase of the same step (translation's D phase reads the G phase's fakes). The loop
    makes a new one for every step, so nothing passes between steps or into a checkpoint."""

    step: int
    carry: dict[str, Tensor] = field(default_factory=dict)
    repeat: int = 0  # which of the running phase's repeats this is (0 .. repeats - 1; n_critic D steps)
    repeats: int = 1

    @property
    def last_repeat(self) -> bool:
        return self.repeat == self.repeats - 1


LossFn = Callable[[dict[str, Tensor], StepState], tuple[Tensor, dict[str, float]]]


@dataclass(frozen=True)
class Phase:
    """One entry of the training schedule (as stylegan2-ada's Gmain / Dmain / Dreg phases)."""

    name: str  # for logs and messages: "D", "G", "Dreg", "Greg"
    loss: LossFn  # the bound method computing this phase's loss: (batch, state) -> (loss, logs)
    optimizer: str  # which optimiser steps: a key of Objective.optimizers()
    interval: int = 1  # run at steps where step % interval == 0 (lazy regularisation)
    repeats: int = 1  # times per due step, each on a fresh batch (n_critic D steps)
    needs_data: bool = True  # draws a real batch; False: reads what an earlier phase left in state.carry
    after: Callable[[], None] | None = None  # called after each optimiser step of this phase (weight clipping, ADA)
    # an optimiser whose networks also take gradients in this phase, because a later phase of the step
    # backpropagates through what this one computed (the fakes the D phase makes for the G phase)
    graph_for: str | None = None


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimiser of an objective: the networks it steps and the config section with its settings."""

    networks: tuple[str, ...]
    section: str  # "g_optim" or "d_optim"


class Objective:
    """Base class: subclasses set `Loss` (their loss section), implement `phases`, and name in
    `train_keys` the objective-specific train.* options they read."""

    Loss: type[LossConfig] = LossConfig
    train_keys: frozenset[str] = frozenset()
    ema_network: str | None = "G"  # the network whose EMA is kept (None: no EMA)
    draws_samples: bool = True  # preview() gives images or 2-D points the loop draws; False: table rows

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        self.cfg, self.networks = cfg, networks

    @classmethod
    def validate(cls, cfg) -> None:
        """Refuse a non-default value of a train.* option this objective does not read."""
        default = TrainConfig()
        for key in OBJECTIVE_TRAIN_KEYS:
            if key not in cls.train_keys and getattr(cfg.train, key) != getattr(default, key):
                raise UserError(
                    f"train.{key}={getattr(cfg.train, key)} has no effect on the {cfg.model.family} "
                    f"family; remove it ({cls.__name__} reads no train.{key})"
                )

    def bind_data(self, data) -> None:
        """Called once by the loop with the training `Data`, for objectives that draw their own rows
        from it (CTGAN's training-by-sampling); the others read only the batches the loop hands them."""

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"G": OptimizerSpec(("G",), "g_optim"), "D": OptimizerSpec(("D",), "d_optim")}

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def lr_scale(self, step: int) -> float:
        """Factor on every optimiser's configured lr at `step`; the loop applies it before each step.
        1.0, or with train.lr_decay_start = s a linear fall to 0 over the last (1 - s) of the steps
        (CycleGAN, Zhu et al. 2017: constant for 100 epochs, then to 0 over 100). A pure function of
        the step, so resuming needs no schedule state."""
        t = self.cfg.train
        if t.lr_decay_start is None:
            return 1.0
        first = int(t.lr_decay_start * t.steps)  # the last step at full lr
        if step <= first:
            return 1.0
        return max(0.0, (t.steps - step) / max(1, t.steps - first))

    def state_tensors(self) -> dict[str, Tensor]:
        """Training state the objective keeps between steps (CycleGAN's pool of past fakes, ADA's p),
        saved in checkpoints beside the networks so resuming continues it; {} when there is none."""
        return {}

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        """Restore what `state_tensors` returned."""

    def data_state(self, data) -> dict:
        """JSON facts the trained networks give about the training data, computed when the last
        checkpoint of a run is saved and recorded in its state.json as "objective_state" (GANomaly: the
        range of its anomaly scores on the training set, which scales scores to [0, 1]); {} when there
        are none. A checkpoint along the way has none; the inference layer computes them when needed."""
        return {}

    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """Inputs for the preview grids, drawn once from their own generator (never the training RNG)."""
        gen = torch.Generator().manual_seed(seed + 7919)
        return {"z": torch.randn(n, self.cfg.model.z_dim, generator=gen)}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        """What the sample grid shows; `networks["G"]` is the EMA generator when there is one."""
        return networks["G"](fixed["z"])
