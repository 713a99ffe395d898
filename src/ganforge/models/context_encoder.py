"""Context encoder (Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting"): an
encoder-decoder that fills the centre of an image from its surroundings, trained with a masked L2
loss plus a small adversarial term (`ganforge.objectives.inpainting`).

    G(x_in, mask) -> out [N, C, H, W] in [-1, 1]   x_in: the image with its hole set to 0; the mask is
                                                    not read (the paper's encoder sees only the image)
    D(x, mask=None) -> logits [N]                   one verdict per image (the completed image)

Encoder: DCGAN-style stride-2 4x4 convs down to [N, ch, base, base] (32 px: 4x4). Bottleneck
(model.bottleneck): `channel-fc`, the paper's channel-wise fully connected layer (sec. 3.1: each
channel's base^2 units fully connected to that channel's base^2 outputs, no mixing across channels)
followed by a 1x1 conv that mixes channels; or `conv`, the paper's released code's variant (a base x
base conv to a vector and a transposed conv back). Decoder: stride-2 4x4 transposed convs back to the
image, Tanh. The bottleneck ties the network to one image size: inference takes images of the
training size only (no tiling).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.dcgan import dcgan_plan
from ganforge.models.ganomaly import conv_trunk
from ganforge.models.layers import check_norms, dcgan_init, norm2d
from ganforge.models.registry import register_family
from ganforge.objectives.inpainting import ContextEncoderObjective
from ganforge.schema import ModelConfig

BOTTLENECKS = ("channel-fc", "conv")


@dataclass
class ContextEncoderConfig(ModelConfig):
    family: str = "context-encoder"
    g_width: int = 64  # channels of the encoder's first layer (x2 per level; the decoder mirrors it)
    d_width: int = 64  # channels of D's first layer (x2 per level)
    bottleneck: str = "channel-fc"  # channel-fc (the paper) | conv (its released code: a vector of bottleneck_dim)
    bottleneck_dim: int = 4000  # bottleneck=conv: the vector's size (the code's nBottleneck: 4000)
    norm: str = "batch"  # BatchNorm in G and D but their input layers (batch | instance | none)

    def validate(self, cfg) -> None:
        check_norms(self, "norm")
        if self.bottleneck not in BOTTLENECKS:
            raise UserError(f"model.bottleneck={self.bottleneck}: choose one of {', '.join(BOTTLENECKS)}")
        for key in ("g_width", "d_width", "bottleneck_dim"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 1")


class ChannelWiseFC(nn.Module):
    """Pathak et al. 2016, sec. 3.1: per channel c, out[c] = W[c] @ in[c] + b[c] over the flattened
    base x base map (C * (HW)^2 weights instead of a full layer's (C HW)^2), then a 1x1 conv (the
    paper's stride-1 convolution) to spread information across channels."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        p = size * size
        self.weight = nn.Parameter(torch.randn(channels, p, p) * (1.0 / p) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(channels, p))
        self.mix = nn.Conv2d(channels, channels, 1)

    def forward(self, h: Tensor) -> Tensor:
        n, c, hh, ww = h.shape
        flat = h.flatten(2)  # [N, C, HW]
        out = torch.einsum("ncp,cpq->ncq", flat, self.weight) + self.bias  # [N, C, HW]
        return self.mix(out.view(n, c, hh, ww))


class ContextEncoderGenerator(nn.Module):
    def __init__(
        self,
        channels: int,
        resolution: int,
        width: int = 64,
        norm: str = "batch",
        bottleneck: str = "channel-fc",
        bottleneck_dim: int = 4000,
    ):
        super().__init__()
        self.resolution = resolution
        self.encoder, ch, base = conv_trunk(channels, resolution, width, norm)  # [N, ch, base, base]
        if bottleneck == "channel-fc":
            self.bottleneck = nn.Sequential(ChannelWiseFC(ch, base), norm2d(norm, ch), nn.ReLU(True))
        else:
            self.bottleneck = nn.Sequential(
                nn.Conv2d(ch, bottleneck_dim, base),  # [N, dim, 1, 1]
                norm2d(norm, bottleneck_dim),
                nn.LeakyReLU(0.2, True),
                nn.ConvTranspose2d(bottleneck_dim, ch, base),  # [N, ch, base, base]
                norm2d(norm, ch),
                nn.ReLU(True),
            )
        _, n_up = dcgan_plan(resolution)
        layers: list[nn.Module] = []
        for _ in range(n_up - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), norm2d(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        dcgan_init(self)
        for m in self.modules():  # dcgan_init leaves the channel-wise weights at their fan-in scale
            if isinstance(m, ChannelWiseFC):
                nn.init.normal_(m.weight, 0.0, (1.0 / m.weight.shape[1]) ** 0.5)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.shape[-2:] != (self.resolution, self.resolution):
            raise UserError(
                f"this context encoder inpaints {self.resolution}x{self.resolution} images, got "
                f"{x.shape[-1]}x{x.shape[-2]}; resize the image or use a fully convolutional family (inpaint-gan)"
            )
        return self.decoder(self.bottleneck(self.encoder(x)))  # [N, C, H, W]


class ContextEncoderDiscriminator(nn.Module):
    """DCGAN-style trunk and a base x base conv to one logit, on the completed image."""

    def __init__(self, channels: int, resolution: int, width: int = 64, norm: str = "batch"):
        super().__init__()
        self.trunk, ch, base = conv_trunk(channels, resolution, width, norm)
        self.head = nn.Conv2d(ch, 1, base)
        dcgan_init(self)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return self.head(self.trunk(x)).flatten()  # [N]


@register_family("context-encoder", ContextEncoderConfig, ContextEncoderObjective, truncation=None, inpaints=True)
def build_context_encoder(
    cfg: ContextEncoderConfig, shape: tuple[int, ...], num_classes: int = 0
) -> dict[str, nn.Module]:
    """Context encoder (Pathak et al. 2016): encoder, channel-wise FC, decoder; inpaints a centre hole (28, 32, 64 px)"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"the context encoder inpaints square images [C, H, W], got data of shape {list(shape)}")
    c, res = shape[0], shape[1]
    return {
        "G": ContextEncoderGenerator(c, res, cfg.g_width, cfg.norm, cfg.bottleneck, cfg.bottleneck_dim),
        "D": ContextEncoderDiscriminator(c, res, cfg.d_width, cfg.norm),
    }
