"""Typed configuration: dataclasses, named presets, YAML files and dotted `key=value` overrides.

Resolution order: defaults <- preset or YAML file <- overrides. Unknown keys are errors that name
the closest valid key; values are converted to the field's type or rejected with a clear message.
The resolved config is written to `RUN/config.json`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ganforge.errors import UserError
from ganforge.registry import Registry, closest


@dataclass
class DataConfig:
    name: str = "mnist"               # a registered data set (see `ganforge presets --data`)
    root: str | None = None           # None: $GANFORGE_DATA, then the copy embedded in the package
    split: str = "train"
    resolution: int | None = None     # None: the data set's own size; else resize (images only)
    channels: int | None = None       # None: the data set's own; 1 or 3 converts
    limit: int | None = None          # use only the first N examples (after a seeded shuffle)
    download: bool = False            # allowed to download when no local copy is found
    num_points: int = 100_000         # toy 2-D mixtures: training points drawn once
    direction: str = "AtoB"           # translation data: AtoB keeps the domains as stored; BtoA swaps them
    load_size: int | None = None      # translation: resize pairs to this, then random-crop data.resolution (pix2pix: 286 -> 256); None: no crop
    flip: bool = False                # translation: random horizontal flips, the same for both images of a pair


@dataclass
class ModelConfig:
    family: str = "dcgan"             # a registered model family
    z_dim: int = 100
    g_width: int = 64                 # DCGAN: channels of G's last hidden layer (doubles per layer up)
    d_width: int = 64                 # DCGAN: channels of D's first layer
    hidden: int = 512                 # MLP: hidden units per layer
    depth: int = 3                    # MLP: hidden layers
    g_norm: str = "batch"             # G normalisation: batch | instance | none
    d_norm: str = "batch"             # D normalisation: batch | none (ResNet D: always none, as in SNGAN)
    d_sn: bool | None = None          # spectral norm on D's layers (Miyato 2018); None: family default (resnet on)
    g_sn: bool = False                # spectral norm on G's layers too (SAGAN, Zhang et al. 2019)
    pack: int = 1                     # PacGAN (Lin et al. 2018): D judges packs of m samples; 1: off
    mbstd: int = 0                    # minibatch-stddev group size in D (Karras et al. 2018); 0: off
    out_channels: int | None = None   # translation: channels of domain B; None: the same as domain A
    unet_depth: int | None = None     # pix2pix U-Net down-samplings; None: halve while even, at most 8 (5 at 32 px, 8 at 256)
    dropout: float = 0.5              # pix2pix: dropout in the U-Net's 3 up-blocks below the bottleneck, its only noise
    d_layers: int = 3                 # PatchGAN strided conv layers (3: a 70x70 receptive field)
    resnet_blocks: int = 9            # CycleGAN generator's residual blocks (Zhu et al. 2017: 6 at 128 px, 9 at 256)
    cond_g: str = "cbn"               # conditional families: G takes y through cbn (conditional BatchNorm) | concat (embedding joined to z)
    cond_d: str = "projection"        # conditional families: D takes y through projection (Miyato & Koyama 2018) | concat (embedding maps joined to the image) | acgan (auxiliary classifier, Odena et al. 2017)
    embed_dim: int = 32               # label embedding size for concat conditioning; BigGAN: the shared class embedding (Brock 2019: 128)
    attention: int | None = None      # BigGAN: feature resolution of the self-attention block in G and D; None: half the image size; 0: none
    w_dim: int = 128                  # StyleGAN: size of the intermediate latent w (Karras et al. 2020: 512)
    mapping_layers: int = 8           # StyleGAN: depth of the mapping MLP z -> w (Karras et al. 2019: 8)
    mapping_lr_mul: float = 0.01      # StyleGAN: learning-rate multiplier of the mapping network (Karras et al. 2019: 0.01)
    style_max_channels: int = 128     # StyleGAN: cap on channels per resolution; g_width / d_width are the channels at full resolution, doubling per halving (paper: 512)
    style_conditional: bool = False   # StyleGAN: class-conditional (label embedding joined to z in the mapping network, projection D)


@dataclass
class LossConfig:
    name: str = "nonsaturating"       # a registered adversarial loss
    gp: float = 0.0                   # WGAN-GP penalty weight lambda (Gulrajani 2017: 10); 0: off
    r1: float = 0.0                   # R1 gamma on real data (Mescheder 2018); 0: off
    r2: float = 0.0                   # R2 gamma on generated data; 0: off
    reg_interval: int = 1             # > 1: penalties in a lazy "Dreg" phase every k steps, scaled by k (StyleGAN2)
    clip: float | None = None         # WGAN weight clipping to [-c, c] after D steps (Arjovsky 2017: 0.01); None: off
    ortho: float = 0.0                # BigGAN orthogonal regularisation beta on G (Brock 2019: 1e-4); 0: off
    adv_weight: float = 1.0           # translation: weight of the adversarial term in G's loss; 0: no D (pure L1 baseline)
    l1_weight: float = 100.0          # pix2pix lambda on |G(a) - b| (Isola et al. 2017)
    cycle_weight: float = 10.0        # CycleGAN lambda on |F(G(a)) - a| + |G(F(b)) - b| (Zhu et al. 2017)
    identity_weight: float = 0.5      # CycleGAN identity loss |G(b) - b| + |F(a) - a|, as a fraction of cycle_weight; 0: off
    aux_weight: float = 1.0           # AC-GAN (model.cond_d=acgan): weight of the class cross-entropy in D's and G's losses
    aux_fake: bool = True             # AC-GAN: D's class loss on fakes too (Odena et al. 2017); false: on real images only, so D cannot learn fake-only class cues
    style_mixing: float = 0.9         # StyleGAN: probability of a style-mixing batch (Karras et al. 2019: 0.9); 0: off
    pl_weight: float = 0.0            # StyleGAN2 path-length regularisation weight (Karras et al. 2020: 2); 0: off
    pl_interval: int = 4              # StyleGAN2: path-length penalty in a lazy "Greg" phase every k steps, scaled by k
    pl_decay: float = 0.01            # StyleGAN2: rate of the running mean of path lengths that the penalty pulls toward


@dataclass
class OptimConfig:
    name: str = "adam"                # adam | rmsprop | sgd
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    weight_decay: float = 0.0


@dataclass
class TrainConfig:
    steps: int = 2000                 # generator steps
    batch_size: int = 64
    seed: int = 0
    d_steps: int = 1                  # discriminator steps per generator step
    ema: float | None = 0.999         # EMA decay of G's weights; None: no EMA generator
    ema_rampup: float | None = 0.05   # EMA half-life <= this fraction of the steps so far; None: fixed decay
    precision: str = "32"             # 32 | bf16 (autocast; on CPU too) | 16 (GPU only)
    channels_last: bool = False
    accelerator: str = "cpu"          # cpu | cuda | auto (Lightning Fabric)
    devices: int = 1                  # > 1: data-parallel through Lightning Fabric
    num_nodes: int = 1
    strategy: str = "auto"            # Fabric strategy: auto | ddp | ...
    log_every: int = 50
    sample_every: int = 500           # 0: never
    ckpt_every: int = 500             # 0: only at the end
    keep_ckpts: int = 3
    progress: bool = True
    tensorboard: bool = True
    num_samples: int = 64             # images in each fixed-noise grid
    threads: int | None = None        # torch.set_num_threads; None leaves PyTorch's default
    pool_size: int = 50               # CycleGAN: D sees fakes from a pool of this many past ones (Shrivastava 2017); 0: off
    lr_decay_start: float | None = None   # lr falls linearly to 0 after this fraction of train.steps (CycleGAN: 0.5); None: constant
    augment: str = "none"             # augment real and fake images before D: none | diffaugment (Zhao et al. 2020) | ada (Karras et al. 2020)
    augment_policy: str = "color,translation,cutout"   # comma-separated transforms from ganforge.augment.AUGMENTS
    augment_p: float | None = None    # probability each transform is applied to a sample; None: 1 for diffaugment, 0 (the start) for ada
    ada_target: float = 0.6           # ADA: target of r_t = E[sign(D(real))] (Karras et al. 2020: 0.6)
    ada_interval: int = 4             # ADA: D steps between two adjustments of p
    ada_kimg: float = 100.0           # ADA: thousands of real images shown for p to move by 1 (Karras et al. 2020: 500; less suits short runs)


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    g_optim: OptimConfig = field(default_factory=OptimConfig)
    d_optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- presets: name -> nested dict of overrides on the defaults ------------------------------------
PRESETS: Registry[dict] = Registry("preset")

PRESETS.register("quickstart", {
    "data": {"name": "mnist", "split": "test"},   # the 10,000 digits embedded in the package
    "model": {"family": "dcgan", "z_dim": 64, "g_width": 32, "d_width": 32},
    "train": {"steps": 1200, "batch_size": 64, "sample_every": 400, "ckpt_every": 400, "log_every": 50,
              "threads": 1},   # one thread: small convolutions on 2 cores gain little from a second, lose much under load
}, doc="DCGAN on the embedded MNIST test split: about 2 CPU-minutes, recognisable digits")
PRESETS.register("dcgan-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
    "train": {"steps": 10000},
}, doc="DCGAN (Radford et al. 2016) on the MNIST training set, 28x28")
PRESETS.register("dcgan-fashion", {
    "data": {"name": "fashion-mnist"},
    "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
    "train": {"steps": 10000},
}, doc="DCGAN on Fashion-MNIST, 28x28")
PRESETS.register("gan-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "mlp", "z_dim": 100, "hidden": 512, "depth": 3},
    "train": {"steps": 10000},
}, doc="Vanilla GAN (MLP G and D, Goodfellow et al. 2014) on flattened MNIST")
PRESETS.register("ring8-gan", {
    "data": {"name": "ring8"},
    "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
    "g_optim": {"lr": 1e-3}, "d_optim": {"lr": 1e-3},
    "train": {"steps": 2000, "batch_size": 256, "ema": None, "sample_every": 500},
}, doc="Vanilla GAN on 8 Gaussians on a ring (radius 1, sigma 0.01)")
PRESETS.register("grid25-gan", {
    "data": {"name": "grid25"},
    "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
    "g_optim": {"lr": 1e-3}, "d_optim": {"lr": 1e-3},
    "train": {"steps": 2000, "batch_size": 256, "ema": None, "sample_every": 500},
}, doc="Vanilla GAN on 25 Gaussians on the grid {-4,-2,0,2,4}^2 (sigma 0.05)")

# --- image-to-image translation (issue 7); the *-edges presets are what benchmarks/translation.py trains
_PIX2PIX_EDGES = {
    "data": {"name": "edges2digits"},
    "model": {"family": "pix2pix", "g_width": 32, "d_width": 32, "g_norm": "batch", "d_norm": "batch"},
    "loss": {"name": "nonsaturating", "adv_weight": 1.0, "l1_weight": 100.0},
    "train": {"steps": 600, "batch_size": 32, "ema": None, "log_every": 25, "sample_every": 200, "ckpt_every": 200},
}
PRESETS.register("pix2pix-edges", _PIX2PIX_EDGES,
                 doc="pix2pix (Isola et al. 2017) on MNIST edges -> digits, 32x32; about 5 CPU-minutes")
PRESETS.register("pix2pix-edges-l1", {**_PIX2PIX_EDGES, "loss": {"adv_weight": 0.0, "l1_weight": 100.0}},
                 doc="The pix2pix U-Net trained with L1 alone (no discriminator): the baseline for pix2pix-edges")
PRESETS.register("cyclegan-edges", {
    "data": {"name": "edges2digits-unpaired"},
    "model": {"family": "cyclegan", "g_width": 16, "d_width": 16, "resnet_blocks": 6,
              "g_norm": "instance", "d_norm": "instance"},
    # LOSSES["lsgan"] halves the squares (Mao et al.); 2.0 gives Zhu et al.'s E[(D(G(a)) - 1)^2] beside lambda=10
    "loss": {"name": "lsgan", "adv_weight": 2.0, "cycle_weight": 10.0, "identity_weight": 0.5},
    "train": {"steps": 400, "batch_size": 16, "ema": None, "pool_size": 50, "lr_decay_start": 0.5,
              "log_every": 25, "sample_every": 100, "ckpt_every": 100},
}, doc="CycleGAN (Zhu et al. 2017) on unpaired MNIST edges / digits (disjoint halves), 32x32; about 5 CPU-minutes")
PRESETS.register("pix2pix-folder", {
    "data": {"name": "paired-folder", "resolution": 256, "load_size": 286, "flip": True},
    "model": {"family": "pix2pix", "g_width": 64, "d_width": 64, "g_norm": "batch", "d_norm": "batch"},
    "loss": {"name": "nonsaturating", "l1_weight": 100.0},
    "train": {"steps": 80000, "batch_size": 1, "ema": None, "sample_every": 2000, "ckpt_every": 2000},
}, doc="pix2pix at 256x256 on side-by-side A|B images (data.root=...): the paper's settings (batch 1, jitter 286->256)")
PRESETS.register("cyclegan-folder", {
    "data": {"name": "unpaired-folder", "resolution": 256, "load_size": 286, "flip": True},
    "model": {"family": "cyclegan", "g_width": 64, "d_width": 64, "resnet_blocks": 9,
              "g_norm": "instance", "d_norm": "instance"},
    "loss": {"name": "lsgan", "adv_weight": 2.0, "cycle_weight": 10.0, "identity_weight": 0.5},
    "train": {"steps": 200000, "batch_size": 1, "ema": None, "pool_size": 50, "lr_decay_start": 0.5,
              "sample_every": 2000, "ckpt_every": 2000},
}, doc="CycleGAN at 256x256 on ROOT/trainA + ROOT/trainB (data.root=...): the paper's settings, lr decay over the second half")
PRESETS.register("wgan-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
    "loss": {"name": "wasserstein", "clip": 0.01},
    "g_optim": {"name": "rmsprop", "lr": 5e-5}, "d_optim": {"name": "rmsprop", "lr": 5e-5},
    "train": {"steps": 10000, "d_steps": 5},
}, doc="WGAN (Arjovsky et al. 2017): DCGAN critic, clipping c=0.01, RMSprop 5e-5, n_critic 5")
PRESETS.register("wgan-gp-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64, "d_norm": "none"},
    "loss": {"name": "wasserstein", "gp": 10.0},
    "g_optim": {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9}, "d_optim": {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9},
    "train": {"steps": 10000, "d_steps": 5},
}, doc="WGAN-GP (Gulrajani et al. 2017): DCGAN critic without BatchNorm, lambda 10, Adam 1e-4 (0, 0.9), n_critic 5")
PRESETS.register("sngan-mnist", {
    "data": {"name": "mnist", "resolution": 32},
    "model": {"family": "resnet", "z_dim": 128, "g_width": 64, "d_width": 64},
    "loss": {"name": "hinge"},
    "g_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9}, "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
    "train": {"steps": 10000, "d_steps": 5, "batch_size": 64},
}, doc="SNGAN (Miyato et al. 2018): ResNet G/D, spectral norm, hinge loss, n_dis 5, on MNIST at 32x32")


# --- mode-collapse benchmarks (issue 4): what benchmarks/mode_collapse.py trains, one preset per row.
# 2-D rows share the MLPs of ring8-gan / grid25-gan (3 x 128, z in R^2, batch 256) and about the same
# CPU budget: 4,000 G steps, or 1,500 for the n_critic = 5 critics.
def _with(base: dict, steps: int, **over: dict) -> dict:
    """A copy of a preset dict with train.steps set and each section of `over` merged into its own."""
    out = {section: dict(values) for section, values in base.items()}
    out["train"]["steps"] = steps
    for section, values in over.items():
        out[section] = {**out.get(section, {}), **values}
    return out


def _mix(data: str, steps: int = 4000, **over: dict) -> dict:
    return _with({"data": {"name": data}, "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
                  "loss": {"name": "nonsaturating"}, "g_optim": {"lr": 1e-3}, "d_optim": {"lr": 1e-3},
                  "train": {"batch_size": 256, "ema": None, "sample_every": 1000}}, steps, **over)


_WGAN_OPT = {"name": "rmsprop", "lr": 5e-5}
_GP_OPT = {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9}
for _d in ("ring8", "grid25"):
    PRESETS.register(f"{_d}-vanilla", _mix(_d), doc="GAN, non-saturating loss")
    PRESETS.register(f"{_d}-r1", _mix(_d, loss={"r1": 0.1}), doc="GAN + R1 (gamma 0.1)")
    PRESETS.register(f"{_d}-wgan", _mix(_d, 1500, loss={"name": "wasserstein", "clip": 0.01},
                                         g_optim=_WGAN_OPT, d_optim=_WGAN_OPT, train={"d_steps": 5}),
                     doc="WGAN: clipping 0.01, RMSprop 5e-5, n_critic 5")
    PRESETS.register(f"{_d}-wgan-gp", _mix(_d, 1500, loss={"name": "wasserstein", "gp": 10.0},
                                            g_optim=_GP_OPT, d_optim=_GP_OPT, train={"d_steps": 5}),
                     doc="WGAN-GP: lambda 10, Adam 1e-4 (0, 0.9), n_critic 5")
    PRESETS.register(f"{_d}-hinge-sn", _mix(_d, loss={"name": "hinge"}, model={"d_sn": True}),
                     doc="hinge loss + spectral norm in D")
    PRESETS.register(f"{_d}-pacgan2", _mix(_d, model={"pack": 2}), doc="PacGAN2: D sees packs of 2")
    PRESETS.register(f"{_d}-ema", _mix(_d, 9000, train={"ema": 0.99}),
                     doc="GAN + EMA of G (decay 0.99), 9,000 steps (under 2 CPU-minutes)")
    PRESETS.register(f"{_d}-pacgan2-ema", _mix(_d, 9000, model={"pack": 2}, train={"ema": 0.99}),
                     doc="PacGAN2 + EMA of G (decay 0.99), 9,000 steps")
    PRESETS.register(f"{_d}-r1-ema", _mix(_d, 9000, loss={"r1": 0.1, "reg_interval": 4}, train={"ema": 0.99}),
                     doc="GAN + R1 (gamma 0.1, lazy: every 4 steps) + EMA of G (decay 0.99), 9,000 steps")
# Stacked MNIST: a small DCGAN (widths 32), 50,000 stacks drawn once (470 MB as float32)
_STACKED = {"data": {"name": "stacked-mnist", "num_points": 50_000},
            "model": {"family": "dcgan", "z_dim": 100, "g_width": 32, "d_width": 32},
            "train": {"steps": 5000, "batch_size": 64, "sample_every": 1000, "ckpt_every": 1000}}
PRESETS.register("stacked-mnist-dcgan", _STACKED, doc="DCGAN (widths 32) on Stacked MNIST, 1,000 modes")


def _stacked(steps: int = 5000, **over: dict) -> dict:
    return _with(_STACKED, steps, **over)


PRESETS.register("stacked-mnist-pacgan2", _stacked(model={"pack": 2}),
                 doc="PacDCGAN2 (Lin et al. 2018): the same DCGAN, D judges packs of 2")

# the critics trained 5 times per G step get 1,500 G steps: about the CPU time of the others' 5,000
PRESETS.register("stacked-mnist-r1", _stacked(loss={"r1": 0.1}), doc="the DCGAN + R1 (gamma 0.1)")
PRESETS.register("stacked-mnist-wgan", _stacked(1500, loss={"name": "wasserstein", "clip": 0.01},
                                                g_optim=_WGAN_OPT, d_optim=_WGAN_OPT, train={"d_steps": 5}),
                 doc="WGAN on the DCGAN: clipping 0.01, RMSprop 5e-5, n_critic 5")
PRESETS.register("stacked-mnist-wgan-gp", _stacked(1500, model={"d_norm": "none"}, loss={"name": "wasserstein", "gp": 10.0},
                                                   g_optim=_GP_OPT, d_optim=_GP_OPT, train={"d_steps": 5}),
                 doc="WGAN-GP on the DCGAN (no BatchNorm in D): lambda 10, Adam 1e-4 (0, 0.9), n_critic 5")
PRESETS.register("stacked-mnist-r1-long", _stacked(10_000, loss={"r1": 0.1, "reg_interval": 4}),
                 doc="the best found: the DCGAN + R1 (gamma 0.1, lazy every 4 steps), 10,000 steps (under 30 CPU-minutes)")
PRESETS.register("stacked-mnist-hinge-sn", _stacked(model={"d_norm": "none", "d_sn": True}, loss={"name": "hinge"}),
                 doc="hinge loss + spectral norm in D (no BatchNorm in D)")


# --- class-conditional generation, BigGAN, augmentation for small data (issue 5) -------------------
PRESETS.register("cgan-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "cdcgan", "z_dim": 100, "g_width": 64, "d_width": 64, "cond_g": "concat",
              "cond_d": "concat", "embed_dim": 32},
    "train": {"steps": 10000},
}, doc="Conditional GAN (Mirza & Osindero 2014) on DCGAN networks: label embedding joined to z and to D's input")
PRESETS.register("acgan-mnist", {
    "data": {"name": "mnist"},
    "model": {"family": "cdcgan", "z_dim": 100, "g_width": 64, "d_width": 64, "cond_g": "concat",
              "cond_d": "acgan", "embed_dim": 32},
    "loss": {"aux_weight": 1.0},
    "train": {"steps": 10000},
}, doc="AC-GAN (Odena et al. 2017) on DCGAN networks: D also classifies real and fake images")
PRESETS.register("sngan-proj-mnist", {
    "data": {"name": "mnist", "resolution": 32},
    "model": {"family": "cresnet", "z_dim": 128, "g_width": 64, "d_width": 64, "cond_g": "cbn", "cond_d": "projection"},
    "loss": {"name": "hinge"},
    "g_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9}, "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
    "train": {"steps": 10000, "d_steps": 5},
}, doc="cGAN with a projection discriminator (Miyato & Koyama 2018): SNGAN ResNet, conditional BN in G, hinge")
PRESETS.register("biggan-mnist", {
    "data": {"name": "mnist", "resolution": 32},
    "model": {"family": "biggan", "z_dim": 120, "g_width": 32, "d_width": 32, "embed_dim": 128, "g_sn": True},
    "loss": {"name": "hinge", "ortho": 1e-4},
    "g_optim": {"lr": 5e-5, "beta1": 0.0, "beta2": 0.999}, "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.999},
    "train": {"steps": 10000, "d_steps": 4, "ema": 0.9999},
}, doc="BigGAN (Brock et al. 2019) at 32x32: shared embedding, hierarchical z, attention, SN in G and D, ortho reg")
PRESETS.register("cdcgan-fashion-ada", {
    "data": {"name": "fashion-mnist", "limit": 6000},
    "model": {"family": "cdcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
    "train": {"steps": 10000, "augment": "ada"},
}, doc="Conditional DCGAN on 10% of Fashion-MNIST with adaptive augmentation (ADA, Karras et al. 2020)")


# --- StyleGAN2 (issue 6); benchmarks/stylegan.py trains these two at 32x32 under a CPU budget ------
_STYLEGAN_32 = {
    # widths 16 at 32 px (doubling to 128 at 4x4): about 0.6 CPU-s per step at batch 32 on one core
    "model": {"family": "stylegan", "z_dim": 128, "w_dim": 128, "mapping_layers": 8, "g_width": 16, "d_width": 16,
              "style_max_channels": 128},
    # lazy R1 every 16 D steps; gamma from StyleGAN2-ADA's heuristic 0.0002 * res^2 / batch = 0.0064, rounded up
    "loss": {"name": "nonsaturating", "r1": 0.01, "reg_interval": 16, "style_mixing": 0.9, "pl_weight": 2.0,
             "pl_interval": 4},
    # Adam as the paper: lr 0.0025, betas (0, 0.99); benchmarks/stylegan.py also trains lr 0.001 (no better there)
    "g_optim": {"lr": 0.0025, "beta1": 0.0, "beta2": 0.99}, "d_optim": {"lr": 0.0025, "beta1": 0.0, "beta2": 0.99},
    "train": {"steps": 20000, "batch_size": 32},
}
PRESETS.register("stylegan-mnist", {**_STYLEGAN_32, "data": {"name": "mnist", "resolution": 32}},
                 doc="StyleGAN2 (Karras et al. 2020) on MNIST at 32x32: mapping net, modulated convs, lazy R1, path length")
PRESETS.register("stylegan-fashion", {**_STYLEGAN_32, "data": {"name": "fashion-mnist", "resolution": 32}},
                 doc="StyleGAN2 (Karras et al. 2020) on Fashion-MNIST at 32x32")


# --- merging and type conversion ------------------------------------------------------------------
def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (a YAML/JSON value or an override string) to type `tp`, or raise UserError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "~")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except UserError as e:
                errors.append(str(e))
        raise UserError(errors[0] if errors else f"{key}: cannot be {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise UserError(f"{key}={value!r}: expected true or false")
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{key}={value!r}: expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise UserError(f"{key}={value!r}: expected an integer, for example {key}=100")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{key}={value!r}: expected a number, for example {key}=0.0002")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{key}={value!r}: expected a string")
    if origin in (tuple, list):
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{key}={value!r}: expected a list such as [1, 2]")
        (inner, *_) = typing.get_args(tp) or (Any,)
        return [_convert(v, inner, key) for v in value]
    return value


def _apply(obj, updates: dict, prefix: str = "") -> None:
    """Apply a nested dict of updates onto dataclass `obj` in place, validating every key."""
    if not isinstance(updates, dict):
        raise UserError(f"{prefix.rstrip('.') or 'config'}: expected a mapping of keys, got {updates!r}")
    types_ = _field_types(type(obj))
    for key, value in updates.items():
        full = prefix + str(key)
        if key not in types_:
            valid = [prefix + k for k in types_]
            raise UserError(f"unknown config key '{full}'{closest(full, valid)}; "
                            f"valid keys here: {', '.join(valid)}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            _apply(current, value, full + ".")
        else:
            setattr(obj, key, _convert(value, types_[key], full))


def all_keys(cfg: Config | None = None) -> list[str]:
    cfg = cfg or Config()
    out = []
    for f in dataclasses.fields(cfg):
        sub = getattr(cfg, f.name)
        out += [f"{f.name}.{g.name}" for g in dataclasses.fields(sub)]
    return out


def parse_overrides(items: list[str]) -> dict:
    """['train.steps=10', 'model.width=32'] -> {'train': {'steps': '10'}, 'model': {'width': '32'}}."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"override '{item}' is not key=value; write for example train.steps=2000")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) != 2 or not all(parts):
            raise UserError(f"override key '{key}' must be section.name{closest(key, all_keys())}")
        out.setdefault(parts[0], {})[parts[1]] = value
    return out


def from_dict(d: dict) -> Config:
    cfg = Config()
    _apply(cfg, d)
    validate(cfg)
    return cfg


def load_config(source: str | None = None, overrides: list[str] = ()) -> Config:
    """Defaults <- preset name or YAML/JSON file <- `key=value` overrides, validated."""
    cfg = Config()
    if source:
        path = Path(source)
        if source in PRESETS:
            _apply(cfg, PRESETS.get(source))
        elif path.suffix in (".yaml", ".yml", ".json") or path.exists():
            if not path.is_file():
                raise UserError(f"config file {path} not found; give a YAML file or a preset "
                                f"({', '.join(PRESETS.keys())})")
            try:
                loaded = yaml.safe_load(path.read_text())
            except (yaml.YAMLError, UnicodeDecodeError) as e:
                raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
            _apply(cfg, loaded or {})
        else:
            PRESETS.get(source)   # raises: unknown preset, with the nearest name
    _apply(cfg, parse_overrides(list(overrides)))
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    """Cross-field checks that types alone cannot express."""
    t = cfg.train
    if t.steps < 0 or t.batch_size < 1 or t.d_steps < 1:
        raise UserError("train.steps must be >= 0, train.batch_size >= 1 and train.d_steps >= 1")
    if t.precision not in ("32", "bf16", "16"):
        raise UserError(f"train.precision={t.precision!r}: choose 32, bf16 or 16")
    if t.ema is not None and not 0.0 <= t.ema < 1.0:
        raise UserError(f"train.ema={t.ema}: a decay in [0, 1), or none to disable")
    for name in ("g_optim", "d_optim"):
        o = getattr(cfg, name)
        if o.name not in ("adam", "rmsprop", "sgd"):
            raise UserError(f"{name}.name={o.name!r}: choose adam, rmsprop or sgd")
        if o.lr <= 0:
            raise UserError(f"{name}.lr must be positive")
    for key in ("g_norm", "d_norm"):
        if getattr(cfg.model, key) not in ("batch", "instance", "none"):
            raise UserError(f"model.{key}={getattr(cfg.model, key)!r}: choose batch, instance or none")
    _validate_regularisers(cfg)
    _validate_translation(cfg)
    _validate_conditional(cfg)
    _validate_stylegan(cfg)


def _validate_translation(cfg: Config) -> None:
    """Image-to-image translation options (issue 7)."""
    d, m, l, t = cfg.data, cfg.model, cfg.loss, cfg.train
    if d.direction not in ("AtoB", "BtoA"):
        raise UserError(f"data.direction={d.direction!r}: choose AtoB or BtoA")
    if d.load_size is not None and (d.resolution is None or d.load_size < d.resolution):
        raise UserError(f"data.load_size={d.load_size}: needs data.resolution set (the crop size) and at least that "
                        "large, for example data.resolution=256 data.load_size=286")
    if m.out_channels is not None and m.out_channels not in (1, 3):
        raise UserError(f"model.out_channels={m.out_channels}: choose 1 or 3, or none for the input's channels")
    if m.unet_depth is not None and not 1 <= m.unet_depth <= 8:
        raise UserError(f"model.unet_depth={m.unet_depth}: choose 1 to 8 down-samplings, or none for the deepest that fits")
    if not 0.0 <= m.dropout < 1.0:
        raise UserError(f"model.dropout={m.dropout}: a probability in [0, 1)")
    if not 1 <= m.d_layers <= 6 or m.resnet_blocks < 0:
        raise UserError(f"model.d_layers={m.d_layers}, model.resnet_blocks={m.resnet_blocks}: "
                        "d_layers must be 1 to 6 and resnet_blocks >= 0")
    for key in ("adv_weight", "l1_weight", "cycle_weight", "identity_weight"):
        if getattr(l, key) < 0:
            raise UserError(f"loss.{key}={getattr(l, key)}: a loss weight must be >= 0 (0 turns the term off)")
    if t.pool_size < 0:
        raise UserError(f"train.pool_size={t.pool_size}: must be >= 0 (0: no pool)")
    if t.lr_decay_start is not None and not 0.0 <= t.lr_decay_start < 1.0:
        raise UserError(f"train.lr_decay_start={t.lr_decay_start}: a fraction of the steps in [0, 1), or none")


def _validate_regularisers(cfg: Config) -> None:
    """Losses, penalties and D options (issue 4)."""
    m, l = cfg.model, cfg.loss
    if m.pack < 1 or cfg.train.batch_size % m.pack:
        raise UserError(f"model.pack={m.pack}: must be >= 1 and divide train.batch_size={cfg.train.batch_size}")
    if m.mbstd < 0 or m.mbstd == 1:
        raise UserError(f"model.mbstd={m.mbstd}: a group size >= 2 such as 4, or 0 to turn it off")
    for key in ("gp", "r1", "r2", "ortho"):
        if getattr(l, key) < 0:
            raise UserError(f"loss.{key}={getattr(l, key)}: a penalty weight must be >= 0 (0 turns it off)")
    if l.reg_interval < 1:
        raise UserError(f"loss.reg_interval={l.reg_interval}: must be >= 1 (1: penalties in every D step)")
    if l.clip is not None and l.clip <= 0:
        raise UserError(f"loss.clip={l.clip}: a positive bound such as 0.01, or none to disable clipping")


def _validate_conditional(cfg: Config) -> None:
    """Conditioning, BigGAN and augmentation options (issue 5)."""
    m, t = cfg.model, cfg.train
    if m.cond_g not in ("cbn", "concat"):
        raise UserError(f"model.cond_g={m.cond_g!r}: choose cbn (conditional BatchNorm) or concat")
    if m.cond_d not in ("projection", "concat", "acgan"):
        raise UserError(f"model.cond_d={m.cond_d!r}: choose projection, concat or acgan")
    if m.embed_dim < 1:
        raise UserError(f"model.embed_dim={m.embed_dim}: must be >= 1, for example 32")
    if m.attention is not None and m.attention < 0:
        raise UserError(f"model.attention={m.attention}: a feature resolution such as 16, 0 for none, or none for the default")
    if cfg.loss.aux_weight < 0:
        raise UserError(f"loss.aux_weight={cfg.loss.aux_weight}: a loss weight must be >= 0")
    if t.augment not in ("none", "diffaugment", "ada"):
        raise UserError(f"train.augment={t.augment!r}: choose none, diffaugment or ada")
    if t.augment_p is not None and not 0.0 <= t.augment_p <= 1.0:
        raise UserError(f"train.augment_p={t.augment_p}: a probability in [0, 1], or none for the default")
    if not 0.0 < t.ada_target < 1.0 or t.ada_interval < 1 or t.ada_kimg <= 0:
        raise UserError(f"train.ada_target={t.ada_target}, ada_interval={t.ada_interval}, ada_kimg={t.ada_kimg}: "
                        "the target must be in (0, 1), the interval >= 1 and ada_kimg > 0")


def _validate_stylegan(cfg: Config) -> None:
    """StyleGAN options (issue 6)."""
    m, l = cfg.model, cfg.loss
    if m.w_dim < 1 or m.mapping_layers < 0 or m.mapping_lr_mul <= 0 or m.style_max_channels < 1:
        raise UserError(f"model.w_dim={m.w_dim}, mapping_layers={m.mapping_layers}, mapping_lr_mul={m.mapping_lr_mul}, "
                        f"style_max_channels={m.style_max_channels}: need w_dim >= 1, mapping_layers >= 0, "
                        "mapping_lr_mul > 0 and style_max_channels >= 1")
    if not 0.0 <= l.style_mixing <= 1.0:
        raise UserError(f"loss.style_mixing={l.style_mixing}: a probability in [0, 1] (0 turns mixing off)")
    if l.pl_weight < 0 or l.pl_interval < 1 or not 0.0 < l.pl_decay <= 1.0:
        raise UserError(f"loss.pl_weight={l.pl_weight}, pl_interval={l.pl_interval}, pl_decay={l.pl_decay}: "
                        "need pl_weight >= 0, pl_interval >= 1 and pl_decay in (0, 1]")


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
