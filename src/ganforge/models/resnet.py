"""ResNet GAN in the SNGAN style (Miyato et al. 2018, "Spectral Normalization for GANs", appendix B.4,
the CIFAR-10 networks; the blocks follow Gulrajani et al. 2017's WGAN-GP ResNet):

    G: z -> linear -> [4 x 4 x ch] -> ResBlockUp x n -> BN, ReLU, conv3x3, tanh        ch = 4 * g_width (256)
    D: x -> OptimizedBlock (down) -> ResBlockDown x (n - 2) -> ResBlock x 2 -> ReLU,
       global sum pool, linear                                                          ch = 2 * d_width (128)

with spectral normalisation on every layer of D (model.d_sn, on unless set false) and no
normalisation layers in D. Works with every registered loss (SNGAN used hinge). Resolutions: any
size that halves down to a base of 4 to 7 pixels: 32 and 64 (base 4), 28 (base 7), 48 (base 6), ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import (
    DiscriminatorOptions,
    MinibatchStdDev,
    Pack,
    check_norms,
    norm2d,
    spectral_norm_all,
)
from ganforge.models.registry import register_family
from ganforge.schema import ModelConfig


@dataclass
class ResNetConfig(DiscriminatorOptions, ModelConfig):
    family: str = "resnet"
    z_dim: int = 100
    g_width: int = 64  # G's blocks have 4 * g_width channels (SNGAN: 256)
    d_width: int = 64  # D's blocks have 2 * d_width channels (SNGAN: 128)
    g_norm: str = "batch"  # G normalisation: batch | instance | none (D has none, as in SNGAN)
    d_sn: bool = True  # spectral norm on D's layers: on, as in SNGAN

    def validate(self, cfg) -> None:
        check_norms(self, "g_norm")
        self.check_d_options(cfg)


def resnet_plan(resolution: int) -> tuple[int, int]:
    """(base size, number of 2x upsamplings): halve while the result stays >= 4 pixels."""
    base, n = resolution, 0
    while base % 2 == 0 and base // 2 >= 4:
        base, n = base // 2, n + 1
    if n < 1 or base > 7:
        raise UserError(
            f"the resnet family needs a resolution that halves down to 4-7 pixels (28, 32, 48, 64, "
            f"...), not {resolution}; set data.resolution, e.g. data.resolution=32"
        )
    return base, n


def _init(module: nn.Module) -> None:
    """Xavier-uniform as in the SNGAN code: gain sqrt(2) in the residual paths (ReLU follows), 1 in
    shortcuts and linear layers; biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight, math.sqrt(2) if m.kernel_size[0] == 3 else 1.0)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            nn.init.zeros_(m.bias)


class GBlock(nn.Module):
    """Pre-activation up block: BN, ReLU, 2x nearest upsample, conv3x3, BN, ReLU, conv3x3;
    shortcut: upsample, conv1x1. [N, c_in, H, W] -> [N, c_out, 2H, 2W]."""

    def __init__(self, c_in: int, c_out: int, norm: str):
        super().__init__()
        self.bn1, self.bn2 = norm2d(norm, c_in), norm2d(norm, c_out)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.skip(F.interpolate(x, scale_factor=2, mode="nearest"))


class DBlock(nn.Module):
    """D block: [ReLU,] conv3x3, ReLU, conv3x3, [avg-pool 2x]; shortcut: [conv1x1, avg-pool] when the
    shape changes, else identity. `first` is SNGAN's "optimized" input block: no ReLU on the raw image,
    and the shortcut pools before its 1x1 conv. [N, c_in, H, W] -> [N, c_out, H or H/2, W or W/2]."""

    def __init__(self, c_in: int, c_out: int, down: bool, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if (down or c_in != c_out) else None

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.skip is not None:
            if self.first:
                s = self.skip(F.avg_pool2d(s, 2))
            else:
                s = self.skip(s)
                s = F.avg_pool2d(s, 2) if self.down else s
        return h + s


class ResNetGenerator(nn.Module):
    def __init__(
        self, z_dim: int, channels: int, resolution: int, width: int = 256, norm: str = "batch", sn: bool = False
    ):
        super().__init__()
        self.base, n_up = resnet_plan(resolution)
        self.z_dim, self.width = z_dim, width
        self.linear = nn.Linear(z_dim, width * self.base * self.base)
        self.blocks = nn.Sequential(*[GBlock(width, width, norm) for _ in range(n_up)])
        self.bn = norm2d(norm, width)
        self.out = nn.Conv2d(width, channels, 3, 1, 1)
        _init(self)
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.linear(z).view(z.shape[0], self.width, self.base, self.base)  # [N, ch, base, base]
        h = self.blocks(h)  # [N, ch, H, W]
        return self.out(F.relu(self.bn(h))).tanh()  # [N, C, H, W] in [-1, 1]


class ResNetDiscriminator(nn.Module):
    def __init__(
        self, channels: int, resolution: int, width: int = 128, sn: bool = True, pack: int = 1, mbstd: int = 0
    ):
        super().__init__()
        _, n_up = resnet_plan(resolution)
        n_down = max(n_up - 1, 1)  # 32 -> 8 x 8 features, as in SNGAN's CIFAR D
        self.pack = Pack(pack) if pack > 1 else nn.Identity()  # [N, C, H, W] -> [N/m, m*C, H, W]
        blocks: list[nn.Module] = [DBlock(channels * pack, width, down=True, first=True)]
        blocks += [DBlock(width, width, down=True) for _ in range(n_down - 1)]
        blocks.append(DBlock(width, width, down=False))
        if mbstd:
            blocks.append(MinibatchStdDev(mbstd))  # [N, ch + 1, h, w]
        blocks.append(DBlock(width + (1 if mbstd else 0), width, down=False))
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(width, 1)
        _init(self)
        if sn:
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.blocks(self.pack(x))  # [N, ch, h, w]
        h = F.relu(h).sum(dim=(2, 3))  # global sum pooling: [N, ch]
        return self.linear(h).squeeze(1)  # [N] logits ([N / pack] with PacGAN packing)


@register_family("resnet", ResNetConfig)
def build_resnet(cfg: ResNetConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """SNGAN-style ResNet G and D with spectral norm (Miyato et al. 2018); 32x32 and similar"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"the resnet family needs square images [C, H, W], got data of shape {list(shape)}")
    c, res = shape[0], shape[1]
    return {
        "G": ResNetGenerator(cfg.z_dim, c, res, 4 * cfg.g_width, cfg.g_norm, sn=cfg.g_sn),
        "D": ResNetDiscriminator(c, res, 2 * cfg.d_width, sn=cfg.d_sn, pack=cfg.pack, mbstd=cfg.mbstd),
    }
