"""BigGAN (Brock et al. 2019, "Large Scale GAN Training for High Fidelity Natural Image Synthesis"),
at 32 or 64 pixels, with the architecture of the authors' BigGAN-PyTorch code (arch[32], arch[64]):

    G: z = [z_0, z_1, ..., z_B]  (hierarchical latent: one chunk for the input layer, one per block)
       e = shared(y)             (one class embedding shared by every block)
       h = linear(z_0) -> [N, 4 * ... * width, 4, 4]
       h = CondGBlock(h, c_i = [e, z_i]) for each of the B up blocks; conditional BN gains and
           biases are linear in c_i; self-attention after the block that reaches `attention` pixels
       x = tanh(conv3x3(ReLU(BN(h))))
    D: ResNet D blocks (first one "optimized"), self-attention at `attention` pixels, ReLU, global
       sum pool, and a projection head: logit = psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018)

Spectral norm on every conv / linear of D (and its projection embedding) and, with model.g_sn=true
(set by the biggan presets), of G; orthogonal initialisation. What else BigGAN is, lives elsewhere: the hinge loss (losses.py), orthogonal
regularisation beta * sum ||W W^T (.) (1 - I)||^2 over G's weights except the shared embedding
(regularizers.orthogonal_penalty, loss.ortho, applied by objectives/conditional.py), EMA of G's
weights (train.ema), and the truncation trick at sampling (ganforge.inference.sampling.truncated_normal).

Channels, as multiples of model.g_width / model.d_width (BigGAN-PyTorch's ch):
    32 px  G blocks 4 -> 4 -> 4 -> 4              D blocks 4, 4 (down), 4, 4
    64 px  G blocks 16 -> 16 -> 8 -> 4 -> 2       D blocks 1, 2, 4, 8 (down), 16
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.conditional import CondGBlock, ConditionalDiscriminator, SumPool, check_conditional
from ganforge.models.layers import SpectralNormOptions, spectral_norm_all
from ganforge.models.registry import register_family
from ganforge.models.resnet import DBlock
from ganforge.objectives.conditional import ConditionalObjective
from ganforge.schema import ModelConfig


@dataclass
class BigGANConfig(SpectralNormOptions, ModelConfig):
    can_condition: ClassVar[bool] = True
    family: str = "biggan"
    z_dim: int = 100  # split into chunks: one for the input layer, one per G block (hierarchical z)
    g_width: int = 64  # channel multiplier of G (BigGAN's ch)
    d_width: int = 64  # channel multiplier of D
    embed_dim: int = 32  # the shared class embedding (Brock 2019: 128)
    attention: int | None = (
        None  # feature resolution of the self-attention block in G and D; None: half the image size; 0: none
    )
    d_sn: bool = True  # spectral norm on D (and G with g_sn), as in BigGAN

    @property
    def conditional(self) -> bool:
        return True

    def validate(self, cfg) -> None:
        if self.embed_dim < 1:
            raise UserError(f"model.embed_dim={self.embed_dim}: must be >= 1, for example 128")
        if self.attention is not None and self.attention < 0:
            raise UserError(
                f"model.attention={self.attention}: a feature resolution such as 16, 0 for none, "
                "or none for the default"
            )


# resolution -> (G channel multiples: input of block 1, then each block's output; D blocks' outputs
# and whether each halves the size)
ARCH = {
    32: ([4, 4, 4, 4], [4, 4, 4, 4], [True, True, False, False]),
    64: ([16, 16, 8, 4, 2], [1, 2, 4, 8, 16], [True, True, True, True, False]),
}


class SelfAttention(nn.Module):
    """Self-attention over spatial positions (Zhang et al. 2019, SAGAN; BigGAN's variant): queries
    theta (C/8 channels) at every position, keys phi (C/8) and values g (C/2) max-pooled 2x, then a
    1x1 conv o back to C channels; out = x + gamma * o(attention), gamma learnt from 0, so the block
    starts as the identity. [N, C, H, W] -> [N, C, H, W]; H and W must be even."""

    def __init__(self, channels: int):
        super().__init__()
        self.c_qk, self.c_v = max(1, channels // 8), max(1, channels // 2)
        self.theta = nn.Conv2d(channels, self.c_qk, 1, bias=False)
        self.phi = nn.Conv2d(channels, self.c_qk, 1, bias=False)
        self.g = nn.Conv2d(channels, self.c_v, 1, bias=False)
        self.o = nn.Conv2d(self.c_v, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2)  # [N, C/8, HW]
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # [N, C/8, HW/4]
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # [N, C/2, HW/4]
        beta = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # [N, HW, HW/4]: attention per position
        o = (g @ beta.transpose(1, 2)).view(n, self.c_v, h, w)  # [N, C/2, H, W]
        return x + self.gamma * self.o(o)


def _ortho_init(module: nn.Module) -> None:
    """BigGAN's G_init / D_init 'ortho': orthogonal conv, linear and embedding weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def attention_resolution(resolution: int, attention: int | None) -> int:
    """model.attention: None -> half the image size (16 at 32 px, 32 at 64 px); 0 -> no attention."""
    return resolution // 2 if attention is None else attention


class BigGANGenerator(nn.Module):
    ortho_exclude = ("shared",)  # BigGAN-PyTorch leaves the shared embedding out of ortho reg

    def __init__(
        self,
        z_dim: int,
        channels: int,
        resolution: int,
        num_classes: int,
        width: int = 64,
        shared_dim: int = 128,
        attention: int | None = None,
        sn: bool = True,
    ):
        super().__init__()
        mults = ARCH[resolution][0]
        n_blocks = len(mults) - 1
        if z_dim < n_blocks + 1:
            raise UserError(
                f"BigGAN at {resolution} px splits z into {n_blocks + 1} chunks (one per block and one "
                f"for the input); model.z_dim={z_dim} is too small, use e.g. 120"
            )
        self.z_dim, self.num_classes, self.n_chunks = z_dim, num_classes, n_blocks + 1
        chunks = [len(c) for c in torch.arange(z_dim).tensor_split(self.n_chunks)]  # as z.tensor_split does
        self.c0 = mults[0] * width
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.linear = nn.Linear(chunks[0], self.c0 * 4 * 4)
        self.blocks = nn.ModuleList()
        self.attn = nn.ModuleDict()  # str(block index) -> attention after it
        at = attention_resolution(resolution, attention)
        size = 4
        for i in range(n_blocks):
            c_in, c_out = mults[i] * width, mults[i + 1] * width
            self.blocks.append(CondGBlock(c_in, c_out, cond_dim=shared_dim + chunks[i + 1]))
            size *= 2
            if size == at:
                self.attn[str(i)] = SelfAttention(c_out)
        self.bn = nn.BatchNorm2d(mults[-1] * width)
        self.out = nn.Conv2d(mults[-1] * width, channels, 3, 1, 1)
        _ortho_init(self)  # also gives CBN's gain/bias maps non-zero weights for SN
        if sn:
            spectral_norm_all(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if y is None:
            raise ValueError("BigGAN's generator is class-conditional: call it with labels y (int64 [N])")
        zs = z.tensor_split(self.n_chunks, dim=1)  # hierarchical latent: [z_0, ..., z_B]
        e = self.shared(y)  # [N, shared_dim]
        h = self.linear(zs[0]).view(z.shape[0], self.c0, 4, 4)  # [N, c0, 4, 4]
        for i, block in enumerate(self.blocks):
            h = block(h, torch.cat([e, zs[i + 1]], 1))  # [N, c_i, 2H, 2W], CBN conditioned on [e, z_i]
            if str(i) in self.attn:
                h = self.attn[str(i)](h)
        return self.out(F.relu(self.bn(h))).tanh()  # [N, C, H, W] in [-1, 1]


def biggan_discriminator(
    channels: int, resolution: int, num_classes: int, width: int = 64, attention: int | None = None, sn: bool = True
) -> ConditionalDiscriminator:
    """BigGAN's D: ResNet blocks (resnet.DBlock) with self-attention, sum pool, projection head."""
    _, mults, downs = ARCH[resolution]
    at = attention_resolution(resolution, attention)
    layers: list[nn.Module] = []
    c_in, size = channels, resolution
    for i, (m, down) in enumerate(zip(mults, downs)):
        layers.append(DBlock(c_in, m * width, down=down, first=(i == 0)))
        c_in, size = m * width, size // 2 if down else size
        if size == at and down:  # once, after the block that reaches it
            layers.append(SelfAttention(c_in))
    trunk = nn.Sequential(*layers, SumPool())  # [N, C, H, W] -> [N, c_last]
    _ortho_init(trunk)
    return ConditionalDiscriminator(trunk, c_in, num_classes, "projection", sn=sn, init="ortho")


@register_family("biggan", BigGANConfig, ConditionalObjective)
def build_biggan(cfg: BigGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """BigGAN (Brock et al. 2019): shared embedding, hierarchical z, conditional BN, attention, SN; 32 or 64 px"""
    check_conditional("biggan", shape, num_classes)
    c, res = shape[0], shape[1]
    if res not in ARCH:
        raise UserError(f"the biggan family supports 32 and 64 pixels, not {res}; set data.resolution=32 or 64")
    at = attention_resolution(res, cfg.attention)
    g_sizes = [4 * 2 ** (i + 1) for i in range(len(ARCH[res][0]) - 1)]
    d_sizes = [res // 2 ** (i + 1) for i, d in enumerate(ARCH[res][2]) if d]
    if at and (at not in g_sizes or at not in d_sizes):
        valid = sorted(set(g_sizes) & set(d_sizes))
        raise UserError(
            f"model.attention={at}: at {res} px attention can sit at {', '.join(map(str, valid))} "
            "pixels (or 0 for none)"
        )
    return {
        "G": BigGANGenerator(cfg.z_dim, c, res, num_classes, cfg.g_width, cfg.embed_dim, cfg.attention, sn=cfg.g_sn),
        "D": biggan_discriminator(c, res, num_classes, cfg.d_width, cfg.attention, sn=cfg.d_sn),
    }
