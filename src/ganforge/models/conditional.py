"""Class-conditional GANs on the DCGAN and ResNet (SNGAN) backbones: G(z, y) and D(x, y), with y the
int64 class labels [N]. Two families, one per backbone, with the conditioning chosen in the config:

    cdcgan    DCGAN networks (models/dcgan.py), 28, 32 or 64 pixels
    cresnet   SNGAN ResNet networks (models/resnet.py), spectral norm in D by default

    model.cond_g   how G takes y
      cbn          conditional BatchNorm: every BatchNorm of G gets a per-class gain and bias
                   (de Vries et al. 2017; the "categorical conditional BN" of Miyato & Koyama 2018)
      concat       CGAN (Mirza & Osindero 2014): G's input is [z, embed(y)]
    model.cond_d   how D takes y
      projection   Miyato & Koyama 2018, eq. 3: logit = psi(phi(x)) + <embed(y), phi(x)>
      concat       CGAN: embed(y) broadcast to [N, e, H, W] maps, joined to the image's channels
      acgan        AC-GAN (Odena et al. 2017): an unconditional logit psi(phi(x)) plus class logits
                   aux(phi(x)); D(x, y, aux=True) returns (logits [N], class logits [N, K])

phi(x) is the backbone D's feature vector: DCGAN's last feature map flattened ([N, ch * base^2];
psi is then exactly DCGAN's final base x base conv as a linear layer), ResNet's ReLU + global sum
pool ([N, ch]). The training step (incl. AC-GAN's class loss) lives in objectives/conditional.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.errors import UserError
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.layers import (
    ConditionalBatchNorm2d,
    MinibatchStdOptions,
    SpectralNormOptions,
    check_norms,
    norm2d,
    spectral_norm_all,
)
from ganforge.models.registry import register_family
from ganforge.models.resnet import GBlock, ResNetDiscriminator, resnet_plan
from ganforge.models.resnet import _init as resnet_init  # SNGAN's Xavier init, shared with the backbone
from ganforge.objectives.conditional import ConditionalObjective
from ganforge.schema import ModelConfig


@dataclass
class ConditioningOptions:
    """How G and D take the class label (both conditional backbones)."""

    can_condition: ClassVar[bool] = True
    cond_g: str = "cbn"  # G takes y through cbn (conditional BatchNorm) | concat (embedding joined to z)
    cond_d: str = "projection"  # D takes y through projection (Miyato & Koyama 2018) | concat (embedding maps joined to the image) | acgan (auxiliary classifier, Odena et al. 2017)
    embed_dim: int = 32  # label embedding size for concat conditioning
    # cond_g=cbn: the class gains and biases move this many times faster than Adam's lr (models/layers.py,
    # ConditionalBatchNorm2d); 1 is the plain parameterisation, under which G ignored the label for
    # hundreds of steps (docs/benchmarks/time_to_quality.md)
    cbn_lr_mul: float = 200.0

    @property
    def conditional(self) -> bool:
        return True

    def check_conditioning(self) -> None:
        if self.cond_g not in ("cbn", "concat"):
            raise UserError(f"model.cond_g={self.cond_g!r}: choose cbn (conditional BatchNorm) or concat")
        if self.cond_d not in ("projection", "concat", "acgan"):
            raise UserError(f"model.cond_d={self.cond_d!r}: choose projection, concat or acgan")
        if self.embed_dim < 1:
            raise UserError(f"model.embed_dim={self.embed_dim}: must be >= 1, for example 32")
        if not self.cbn_lr_mul > 0:
            raise UserError(f"model.cbn_lr_mul={self.cbn_lr_mul}: must be > 0 (1: the plain parameterisation)")

    @classmethod
    def from_legacy(cls, values: dict) -> dict:
        """Runs saved before model.cbn_lr_mul existed read their class gains as stored (1)."""
        return {**values, "cbn_lr_mul": values.get("cbn_lr_mul", 1.0)}


@dataclass
class CondDCGANConfig(ConditioningOptions, MinibatchStdOptions, SpectralNormOptions, ModelConfig):
    family: str = "cdcgan"
    z_dim: int = 100
    g_width: int = 64  # DCGAN widths (models/dcgan.py)
    d_width: int = 64
    g_norm: str = "batch"  # batch | instance | none; cond_g=cbn needs batch
    d_norm: str = "batch"

    def validate(self, cfg) -> None:
        check_norms(self, "g_norm", "d_norm")
        self.check_conditioning()
        self.check_mbstd()
        if self.cond_g == "cbn" and self.g_norm != "batch":
            raise UserError(
                f"model.cond_g=cbn makes G's BatchNorms conditional, but model.g_norm={self.g_norm}; "
                "set model.g_norm=batch or model.cond_g=concat"
            )


@dataclass
class CondResNetConfig(ConditioningOptions, MinibatchStdOptions, SpectralNormOptions, ModelConfig):
    family: str = "cresnet"
    z_dim: int = 100
    g_width: int = 64  # ResNet widths (models/resnet.py): 4 * g_width in G, 2 * d_width in D
    d_width: int = 64
    d_sn: bool = True  # on, as in SNGAN

    def validate(self, cfg) -> None:
        self.check_conditioning()
        self.check_mbstd()


def _need_labels(y: Tensor | None, what: str) -> Tensor:
    if y is None:
        raise ValueError(f"{what} is class-conditional: call it with labels y (int64 [N])")
    return y


# --- generators -------------------------------------------------------------------------------------
class CondGBlock(GBlock):
    """The SNGAN ResNet up block with conditional BatchNorm in place of both BatchNorms; the condition
    is class labels (num_classes) or a vector [N, cond_dim] (BigGAN: [shared embedding, chunk of z])."""

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0, cond_dim: int = 0, lr_mul: float = 1.0):
        super().__init__(c_in, c_out, "none")
        self.bn1 = ConditionalBatchNorm2d(c_in, num_classes, cond_dim, lr_mul)
        self.bn2 = ConditionalBatchNorm2d(c_out, num_classes, cond_dim, lr_mul)

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, c)), scale_factor=2, mode="nearest")  # [N, c_in, 2H, 2W]
        h = self.conv2(F.relu(self.bn2(self.conv1(h), c)))  # [N, c_out, 2H, 2W]
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class CondDCGANGenerator(nn.Module):
    """DCGAN's generator with y through `cond_g`: concat widens the input to z_dim + embed_dim;
    cbn swaps each BatchNorm2d of DCGAN's stack for a class-conditional one."""

    def __init__(
        self,
        z_dim: int,
        channels: int,
        resolution: int,
        num_classes: int,
        width: int = 64,
        norm: str = "batch",
        cond: str = "cbn",
        embed_dim: int = 32,
        sn: bool = False,
        cbn_lr_mul: float = 1.0,
    ):
        super().__init__()
        self.z_dim, self.num_classes, self.cond = z_dim, num_classes, cond
        extra = embed_dim if cond == "concat" else 0
        base = DCGANGenerator(z_dim + extra, channels, resolution, width, norm)  # N(0, 0.02) init
        layers = list(base.net)
        if cond == "cbn":
            layers = [
                ConditionalBatchNorm2d(m.num_features, num_classes, lr_mul=cbn_lr_mul)
                if isinstance(m, nn.BatchNorm2d)
                else m
                for m in layers
            ]
        self.net = nn.ModuleList(layers)
        self.embed = nn.Embedding(num_classes, embed_dim) if cond == "concat" else None
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = _need_labels(y, "this generator")
        h = z if self.embed is None else torch.cat([z, self.embed(y)], 1)  # [N, z (+ e)]
        h = h[:, :, None, None]  # [N, z, 1, 1]
        for layer in self.net:
            h = layer(h, y) if isinstance(layer, ConditionalBatchNorm2d) else layer(h)
        return h  # [N, C, H, W]


class CondResNetGenerator(nn.Module):
    """The SNGAN ResNet generator (resnet.ResNetGenerator's layout) with y through `cond_g`:
    cbn -> CondGBlocks (Miyato & Koyama 2018's G), concat -> the linear layer reads [z, embed(y)]."""

    def __init__(
        self,
        z_dim: int,
        channels: int,
        resolution: int,
        num_classes: int,
        width: int = 256,
        cond: str = "cbn",
        embed_dim: int = 32,
        sn: bool = False,
        cbn_lr_mul: float = 1.0,
    ):
        super().__init__()
        self.base, n_up = resnet_plan(resolution)
        self.z_dim, self.width, self.num_classes = z_dim, width, num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if cond == "concat" else None
        self.linear = nn.Linear(z_dim + (embed_dim if cond == "concat" else 0), width * self.base**2)
        if cond == "cbn":
            self.blocks = nn.ModuleList([CondGBlock(width, width, num_classes, lr_mul=cbn_lr_mul) for _ in range(n_up)])
        else:
            self.blocks = nn.ModuleList([GBlock(width, width, "batch") for _ in range(n_up)])
        self.bn = norm2d("batch", width)
        self.out = nn.Conv2d(width, channels, 3, 1, 1)
        resnet_init(self)
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        y = _need_labels(y, "this generator")
        h = z if self.embed is None else torch.cat([z, self.embed(y)], 1)  # [N, z (+ e)]
        h = self.linear(h).view(z.shape[0], self.width, self.base, self.base)  # [N, ch, base, base]
        for block in self.blocks:
            h = block(h, y) if isinstance(block, CondGBlock) else block(h)  # [N, ch, 2H, 2W]
        return self.out(F.relu(self.bn(h))).tanh()  # [N, C, H, W]


# --- discriminators ---------------------------------------------------------------------------------
class SumPool(nn.Module):
    """ReLU, then the sum over spatial positions (SNGAN's D head): [N, C, H, W] -> [N, C]."""

    def forward(self, h: Tensor) -> Tensor:
        return F.relu(h).sum(dim=(2, 3))


class ConditionalDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x')) [+ <embed(y), phi(x')>] over a backbone `trunk` computing phi.

    trunk: images [N, C', H, W] -> features [N, feat_dim]; C' = C + embed_dim for concat, where x' is
    x with embed(y) joined as constant maps, else x' = x. mode: projection | concat | acgan.
    init: how the heads and embeddings start: dcgan (N(0, 0.02)), xavier (SNGAN) or ortho (BigGAN)."""

    def __init__(
        self,
        trunk: nn.Module,
        feat_dim: int,
        num_classes: int,
        mode: str,
        embed_dim: int = 32,
        sn: bool = False,
        init: str = "dcgan",
    ):
        super().__init__()
        self.trunk, self.mode, self.num_classes = trunk, mode, num_classes
        self.psi = nn.Linear(feat_dim, 1)
        self.embed = None  # projection: [K, feat_dim]; concat: [K, embed_dim]
        self.aux = None  # acgan: the class head, [feat_dim] -> [K]
        if mode == "projection":
            self.embed = nn.Embedding(num_classes, feat_dim)
        elif mode == "concat":
            self.embed = nn.Embedding(num_classes, embed_dim)
        elif mode == "acgan":
            self.aux = nn.Linear(feat_dim, num_classes)
        else:
            raise ValueError(f"unknown D conditioning {mode!r}")
        for m in (self.psi, self.embed, self.aux):
            if m is None:
                continue
            if init == "dcgan":
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif init == "ortho":  # BigGAN: orthogonal init everywhere
                nn.init.orthogonal_(m.weight)
            else:  # SNGAN code: Xavier-uniform heads and embeddings
                nn.init.xavier_uniform_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        if sn:
            spectral_norm_all(self)  # every conv / linear of trunk and heads
            if mode == "projection":
                spectral_norm(self.embed)  # the projection matrix too, as in Miyato & Koyama's code

    def features(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """phi(x'): [N, feat_dim]."""
        if self.mode == "concat":
            e = self.embed(_need_labels(y, "this discriminator"))  # [N, e]
            x = torch.cat([x, e[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)  # [N, C + e, H, W]
        return self.trunk(x)

    def forward(self, x: Tensor, y: Tensor | None = None, aux: bool = False):
        h = self.features(x, y)  # [N, F]
        out = self.psi(h).squeeze(1)  # [N] psi(phi(x))
        if self.mode == "projection":
            out = out + (self.embed(_need_labels(y, "this discriminator")) * h).sum(1)  # + <embed(y), phi(x)>
        if aux:
            return out, (self.aux(h) if self.aux is not None else None)  # [N], [N, K] or None
        return out  # [N] logits


def dcgan_trunk(channels: int, resolution: int, width: int, norm: str, mbstd: int) -> tuple[nn.Module, int]:
    """DCGAN's D without its final base x base conv, flattened: ([N, C, H, W] -> [N, F], F)."""
    d = DCGANDiscriminator(channels, resolution, width, norm, mbstd=mbstd)  # N(0, 0.02) init
    final = d.net[-1]  # Conv2d(ch, 1, base)
    feat_dim = final.in_channels * final.kernel_size[0] * final.kernel_size[1]
    return nn.Sequential(*list(d.net)[:-1], nn.Flatten()), feat_dim


def resnet_trunk(channels: int, resolution: int, width: int, mbstd: int) -> tuple[nn.Module, int]:
    """SNGAN's ResNet D blocks, then ReLU and global sum pooling: ([N, C, H, W] -> [N, width], width)."""
    d = ResNetDiscriminator(channels, resolution, width, sn=False, mbstd=mbstd)  # Xavier init, SN added later
    return nn.Sequential(d.blocks, SumPool()), width


# --- families ---------------------------------------------------------------------------------------
def check_conditional(family: str, shape: tuple[int, ...], num_classes: int) -> None:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"the {family} family needs square images [C, H, W], got data of shape {list(shape)}")
    if num_classes < 2:
        raise UserError(
            f"the {family} family is class-conditional and needs labelled data with at least 2 "
            f"classes (this data set has {num_classes}); use an unconditional family such as dcgan"
        )


@register_family("cdcgan", CondDCGANConfig, ConditionalObjective)
def build_cdcgan(cfg: CondDCGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Class-conditional DCGAN: CGAN / AC-GAN / projection D (model.cond_d), concat or conditional BN in G"""
    check_conditional("cdcgan", shape, num_classes)
    c, res = shape[0], shape[1]
    extra = cfg.embed_dim if cfg.cond_d == "concat" else 0
    trunk, feat = dcgan_trunk(c + extra, res, cfg.d_width, cfg.d_norm, cfg.mbstd)
    return {
        "G": CondDCGANGenerator(
            cfg.z_dim, c, res, num_classes, cfg.g_width, cfg.g_norm, cfg.cond_g, cfg.embed_dim, cfg.g_sn, cfg.cbn_lr_mul
        ),
        "D": ConditionalDiscriminator(trunk, feat, num_classes, cfg.cond_d, cfg.embed_dim, sn=cfg.d_sn, init="dcgan"),
    }


@register_family("cresnet", CondResNetConfig, ConditionalObjective)
def build_cresnet(cfg: CondResNetConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Class-conditional SNGAN ResNet: projection D and conditional BN (Miyato & Koyama 2018) by default"""
    check_conditional("cresnet", shape, num_classes)
    c, res = shape[0], shape[1]
    extra = cfg.embed_dim if cfg.cond_d == "concat" else 0
    trunk, feat = resnet_trunk(c + extra, res, 2 * cfg.d_width, cfg.mbstd)
    return {
        "G": CondResNetGenerator(
            cfg.z_dim, c, res, num_classes, 4 * cfg.g_width, cfg.cond_g, cfg.embed_dim, cfg.g_sn, cfg.cbn_lr_mul
        ),
        "D": ConditionalDiscriminator(trunk, feat, num_classes, cfg.cond_d, cfg.embed_dim, sn=cfg.d_sn, init="xavier"),
    }
