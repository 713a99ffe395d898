"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator, BatchNorm,
ReLU in G and LeakyReLU(0.2) in D, N(0, 0.02) init. Resolution 28 (a 7x7 base), 32 or 64 (4x4)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import (
    DiscriminatorOptions,
    MinibatchStdDev,
    Pack,
    check_norms,
    dcgan_init,
    norm2d,
    spectral_norm_all,
)
from ganforge.models.registry import register_family
from ganforge.schema import ModelConfig


@dataclass
class DCGANConfig(DiscriminatorOptions, ModelConfig):
    family: str = "dcgan"
    z_dim: int = 100
    g_width: int = 64  # channels of G's last hidden layer (doubling per layer up)
    d_width: int = 64  # channels of D's first layer (doubling per layer down)
    g_norm: str = "batch"  # G normalisation: batch | instance | none
    d_norm: str = "batch"  # D normalisation: batch | instance | none (none for WGAN-GP critics)

    def validate(self, cfg) -> None:
        check_norms(self, "g_norm", "d_norm")
        self.check_d_options(cfg)


def dcgan_plan(resolution: int) -> tuple[int, int]:
    """(base size, number of 2x up/down-samplings) for a resolution."""
    plans = {28: (7, 2), 32: (4, 3), 64: (4, 4)}
    if resolution not in plans:
        raise UserError(
            f"DCGAN supports resolutions 28, 32 and 64, not {resolution}; set data.resolution to one of them"
        )
    return plans[resolution]


class DCGANGenerator(nn.Module):
    def __init__(
        self, z_dim: int, channels: int, resolution: int, width: int = 64, norm: str = "batch", sn: bool = False
    ):
        super().__init__()
        base, n_up = dcgan_plan(resolution)
        self.z_dim = z_dim
        ch = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [  # project and reshape: [N, z, 1, 1] -> [N, ch, base, base]
            nn.ConvTranspose2d(z_dim, ch, base, 1, 0, bias=False),
            norm2d(norm, ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), norm2d(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(z[:, :, None, None])  # [N, C, H, W]


class DCGANDiscriminator(nn.Module):
    def __init__(
        self,
        channels: int,
        resolution: int,
        width: int = 64,
        norm: str = "batch",
        sn: bool = False,
        pack: int = 1,
        mbstd: int = 0,
    ):
        super().__init__()
        base, n_down = dcgan_plan(resolution)
        layers: list[nn.Module] = [Pack(pack)] if pack > 1 else []  # [N, C, H, W] -> [N/m, m*C, H, W]
        layers += [nn.Conv2d(channels * pack, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no norm on the input layer
        ch = width
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), norm2d(norm, ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        if mbstd:
            layers.append(MinibatchStdDev(mbstd))  # [N, ch + 1, base, base]
        layers.append(nn.Conv2d(ch + (1 if mbstd else 0), 1, base, 1, 0))  # [N, ch, base, base] -> [N, 1, 1, 1]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)
        if sn:
            spectral_norm_all(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.net(x).flatten()  # [N] logits ([N / pack] with PacGAN packing)


@register_family("dcgan", DCGANConfig)
def build_dcgan(cfg: DCGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """DCGAN (Radford et al. 2016): transposed-conv G, strided-conv D; 28, 32 or 64 pixels"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"DCGAN needs square images [C, H, W], got data of shape {list(shape)}")
    c, res = shape[0], shape[1]
    return {
        "G": DCGANGenerator(cfg.z_dim, c, res, cfg.g_width, cfg.g_norm, sn=cfg.g_sn),
        "D": DCGANDiscriminator(c, res, cfg.d_width, cfg.d_norm, sn=cfg.d_sn, pack=cfg.pack, mbstd=cfg.mbstd),
    }
