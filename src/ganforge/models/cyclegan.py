"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two ResNet generators, G: A -> B and F: B -> A (the paper's G and F), and
two PatchGAN discriminators, D_A (judges domain A) and D_B (judges domain B).

The generator is Johnson et al. 2016's: a 7x7 conv, two stride-2 convs down, residual blocks,
two transposed convs up, a 7x7 conv and Tanh, with reflection padding against border artefacts.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import dcgan_init, norm2d
from ganforge.models.pix2pix import PatchDiscriminator, TranslationConfig, check_patch_size, image_shape
from ganforge.models.registry import paired_example, register_family
from ganforge.objectives.translation import CycleGANObjective


@dataclass
class CycleGANConfig(TranslationConfig):
    family: str = "cyclegan"
    resnet_blocks: int = 9  # residual blocks of each generator (Zhu et al. 2017: 6 at 128 px, 9 at 256)

    def validate(self, cfg) -> None:
        super().validate(cfg)
        if self.resnet_blocks < 0:
            raise UserError(f"model.resnet_blocks={self.resnet_blocks}: must be >= 0")


class ResidualBlock(nn.Module):
    """x + (reflect-pad, 3x3 conv, norm, ReLU, reflect-pad, 3x3 conv, norm)(x) (He et al. 2016)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        bias = norm != "batch"
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm2d(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image -> image of the same size; `blocks` residual blocks at 1/4 resolution, width*4 channels."""

    N_DOWN = 2

    def __init__(
        self, in_channels: int, out_channels: int, size: int, width: int = 64, blocks: int = 9, norm: str = "instance"
    ):
        super().__init__()
        if size % 2**self.N_DOWN:
            raise UserError(
                f"the CycleGAN generator halves the image twice: the size must be a multiple of 4, "
                f"got {size}; set data.resolution"
            )
        self.size = size
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            norm2d(norm, width),
            nn.ReLU(True),
        ]
        ch = width
        for _ in range(self.N_DOWN):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=bias), norm2d(norm, ch * 2), nn.ReLU(True)]
            ch *= 2  # [N, 4 width, size/4, size/4] after both
        layers += [ResidualBlock(ch, norm) for _ in range(blocks)]
        for _ in range(self.N_DOWN):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=bias),
                norm2d(norm, ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)  # N(0, 0.02), as in the paper's code

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            raise UserError(
                f"this generator translates {self.size}x{self.size} images, got {x.shape[-2]}x{x.shape[-1]}"
            )
        return self.net(x)  # [N, out_channels, size, size]


@register_family(
    "cyclegan",
    CycleGANConfig,
    CycleGANObjective,
    directions={"AtoB": "G", "BtoA": "F"},
    truncation=None,
    example_data=paired_example,
)
def build_cyclegan(cfg: CycleGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """CycleGAN (Zhu et al. 2017): ResNet G: A->B and F: B->A, PatchGAN D_A and D_B; unpaired data"""
    c_a, size = image_shape(shape, "cyclegan")
    c_b = cfg.out_channels or c_a
    check_patch_size(size, cfg.d_layers)
    return {
        "G": ResnetGenerator(c_a, c_b, size, cfg.g_width, cfg.resnet_blocks, cfg.g_norm),
        "F": ResnetGenerator(c_b, c_a, size, cfg.g_width, cfg.resnet_blocks, cfg.g_norm),
        "D_A": PatchDiscriminator(c_a, cfg.d_width, cfg.d_layers, cfg.d_norm),
        "D_B": PatchDiscriminator(c_b, cfg.d_width, cfg.d_layers, cfg.d_norm),
    }
