"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial Networks"):
a U-Net generator with skip connections and dropout, and a PatchGAN discriminator that judges
overlapping patches of the (input, output) pair. The PatchGAN is shared with CycleGAN.

Networks: G(a) -> b, images [N, C, H, W] in [-1, 1]; D(b, cond=a) -> patch logits [N, h, w]
(one logit per receptive field; the losses average over them). What a step computes lives in
`ganforge.objectives.translation`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import check_norms, dcgan_init, norm2d
from ganforge.models.registry import paired_example, register_family
from ganforge.objectives.translation import Pix2PixObjective
from ganforge.schema import ModelConfig


@dataclass
class TranslationConfig(ModelConfig):
    """What pix2pix and CycleGAN share: widths, norms, domain B's channels, the PatchGAN's depth."""

    g_width: int = 64  # channels of G's first layer
    d_width: int = 64  # channels of the PatchGAN's first layer
    g_norm: str = "batch"  # batch | instance | none
    d_norm: str = "batch"
    out_channels: int | None = None  # channels of domain B; None: the same as domain A
    d_layers: int = 3  # PatchGAN strided conv layers (3: a 70x70 receptive field)

    def validate(self, cfg) -> None:
        check_norms(self, "g_norm", "d_norm")
        if self.out_channels is not None and self.out_channels not in (1, 3):
            raise UserError(f"model.out_channels={self.out_channels}: choose 1 or 3, or none for the input's channels")
        if not 1 <= self.d_layers <= 6:
            raise UserError(f"model.d_layers={self.d_layers}: must be 1 to 6")


@dataclass
class Pix2PixConfig(TranslationConfig):
    family: str = "pix2pix"
    unet_depth: int | None = None  # U-Net down-samplings; None: halve while even, at most 8 (5 at 32 px, 8 at 256)
    dropout: float = 0.5  # dropout in the U-Net's 3 up-blocks below the bottleneck, its only noise

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if self.unet_depth is not None and not 1 <= self.unet_depth <= 8:
            raise UserError(
                f"model.unet_depth={self.unet_depth}: choose 1 to 8 down-samplings, or none for the deepest that fits"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise UserError(f"model.dropout={self.dropout}: a probability in [0, 1)")


def default_unet_depth(size: int) -> int:
    """Halve while the size stays even, at most 8 times: 5 at 32 px (down to 1x1), 8 at 256."""
    depth = 0
    while size % 2 == 0 and size > 1 and depth < 8:
        size //= 2
        depth += 1
    return depth


class UNetGenerator(nn.Module):
    """U-Net (Ronneberger et al. 2015) as in pix2pix: `depth` stride-2 4x4 convs down, as many
    transposed convs up, the features of down-level i concatenated onto up-level i. Channels at level
    i are width * min(2^i, 8). As in the paper's code: no norm on the outermost and innermost down
    convs, LeakyReLU(0.2) down, ReLU up, Tanh out, and dropout 0.5 in the up-blocks of the 3 levels
    just below the bottleneck -- the generator's only noise, used instead of z (sec. 3.2). (At depth 8
    these are exactly the paper's three dropout blocks; at depth < 8 we keep three such levels, where
    the paper's code would have none, so small models keep their noise.)"""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        size: int,
        depth: int | None = None,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
    ):
        super().__init__()
        depth = default_unet_depth(size) if depth is None else depth
        if depth < 1 or size % (2**depth):
            raise UserError(
                f"a U-Net with {depth} down-samplings needs an image size divisible by "
                f"2^{depth} = {2**depth}, got {size}; set data.resolution to a multiple of "
                f"{2 ** max(depth, 1)} or lower model.unet_depth"
            )
        self.depth, self.size = depth, size
        ch = [width * min(2**i, 8) for i in range(depth)]  # channels after down-block i
        bias = norm != "batch"  # a norm's shift makes a bias redundant
        self.down = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(in_channels if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=bias or i == 0))
            if 0 < i < depth - 1:
                layers.append(norm2d(norm, ch[i]))
            self.down.append(nn.Sequential(*layers))  # [N, ch[i], size / 2^(i+1), ...]
        dropout_levels = set(range(max(1, depth - 4), depth - 1))
        self.up = nn.ModuleList()  # up[i] brings level i's features to level i-1
        for i in range(depth):
            c_in = ch[i] if i == depth - 1 else 2 * ch[i]  # below the bottleneck: skip + upsampled
            if i == 0:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, out_channels, 4, 2, 1), nn.Tanh()]
            else:
                layers = [
                    nn.ReLU(True),
                    nn.ConvTranspose2d(c_in, ch[i - 1], 4, 2, 1, bias=bias),
                    norm2d(norm, ch[i - 1]),
                ]
                if dropout > 0 and i in dropout_levels:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        dcgan_init(self)  # N(0, 0.02), as in the paper's code

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            raise UserError(f"this U-Net translates {self.size}x{self.size} images, got {x.shape[-2]}x{x.shape[-1]}")
        skips = []
        h = x
        for down in self.down:
            h = down(h)
            skips.append(h)  # skips[i]: [N, ch[i], size / 2^(i+1), ...]
        h = self.up[-1](skips[-1])  # the bottleneck back up one level
        for i in range(self.depth - 2, -1, -1):
            h = self.up[i](torch.cat([skips[i], h], 1))  # [N, 2 ch[i], ...] -> level i-1
        return h  # [N, out_channels, size, size]


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017, sec. 3.2.2): `n_layers` stride-2 4x4 convs, one stride-1 conv and a
    1-channel stride-1 conv, so each output logit judges one receptive field: 70x70 pixels for
    n_layers=3 (`receptive_field`). With `cond`, D judges the pair: cond is concatenated to x along
    channels (the conditional GAN of sec. 3.1)."""

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]  # no norm on the input
        ch = width
        for n in range(1, n_layers + 1):
            c = width * min(2**n, 8)
            stride = 2 if n < n_layers else 1  # the last of these keeps the size
            layers += [nn.Conv2d(ch, c, 4, stride, 1, bias=bias), norm2d(norm, c), nn.LeakyReLU(0.2, True)]
            ch = c
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))  # one logit per patch
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers
        dcgan_init(self)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        if cond is not None:
            x = torch.cat([cond, x], 1)  # [N, C_a + C_b, H, W]
        return self.net(x).squeeze(1)  # [N, h, w] patch logits


def receptive_field(module: nn.Module) -> int:
    """Receptive field in pixels of one output unit of a plain chain of convs (the order of
    `module.modules()`): going back from the output, r <- stride * (r - 1) + dilation * (kernel - 1) + 1."""
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    r = 1
    for conv in reversed(convs):
        r = conv.stride[0] * (r - 1) + conv.dilation[0] * (conv.kernel_size[0] - 1) + 1
    return r


def check_patch_size(size: int, n_layers: int) -> None:
    """The PatchGAN halves the size n_layers times, then two 4x4 stride-1 convs remove 1 px each."""
    if size // 2**n_layers - 2 < 1:
        raise UserError(
            f"a PatchGAN with {n_layers} strided layers needs images of at least "
            f"{3 * 2**n_layers} px, got {size}; lower model.d_layers"
        )


def image_shape(shape: tuple[int, ...], family: str) -> tuple[int, int]:
    """(channels, size) of square [C, H, W] data, else UserError."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"{family} translates square images [C, H, W]; got data of shape {list(shape)}")
    return shape[0], shape[1]


@register_family(
    "pix2pix", Pix2PixConfig, Pix2PixObjective, directions={"AtoB": "G"}, truncation=None, example_data=paired_example
)
def build_pix2pix(cfg: Pix2PixConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """pix2pix (Isola et al. 2017): U-Net G, PatchGAN D on (input, output) pairs; paired data"""
    c_a, size = image_shape(shape, "pix2pix")
    c_b = cfg.out_channels or c_a
    check_patch_size(size, cfg.d_layers)
    return {
        "G": UNetGenerator(c_a, c_b, size, cfg.unet_depth, cfg.g_width, cfg.g_norm, cfg.dropout),
        "D": PatchDiscriminator(c_a + c_b, cfg.d_width, cfg.d_layers, cfg.d_norm),
    }
