"""GANomaly (Akcay et al. 2018): an anomaly detector, not a noise -> image generator. G is an
encoder-decoder-encoder, GE (DCGAN-style strided convs down to z) -> GD (a DCGAN generator) -> E
(GE's shape); D is a DCGAN-style discriminator whose penultimate features G matches. Images of 28
or 32 pixels (64 too); table rows are not supported (images only). What a step computes and the
anomaly score live in `ganforge.objectives.anomaly`.

    G(x) -> (x_hat, z, z_hat)    x [N, C, H, W] in [-1, 1]; z, z_hat [N, z_dim]
    D(x) -> logits [N];  D(x, features=True) -> [N, ch, base, base]
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.dcgan import DCGANGenerator, dcgan_plan
from ganforge.models.layers import check_norms, dcgan_init, norm2d
from ganforge.models.registry import register_family
from ganforge.objectives.anomaly import GANomalyObjective
from ganforge.schema import ModelConfig


@dataclass
class GANomalyConfig(ModelConfig):
    family: str = "ganomaly"
    z_dim: int = 100  # the bottleneck (Akcay et al. 2018: 100)
    g_width: int = 64  # channels of the encoders' first layer and of the decoder's last hidden layer (x2 per level)
    d_width: int = 64  # channels of D's first layer (x2 per level)
    norm: str = "batch"  # BatchNorm in every network but the input layers (batch | instance | none)

    def validate(self, cfg) -> None:
        check_norms(self, "norm")
        for key in ("z_dim", "g_width", "d_width"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 1")


def conv_trunk(channels: int, resolution: int, width: int, norm: str) -> tuple[nn.Sequential, int, int]:
    """DCGAN's strided-conv trunk: [N, C, H, W] -> [N, ch, base, base]; returns (trunk, ch, base)."""
    base, n_down = dcgan_plan(resolution)
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    ch = width
    for _ in range(n_down - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), norm2d(norm, ch * 2), nn.LeakyReLU(0.2, True)]
        ch *= 2
    return nn.Sequential(*layers), ch, base


class Encoder(nn.Module):
    """GE and E: the trunk, then a base x base conv to z (the paper's encoder is D's shape with z outputs)."""

    def __init__(self, channels: int, resolution: int, z_dim: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        self.trunk, ch, base = conv_trunk(channels, resolution, width, norm)
        self.out = nn.Conv2d(ch, z_dim, base, 1, 0, bias=False)  # [N, ch, base, base] -> [N, z, 1, 1]
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.trunk(x)).flatten(1)  # [N, z_dim]


class GANomalyGenerator(nn.Module):
    """x -> GE -> z -> GD -> x_hat -> E -> z_hat (Akcay et al. 2018, fig. 2)."""

    def __init__(self, channels: int, resolution: int, z_dim: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        self.encoder = Encoder(channels, resolution, z_dim, width, norm)  # GE
        self.decoder = DCGANGenerator(z_dim, channels, resolution, width, norm)  # GD
        self.encoder2 = Encoder(channels, resolution, z_dim, width, norm)  # E

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        z = self.encoder(x)  # [N, z_dim]
        x_hat = self.decoder(z)  # [N, C, H, W]
        return x_hat, z, self.encoder2(x_hat)


class GANomalyDiscriminator(nn.Module):
    """The trunk (its output: the features G matches), then a base x base conv to one logit."""

    def __init__(self, channels: int, resolution: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        self.trunk, ch, base = conv_trunk(channels, resolution, width, norm)
        self.head = nn.Conv2d(ch, 1, base, 1, 0)
        dcgan_init(self)

    def forward(self, x: Tensor, y: Tensor | None = None, *, features: bool = False) -> Tensor:
        """[N] logits; features=True: the penultimate features [N, ch, base, base] instead (GANomaly's
        feature matching; a keyword of forward, so it runs through the device wrapper and its autocast)."""
        h = self.trunk(x)
        return h if features else self.head(h).flatten()


@register_family("ganomaly", GANomalyConfig, GANomalyObjective, truncation=None, detects=True)
def build_ganomaly(cfg: GANomalyConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """GANomaly (Akcay et al. 2018): anomaly scores from an encoder-decoder-encoder G; images of 28 or 32 px"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"GANomaly needs square images [C, H, W] (no table rows), got data of shape {list(shape)}")
    c, res = shape[0], shape[1]
    return {
        "G": GANomalyGenerator(c, res, cfg.z_dim, cfg.g_width, cfg.norm),
        "D": GANomalyDiscriminator(c, res, cfg.d_width, cfg.norm),
    }
