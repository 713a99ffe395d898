"""Blocks shared by several families."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError

NORMS = ("batch", "instance", "none")


# --- option groups several families' configs share (dataclass mixins; each family lists its own) --------
def check_norms(cfg_model, *keys: str) -> None:
    for key in keys:
        if getattr(cfg_model, key) not in NORMS:
            raise UserError(f"model.{key}={getattr(cfg_model, key)!r}: choose {', '.join(NORMS)}")


@dataclass
class SpectralNormOptions:
    d_sn: bool = False  # spectral norm on D's layers (Miyato 2018)
    g_sn: bool = False  # spectral norm on G's layers too (SAGAN, Zhang et al. 2019)


@dataclass
class PackingOptions:
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges packs of m samples; 1: off

    def check_pack(self, cfg) -> None:
        if self.pack < 1 or cfg.train.batch_size % self.pack:
            raise UserError(f"model.pack={self.pack}: must be >= 1 and divide train.batch_size={cfg.train.batch_size}")


@dataclass
class MinibatchStdOptions:
    mbstd: int = 0  # minibatch-stddev group size in D (Karras et al. 2018); 0: off

    def check_mbstd(self) -> None:
        if self.mbstd < 0 or self.mbstd == 1:
            raise UserError(f"model.mbstd={self.mbstd}: a group size >= 2 such as 4, or 0 to turn it off")


@dataclass
class DiscriminatorOptions(MinibatchStdOptions, PackingOptions, SpectralNormOptions):
    """The D options of the unconditional image and MLP families."""

    def check_d_options(self, cfg) -> None:
        self.check_pack(cfg)
        self.check_mbstd()


def norm2d(kind: str, channels: int) -> nn.Module:
    """'batch' -> BatchNorm2d, 'instance' -> InstanceNorm2d without affine parameters or running
    statistics (as pix2pix and CycleGAN use it; Ulyanov et al. 2016), 'none' -> identity (e.g. for
    WGAN-GP critics, where BN breaks the penalty)."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2016: conv weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), BN shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def spectral_norm_all(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv / linear weight of `module`, in place:
    W / sigma(W), sigma from one power iteration per training forward. Uses PyTorch's parametrization,
    so the state_dict holds `...parametrizations.weight.original` and the `_u` / `_v` vectors, and
    copy.deepcopy (EMA) keeps it. Call after weight initialisation."""
    from torch.nn.utils.parametrizations import spectral_norm

    for m in list(module.modules()):
        if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
            spectral_norm(m, dim=1)  # transposed convs keep output channels in dim 1
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            spectral_norm(m)
    return module


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018, ProGAN sec. 3): within groups of `group_size`
    samples, the standard deviation of every feature, averaged to one number per group and appended as
    an extra channel (images) or feature (vectors), so D can see a batch with too little variety.
    A batch not divisible by the group size uses the largest group size that divides it."""

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        n = len(x)
        g = max(d for d in range(1, min(self.group_size, n) + 1) if n % d == 0)
        y = x.reshape(g, n // g, *x.shape[1:])  # [G, N/G, ...]: sample i is in group i % (N/G)
        # the variance written out: Tensor.var over the leading dim takes 2-3 ms on [4, 8, 128, 4, 4]
        # on CPU (torch 2.14), 10-60x the explicit form (benchmarks/throughput.md, StyleGAN2's profile)
        var = (y - y.mean(dim=0)).square().mean(dim=0)
        std = (var + 1e-8).sqrt()  # [N/G, ...] per feature, over each group
        stat = std.flatten(1).mean(1)  # [N/G]
        stat = stat.repeat(g)  # [N]: back to every sample of the group
        extra = stat.view(n, 1, *([1] * (x.ndim - 2))).expand(n, 1, *x.shape[2:])  # [N, 1, H, W] or [N, 1]
        return torch.cat([x, extra], 1)


class Pack(nn.Module):
    """PacGAN packing (Lin et al. 2018): D judges m samples at once, concatenated along channels
    (images) or features (vectors): [N, C, ...] -> [N/m, m*C, ...]. Consecutive samples form a pack;
    batches arrive shuffled, so packs are random groups. A D starting with Pack(m) returns N/m logits."""

    def __init__(self, m: int):
        super().__init__()
        self.m = m

    def forward(self, x: Tensor) -> Tensor:
        if len(x) % self.m:
            raise ValueError(f"PacGAN: a batch of {len(x)} samples cannot be split into packs of {self.m}")
        return x.reshape(len(x) // self.m, self.m * x.shape[1], *x.shape[2:])  # [N/m, m*C, ...]


class ConditionalBatchNorm2d(nn.Module):
    """Conditional BatchNorm (de Vries et al. 2017; Dumoulin et al. 2017; used by Miyato & Koyama 2018
    and BigGAN): batch statistics as in BatchNorm2d without affine parameters, then a per-sample gain
    and bias predicted from the condition: out = (1 + gamma(c)) * BN(x) + beta(c).

    `num_classes` > 0: c is int64 labels [N] and gamma, beta are class embeddings (SNGAN-projection's
    "categorical conditional BN"). Else c is a float vector [N, cond_dim] and gamma, beta are linear
    maps of it (BigGAN: c = [shared class embedding, this block's chunk of z]). Both start at
    gamma = 0, beta = 0, i.e. plain BatchNorm with unit scale.

    `lr_mul` (class embeddings only): gamma and beta are read as lr_mul x the stored tables, so Adam's
    step of about lr per entry moves them lr_mul times as fast (the equalised learning rate of ProGAN
    applied to these tables). They start at 0 and must reach O(0.1) before the label shows in the
    images, while the convolutions beside them start at N(0, 0.02) and change by a few percent a
    step. On MNIST (cdcgan-mnist, 800 steps at lr 2e-4) the LeNet read G's samples as their label
    10-11% of the time with lr_mul 1 (chance), 72% with 60 and 86% with 200
    (docs/benchmarks/time_to_quality.md)."""

    def __init__(self, channels: int, num_classes: int = 0, cond_dim: int = 0, lr_mul: float = 1.0):
        super().__init__()
        if (num_classes > 0) == (cond_dim > 0):
            raise ValueError("ConditionalBatchNorm2d: give exactly one of num_classes or cond_dim")
        self.bn = nn.BatchNorm2d(channels, affine=False)
        if num_classes > 0:
            self.gain, self.bias = nn.Embedding(num_classes, channels), nn.Embedding(num_classes, channels)
        else:
            self.gain, self.bias = nn.Linear(cond_dim, channels, bias=False), nn.Linear(cond_dim, channels, bias=False)
        self.lr_mul = float(lr_mul) if num_classes > 0 else 1.0
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        gamma = 1 + self.gain(c) * self.lr_mul  # [N, C]
        beta = self.bias(c) * self.lr_mul  # [N, C]
        return gamma[:, :, None, None] * self.bn(x) + beta[:, :, None, None]  # [N, C, H, W]
