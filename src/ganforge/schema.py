"""The shared configuration schema: the sections every run has (data, optimisers, train) and the
base classes of the two sections a family defines itself (model, loss).

A family's `model` section is its own dataclass (in its model file, beside the networks it
configures); its `loss` section is the dataclass of the objective that trains it. Both derive from
the bases here, whose `validate(cfg)` sees the whole config for cross-section checks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class DataConfig:
    name: str = "mnist"  # a registered data set (see `ganforge presets --data`)
    root: str | None = None  # None: $GANFORGE_DATA, then the copy embedded in the package
    split: str = "train"
    resolution: int | None = None  # None: the data set's own size; else resize (images only)
    channels: int | None = None  # None: the data set's own; 1 or 3 converts
    limit: int | None = None  # use only the first N examples (after a seeded shuffle)
    # class indices left out of the data (e.g. [3]: an anomaly detector trained on the other digits); None: all
    exclude_classes: list[int] | None = None
    download: bool = False  # allowed to download when no local copy is found
    num_points: int = 100_000  # toy 2-D mixtures: training points drawn once
    direction: str = "AtoB"  # translation data: AtoB keeps the domains as stored; BtoA swaps them
    load_size: int | None = (
        None  # translation: resize pairs to this, then random-crop data.resolution (pix2pix: 286 -> 256); None: no crop
    )
    flip: bool = False  # translation: random horizontal flips, the same for both images of a pair
    path: str | None = None  # tables (data.name=table | table-modes): the CSV; relative: also under data.root
    missing: list[str] | None = None  # tables: texts meaning "missing"; None: tables.DEFAULT_MISSING ('', NA, ?, ...)
    types: str = ""  # tables: column type overrides "name:kind,name:kind", kind continuous | integer | categorical
    holdout: float = 0.0  # tables: the fraction of rows in the test split (data.split=test), drawn with data.split_seed
    split_seed: int = 0  # tables: seed of the train / test split
    # photo data sets (photos-sr): random crops of data.resolution px cut once, with a fixed seed, into the pool batches come from
    crops: int = 8192
    # utkface: the first age of each age group after the first (Age-cGAN: [19, 30, 40, 50, 60] -> 0-18, ..., 60+);
    # None: those
    age_edges: list[int] | None = None


@dataclass
class ModelConfig:
    """Base of every family's `model` section. Subclasses add the family's options as fields."""

    family: str = "dcgan"  # a registered model family
    can_condition: ClassVar[bool] = False  # some config of this family makes G take class labels

    @property
    def conditional(self) -> bool:
        """Whether G takes class labels under this config."""
        return False

    def validate(self, cfg: Config) -> None:
        """Cross-field checks that types alone cannot express; raise UserError."""

    @classmethod
    def from_legacy(cls, values: dict) -> dict:
        """The model section of a config saved before configs were per family, as this class reads it."""
        return values


@dataclass
class LossConfig:
    """Base of every objective's `loss` section."""

    name: str = "nonsaturating"  # a registered adversarial loss

    def validate(self, cfg: Config) -> None:
        """Cross-field checks; raise UserError."""


@dataclass
class OptimConfig:
    name: str = "adam"  # a registered optimiser: adam | rmsprop | sgd
    lr: float = 2e-4
    beta1: float = 0.5  # Adam's beta1; SGD's momentum
    beta2: float = 0.999
    weight_decay: float = 0.0


@dataclass
class TrainConfig:
    steps: int = 2000  # generator steps
    batch_size: int = 64
    seed: int = 0
    d_steps: int = 1  # discriminator steps per generator step (D-first adversarial schedules)
    ema: float | None = 0.999  # EMA decay of G's weights; None: no EMA generator
    ema_rampup: float | None = 0.05  # EMA half-life <= this fraction of the steps so far; None: fixed decay
    precision: str = "auto"  # auto (bf16 where the device has native bf16, else 32) | 32 | bf16 (autocast; on CPU too) | 16 (GPU only)
    channels_last: bool | str = (
        "auto"  # NHWC layout; auto: on where autocast runs in bf16 (oneDNN's bf16 convolutions prefer it)
    )
    # torch.compile the networks' forward passes (the D and G phases; penalties read the modules as they
    # are): off by default, since on CPU it did not repay its compile time (docs/benchmarks/throughput-compile.md)
    compile: bool = False
    accelerator: str = "cpu"  # cpu | cuda | auto (Lightning Fabric)
    devices: int = 1  # > 1: data-parallel through Lightning Fabric
    num_nodes: int = 1
    strategy: str = "auto"  # Fabric strategy: auto | ddp | ...
    log_every: int = 50
    sample_every: int = 500  # 0: never
    ckpt_every: int = 500  # 0: only at the end
    keep_ckpts: int = 3
    progress: bool = True
    tensorboard: bool = True
    num_samples: int = 64  # images in each fixed-noise grid
    threads: int | str | None = (
        "auto"  # torch.set_num_threads: auto (the physical cores other processes leave free), a number, or none (PyTorch's default)
    )
    # a non-finite loss or weight: rollback (to the last good checkpoint, learning rates lowered) |
    # skip (drop that phase's update) | stop (save the last good state and exit); see docs/reliability.md
    nan_policy: str = "rollback"
    nan_lr_factor: float = 0.5  # rollback: every learning rate is multiplied by this at each rollback (kept on resume)
    nan_max_events: int = 10  # non-finite events a run gets past (skips, rollbacks); one more stops it as `stop` does
    pool_size: int = 50  # CycleGAN: D sees fakes from a pool of this many past ones (Shrivastava 2017); 0: off
    lr_decay_start: float | None = (
        None  # lr falls linearly to 0 after this fraction of train.steps (CycleGAN: 0.5); None: constant
    )
    augment: str = (
        "none"  # augment every image D sees: none | diffaugment (Zhao et al. 2020) | ada (Karras et al. 2020)
    )
    augment_policy: str = "color,translation,cutout"  # comma-separated transforms from ganforge.augment.AUGMENTS
    augment_p: float | None = (
        None  # probability each transform is applied to a sample; None: 1 for diffaugment, 0 (the start) for ada
    )
    ada_target: float = 0.6  # ADA: target of r_t = E[sign(D(real))] (Karras et al. 2020: 0.6)
    ada_interval: int = 4  # ADA: D steps between two adjustments of p
    ada_kimg: float = (
        100.0  # ADA: thousands of real images shown for p to move by 1 (Karras et al. 2020: 500; less suits short runs)
    )


# train.* keys that only some objectives read; each objective lists those it reads (`Objective.train_keys`),
# and a non-default value of any other is refused at validation rather than ignored
OBJECTIVE_TRAIN_KEYS = (
    "d_steps",
    "pool_size",
    "augment",
    "augment_policy",
    "augment_p",
    "ada_target",
    "ada_interval",
    "ada_kimg",
)


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: Any = field(default_factory=ModelConfig)  # the family's own ModelConfig subclass
    loss: Any = field(default_factory=LossConfig)  # its objective's LossConfig subclass
    g_optim: OptimConfig = field(default_factory=OptimConfig)
    d_optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
