"""Super-resolution (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network"): the SRResNet generator and the SRGAN discriminator, one family in
two stages (`model.stage`):

    srresnet   G alone, trained on a content loss (MSE or L1): the PSNR-oriented network
    srgan      G (initialised from an SRResNet run: model.init_from=RUN) + D, trained on content +
               perceptual + adversarial losses: sharper, more photo-like textures

Networks: G(lr) -> sr, images [N, 3, h, w] -> [N, 3, h * scale, w * scale] in [-1, 1] (not clamped:
the inference layer clamps); D(hr) -> logits [N] (VGG-style) or [N, h', w'] (PatchGAN). The data
are high-resolution crops; the objective (`ganforge.objectives.superres`) makes each low-resolution
input from its crop with the benchmark's degradation (`ganforge.data.photos.bicubic_down`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.pix2pix import PatchDiscriminator
from ganforge.models.registry import register_family
from ganforge.objectives.superres import SuperResObjective
from ganforge.schema import ModelConfig

STAGES = ("srresnet", "srgan")
SCALES = (2, 4, 8)
DEFAULT_CROP = 96  # the high-resolution crop side when data.resolution is None (as data.photos)


@dataclass
class SRGANConfig(ModelConfig):
    family: str = "srgan"
    # srresnet: G on the content loss alone, no D | srgan: + D, perceptual and adversarial losses
    stage: str = "srresnet"
    scale: int = 4  # upscaling factor: 2, 4 or 8 (sub-pixel convolutions x2 each)
    g_width: int = 64  # G's channels (Ledig et al.: 64)
    resnet_blocks: int = 16  # G's residual blocks (Ledig et al.: 16)
    norm: str = "batch"  # batch norm in G's residual blocks (Ledig et al.) | none (as EDSR, Lim et al. 2017)
    head_kernel: int = 9  # kernel of G's first and last convolutions (Ledig et al.: 9); 3 is ~9x cheaper at the output
    # G adds the bicubic upscaling of its input to its output, so it learns the residual (VDSR, Kim et al.
    # 2016): it starts at bicubic quality and learns faster; false: the paper's G
    bicubic_skip: bool = False
    discriminator: str = "vgg"  # vgg: Ledig et al.'s strided VGG-style D | patch: a PatchGAN (Isola et al. 2017)
    d_width: int = 64  # D's first channels (Ledig et al.: 64, doubling to 512)
    d_layers: int = 3  # PatchGAN: strided layers (discriminator=patch only)
    # a run directory (or checkpoint) of this family whose G (its EMA copy when kept) starts G: the
    # SRResNet run an SRGAN stage starts from (Ledig et al.); None: G starts from random weights
    init_from: str | None = None

    def validate(self, cfg) -> None:
        if self.stage not in STAGES:
            raise UserError(f"model.stage={self.stage}: choose {' or '.join(STAGES)}")
        if self.scale not in SCALES:
            raise UserError(f"model.scale={self.scale}: choose 2, 4 or 8")
        if self.norm not in ("batch", "none"):
            raise UserError(f"model.norm={self.norm}: choose batch or none")
        if self.discriminator not in ("vgg", "patch"):
            raise UserError(f"model.discriminator={self.discriminator}: choose vgg or patch")
        for key in ("g_width", "resnet_blocks", "d_width"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 1")
        if self.head_kernel < 1 or self.head_kernel % 2 == 0:
            raise UserError(f"model.head_kernel={self.head_kernel}: an odd size such as 9 or 3")
        crop = cfg.data.resolution or DEFAULT_CROP
        if crop % self.scale:
            raise UserError(
                f"data.resolution={crop}: the high-resolution crops must be a multiple of model.scale={self.scale}"
            )


class ResidualBlock(nn.Module):
    """conv3 - BN - PReLU - conv3 - BN, plus the input (Ledig et al. 2017, fig. 4; He et al. 2016)."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        bn = norm == "batch"
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1, bias=not bn),
            nn.BatchNorm2d(ch) if bn else nn.Identity(),
            nn.PReLU(),
            nn.Conv2d(ch, ch, 3, 1, 1, bias=not bn),
            nn.BatchNorm2d(ch) if bn else nn.Identity(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """Ledig et al.'s generator: a k x k conv + PReLU, `blocks` residual blocks, conv + BN and a skip
    over all blocks, then per factor 2 a conv to 4x the channels, a pixel shuffle (sub-pixel
    convolution, Shi et al. 2016) and PReLU, and a k x k conv to RGB. No output activation: outputs
    are unbounded during training (a tanh would slow the last few dB); inference clamps to [-1, 1].
    With `bicubic_skip` the bicubic upscaling of the input is added to the output."""

    def __init__(
        self,
        channels: int = 3,
        scale: int = 4,
        width: int = 64,
        blocks: int = 16,
        norm: str = "batch",
        kernel: int = 9,
        bicubic_skip: bool = False,
    ):
        super().__init__()
        self.scale, self.bicubic_skip = scale, bicubic_skip
        bn = norm == "batch"
        self.head = nn.Sequential(nn.Conv2d(channels, width, kernel, 1, kernel // 2), nn.PReLU())
        self.body = nn.Sequential(
            *[ResidualBlock(width, norm) for _ in range(blocks)],
            nn.Conv2d(width, width, 3, 1, 1, bias=not bn),
            nn.BatchNorm2d(width) if bn else nn.Identity(),
        )
        up: list[nn.Module] = []
        for _ in range(scale.bit_length() - 1):  # log2(scale) x2 steps
            up += [nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU()]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(width, channels, kernel, 1, kernel // 2)

    def forward(self, x: Tensor) -> Tensor:
        h = self.head(x)  # [N, width, h, w]
        h = self.up(h + self.body(h))  # [N, width, h scale, w scale]
        out = self.tail(h)  # [N, C, h scale, w scale]
        if self.bicubic_skip:
            # Keys' a = -0.5 kernel (torch's antialiased path; enlarging, so nothing is blurred)
            # in float32: no bf16 kernel for it, and the skip carries the image's full precision under autocast
            up = F.interpolate(x.float(), scale_factor=self.scale, mode="bicubic", antialias=True, align_corners=False)
            out = out.float() + up
        return out


class VGGDiscriminator(nn.Module):
    """Ledig et al.'s D (fig. 4): conv3 + LeakyReLU(0.2), then 7 conv3 - BN - LeakyReLU blocks with
    channels w, 2w, 2w, 4w, 4w, 8w, 8w and strides alternating 2, 1 (4 halvings in all), a dense layer
    of 1024 + LeakyReLU and a dense layer to one logit. Built for `size` x `size` inputs (the training
    crops), as the paper's dense layer is."""

    def __init__(self, channels: int, size: int, width: int = 64):
        super().__init__()
        if size % 16 or size < 16:
            raise UserError(
                f"the VGG-style discriminator halves its input 4 times: data.resolution={size} must be a "
                "multiple of 16; or use model.discriminator=patch"
            )
        plan = [
            (width, 2),
            (2 * width, 1),
            (2 * width, 2),
            (4 * width, 1),
            (4 * width, 2),
            (8 * width, 1),
            (8 * width, 2),
        ]
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        ch = width
        for c, stride in plan:
            layers += [nn.Conv2d(ch, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            ch = c
        self.features = nn.Sequential(*layers)
        side = size // 16
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(ch * side * side, 1024), nn.LeakyReLU(0.2, True), nn.Linear(1024, 1)
        )
        self.size = size

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            raise UserError(f"this discriminator judges {self.size}x{self.size} crops, got {x.shape[-2]}x{x.shape[-1]}")
        return self.head(self.features(x)).squeeze(1)  # [N]


def example_photos(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Example data for the contract test: n smooth random RGB 'photos' of the shape's size, uint8
    [n, 3, S, S] as the photos-sr data set stores them (the shape's channel count is ignored)."""
    size = shape[-1] // 4 * 4
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 4, size // 4, generator=gen)  # [n, 3, S/4, S/4]
    x = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return {"x": (x * 255).round().to(torch.uint8)}


def make_generator(cfg: SRGANConfig, channels: int = 3) -> SRResNet:
    return SRResNet(channels, cfg.scale, cfg.g_width, cfg.resnet_blocks, cfg.norm, cfg.head_kernel, cfg.bicubic_skip)


@register_family(
    "srgan",
    SRGANConfig,
    SuperResObjective,
    truncation=None,
    restores="upscale",
    example_data=example_photos,
)
def build_srgan(cfg: SRGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """SRResNet / SRGAN x4 super-resolution (Ledig et al. 2017): model.stage=srresnet, then srgan; photo crops"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"srgan trains on square high-resolution crops [C, S, S]; got data of shape {list(shape)}")
    channels, size = shape[0], shape[-1]
    if size % cfg.scale:
        raise UserError(f"the {size} px training crops are not a multiple of model.scale={cfg.scale}")
    nets: dict[str, nn.Module] = {"G": make_generator(cfg, channels)}
    if cfg.stage == "srgan":
        if cfg.discriminator == "vgg":
            nets["D"] = VGGDiscriminator(channels, size, cfg.d_width)
        else:
            nets["D"] = PatchDiscriminator(channels, cfg.d_width, cfg.d_layers, "batch")
    return nets
