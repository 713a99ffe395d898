"""StackGAN (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked
Generative Adversarial Networks"): text -> image in two stages, on captions read as word ids.

    G(z, tokens) -> images [N, C, R, R]        z [N, z_dim]; tokens [N, L] int64 word ids (0 = padding)
    G(z, tokens, details=True) -> (images per stage {res: [N, C, res, res]}, [(mu, logvar) per trained CA])
    D(x, tokens) -> logits [N]                 the matching-aware discriminator of x's resolution

    text encoder   word embeddings, masked mean, 2-layer MLP -> e [N, text_dim]: small and trainable,
                   trained jointly with the network it belongs to (G and D each have their own, each
                   learns from its own loss); the paper's pre-trained char-CNN-RNN is not available here
    CA             conditioning augmentation (sec. 3.1): (mu, logvar) = fc(e); c = mu + sigma * eps in
                   training, with the KL term D_KL(N(mu, sigma^2) || N(0, I)) added to G's loss; c = mu
                   at inference (the variety comes from z, so a seed alone fixes a sample).
                   model.ca=false: c = fc(e), no noise, no KL (the ablation)
    stage I        [z, c] -> fc -> 4x4 -> upsampling conv blocks -> R/2 px (16 px for 32 px data)
    stage II       stage I's image -> down-sampling encoder -> joined with its own c (the text again)
                   -> residual blocks -> upsampling -> R px (sec. 3.3)
    D              conv trunk to 4x4 features phi(x), then the text (its own encoder's e) either by
                   model.d_cond=concat: the compressed e replicated 4x4, joined to phi(x), 1x1 conv, 4x4
                   conv to one logit (sec. 3.2, as Reed et al. 2016), or by projection (the default;
                   Miyato & Koyama 2018): psi(phi(x)) + <W e, phi(x)>; the objective shows D (real, right
                   text), (real, wrong text) and (fake, right text)

model.stage=1 trains stage I; model.stage=2 trains stage II on a frozen stage I loaded from
model.init_from=RUN (stage by stage, as the paper), or, with model.joint=true, both stages together
from scratch with a discriminator at each resolution. The training step is objectives/text.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import dcgan_init
from ganforge.models.registry import register_family
from ganforge.objectives.text import StackGANObjective
from ganforge.schema import ModelConfig


@dataclass
class StackGANConfig(ModelConfig):
    family: str = "stackgan"
    stage: int = 1  # 1: stage I at half the data's resolution; 2: stage II at the data's resolution
    init_from: str | None = None  # stage 2: the stage-1 run whose G (text encoder included) is loaded and frozen
    joint: bool = False  # stage 2: train both stages together from scratch instead (no init_from)
    z_dim: int = 100  # noise (paper: 100)
    c_dim: int = 32  # conditioning vector c (paper: 128)
    text_dim: int = 64  # text embedding e (paper: 1024, from a pre-trained char-CNN-RNN)
    word_dim: int = 64  # word embeddings
    vocab_size: int = 512  # rows of each word-embedding table: the training captions' vocabulary must fit
    ca: bool = True  # conditioning augmentation (sec. 3.1); false: c = fc(e), no KL (the ablation)
    g_width: int = 64  # channels at stage I's output resolution (x2 per level down; paper Ng = 128)
    d_width: int = 32  # channels of D's first conv (x2 per level; paper Nd = 64)
    res_blocks: int = 2  # stage II's residual blocks (the paper's code: 4)
    # how D reads the text: concat (the paper's, after Reed et al. 2016: the compressed embedding replicated
    # 4x4, joined to the image features, 1x1 conv) | projection (Miyato & Koyama 2018: logit + <W e, phi(x)>,
    # which made the caption's class matter from the first steps in our runs)
    d_cond: str = "projection"

    def validate(self, cfg) -> None:
        for key in ("z_dim", "c_dim", "text_dim", "word_dim", "g_width", "d_width"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 1")
        if self.vocab_size < 3:
            raise UserError(f"model.vocab_size={self.vocab_size}: must be >= 3 (padding, unknown and one word)")
        if self.d_cond not in ("concat", "projection"):
            raise UserError(f"model.d_cond={self.d_cond!r}: concat (the paper's) or projection")
        if self.res_blocks < 0:
            raise UserError(f"model.res_blocks={self.res_blocks}: must be >= 0")
        if self.stage not in (1, 2):
            raise UserError(f"model.stage={self.stage}: 1 (stage I, low resolution) or 2 (stage II, refined)")
        if self.stage == 1 and (self.init_from or self.joint):
            raise UserError("model.init_from and model.joint are stage-2 options; set model.stage=2 or drop them")
        if self.stage == 2 and self.joint and self.init_from:
            raise UserError("model.joint=true trains both stages from scratch; drop model.init_from")
        if self.stage == 2 and not self.joint and not self.init_from:
            raise UserError(
                "model.stage=2 refines a trained stage I: set model.init_from=RUN (a model.stage=1 run), "
                "or model.joint=true to train both stages together"
            )


# --- text ---------------------------------------------------------------------------------------
class TextEncoder(nn.Module):
    """Word ids [N, L] -> e [N, text_dim]: the masked mean of word embeddings through a 2-layer MLP.
    Order-free (a bag of words): enough for attribute phrases, small enough to learn from the GAN loss."""

    def __init__(self, vocab_size: int, word_dim: int, text_dim: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, word_dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(word_dim, text_dim), nn.LeakyReLU(0.2, True), nn.Linear(text_dim, text_dim))

    def forward(self, tokens: Tensor) -> Tensor:
        if tokens.ndim != 2 or tokens.dtype != torch.int64:
            raise UserError(f"captions reach the text encoder as word ids [N, L] (int64), got {list(tokens.shape)}")
        if int(tokens.max()) >= self.vocab_size:
            raise UserError(
                f"a word id {int(tokens.max())} is outside the model's {self.vocab_size} word embeddings; "
                "raise model.vocab_size above the vocabulary's size"
            )
        mask = (tokens != 0).unsqueeze(-1).float()  # [N, L, 1]
        mean = (self.embed(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1)  # [N, word_dim]
        return self.mlp(mean)


class CondAugment(nn.Module):
    """Conditioning augmentation: e -> (c, mu, logvar). ca=False: c = mu = fc(e), logvar None."""

    def __init__(self, text_dim: int, c_dim: int, ca: bool = True):
        super().__init__()
        self.ca = ca
        self.fc = nn.Linear(text_dim, 2 * c_dim if ca else c_dim)  # PyTorch's default init (not DCGAN's 0.02)
        if ca:  # sigma starts at exp(-2): the text is heard over the noise from the first steps; the KL raises it
            nn.init.constant_(self.fc.bias[c_dim:], -4.0)

    def forward(self, e: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        h = self.fc(e)
        if not self.ca:
            return F.leaky_relu(h, 0.2), h, None
        mu, logvar = h.chunk(2, dim=1)  # [N, c_dim] each
        if not self.training:
            return mu, mu, logvar  # inference: the mean (a seed's z alone fixes the sample)
        eps = torch.randn_like(mu)  # the global RNG: saved in checkpoints
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


# --- generators ---------------------------------------------------------------------------------
def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """x2 nearest upsampling, 3x3 conv, BatchNorm, ReLU (StackGAN's upsampling block)."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(True),
    )


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
            nn.BatchNorm2d(ch),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.body(x))


class StageI(nn.Module):
    """[z, c] -> image [N, C, res, res]: fc to [N, ch, 4, 4], then log2(res / 4) upsampling blocks."""

    def __init__(self, z_dim: int, c_dim: int, channels: int, res: int, width: int):
        super().__init__()
        n_up = int(math.log2(res // 4))
        self.ch = width * 2**n_up  # [N, ch, 4, 4] at the bottom, halved at each level
        self.fc = nn.Sequential(
            nn.Linear(z_dim + c_dim, self.ch * 16, bias=False), nn.BatchNorm1d(self.ch * 16), nn.ReLU(True)
        )
        self.ups = nn.Sequential(*[up_block(self.ch // 2**i, self.ch // 2 ** (i + 1)) for i in range(n_up)])
        self.out = nn.Sequential(nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: Tensor, c: Tensor) -> Tensor:
        h = self.fc(torch.cat([z, c], 1)).view(len(z), self.ch, 4, 4)  # [N, ch, 4, 4]
        return self.out(self.ups(h))  # [N, C, res, res]


class StageII(nn.Module):
    """Stage I's image [N, C, r, r] + c -> [N, C, 2r, 2r]: encode down to r/2, join c, residual blocks,
    upsample twice (sec. 3.3: the text again corrects what stage I got wrong and adds detail)."""

    def __init__(self, c_dim: int, channels: int, width: int, res_blocks: int):
        super().__init__()
        ch = 2 * width
        self.encode = nn.Sequential(
            nn.Conv2d(channels, width, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(width, ch, 4, 2, 1, bias=False),  # r -> r / 2
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        )
        self.joint = nn.Sequential(nn.Conv2d(ch + c_dim, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True))
        self.res = nn.Sequential(*[ResBlock(ch) for _ in range(res_blocks)])
        half = max(1, width // 2)
        self.ups = nn.Sequential(up_block(ch, width), up_block(width, half))  # r/2 -> 2r
        self.out = nn.Sequential(nn.Conv2d(half, channels, 3, 1, 1), nn.Tanh())

    def forward(self, img: Tensor, c: Tensor) -> Tensor:
        h = self.encode(img)  # [N, 2w, r/2, r/2]
        h = torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)  # [N, 2w + c, r/2, r/2]
        return self.out(self.ups(self.res(self.joint(h))))  # [N, C, 2r, 2r]


class StackGANGenerator(nn.Module):
    """The text encoder, stage I with its CA, and at stage 2 stage II with its own CA. `frozen`: stage I
    (text encoder included) runs without gradients and stays in eval mode (stage-by-stage training)."""

    def __init__(self, cfg: StackGANConfig, channels: int, res: int):
        super().__init__()
        self.z_dim, self.stage, self.res = cfg.z_dim, cfg.stage, res
        self.frozen = cfg.stage == 2 and not cfg.joint
        self.text = TextEncoder(cfg.vocab_size, cfg.word_dim, cfg.text_dim)
        self.ca1 = CondAugment(cfg.text_dim, cfg.c_dim, cfg.ca)
        self.stage1 = StageI(cfg.z_dim, cfg.c_dim, channels, res // 2, cfg.g_width)
        if cfg.stage == 2:
            self.ca2 = CondAugment(cfg.text_dim, cfg.c_dim, cfg.ca)
            self.stage2 = StageII(cfg.c_dim, channels, cfg.g_width, cfg.res_blocks)
        for net in (self.stage1, getattr(self, "stage2", None)):  # DCGAN's init for the image networks only
            if net is not None:
                dcgan_init(net)
        self.train()  # a frozen stage I starts in eval mode too

    def first_stage(self) -> list[nn.Module]:
        return [self.text, self.ca1, self.stage1]

    def train(self, mode: bool = True) -> StackGANGenerator:
        super().train(mode)
        if self.frozen:
            for m in self.first_stage():
                m.eval()  # its BatchNorm statistics stay those stage I was trained with
        return self

    def forward(self, z: Tensor, tokens: Tensor | None = None, *, details: bool = False):
        if tokens is None:
            raise UserError(
                "a stackgan model draws images from text: give a caption (ganforge sample RUN --text '...')"
            )
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            e = self.text(tokens)  # [N, text_dim]
            c1, mu1, lv1 = self.ca1(e)
            img1 = self.stage1(z, c1)  # [N, C, res / 2, res / 2]
        images, stats = {img1.shape[-1]: img1}, ([] if self.frozen else [(mu1, lv1)])
        if self.stage == 2:
            c2, mu2, lv2 = self.ca2(e)
            images[self.res] = self.stage2(img1, c2)  # [N, C, res, res]
            stats.append((mu2, lv2))
        if details:
            return images, stats
        return images[max(images)]


# --- discriminators -----------------------------------------------------------------------------
class MatchingDiscriminator(nn.Module):
    """D(x, tokens) -> [N] logits at one resolution: is x real *and* does it match the text?"""

    def __init__(self, channels: int, res: int, width: int, cfg: StackGANConfig):
        super().__init__()
        n_down = int(math.log2(res // 4))
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(n_down - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.trunk = nn.Sequential(*layers)  # [N, C, res, res] -> [N, ch, 4, 4]
        self.text = TextEncoder(cfg.vocab_size, cfg.word_dim, cfg.text_dim)
        self.mode = cfg.d_cond
        if self.mode == "concat":
            self.compress = nn.Sequential(nn.Linear(cfg.text_dim, cfg.c_dim), nn.LeakyReLU(0.2, True))
            self.joint = nn.Sequential(
                nn.Conv2d(ch + cfg.c_dim, ch, 1, 1, 0, bias=False), nn.BatchNorm2d(ch), nn.LeakyReLU(0.2, True)
            )
            self.head = nn.Conv2d(ch, 1, 4, 1, 0)
        else:  # projection: logit = psi(phi(x)) + <W e, phi(x)>, phi(x) the 4x4 features flattened
            self.psi = nn.Linear(ch * 16, 1)
            self.proj = nn.Linear(cfg.text_dim, ch * 16, bias=False)

    def forward(self, x: Tensor, tokens: Tensor) -> Tensor:
        h = self.trunk(x)  # [N, ch, 4, 4]
        e = self.text(tokens)  # [N, text_dim]
        if self.mode == "projection":
            phi = h.flatten(1)  # [N, ch * 16]
            return self.psi(phi).squeeze(1) + (self.proj(e) * phi).sum(1)  # [N]
        t = self.compress(e)  # [N, c_dim]
        h = torch.cat([h, t[:, :, None, None].expand(-1, -1, 4, 4)], 1)  # [N, ch + c_dim, 4, 4]
        return self.head(self.joint(h)).flatten()  # [N]


class StackGANDiscriminator(nn.Module):
    """One matching-aware D per resolution being trained; D(x, tokens) picks the one of x's size."""

    def __init__(self, channels: int, resolutions: list[int], width: int, cfg: StackGANConfig):
        super().__init__()
        self.nets = nn.ModuleDict({str(r): MatchingDiscriminator(channels, r, width, cfg) for r in resolutions})
        dcgan_init(self)

    def forward(self, x: Tensor, tokens: Tensor) -> Tensor:
        key = str(x.shape[-1])
        if key not in self.nets:
            raise UserError(f"no discriminator for {x.shape[-1]} px images (this one judges {', '.join(self.nets)} px)")
        return self.nets[key](x, tokens)


def text_example(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Example data for the contract test: images, labels, and 2 captions of 8 word ids per image."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, 20, (n, 2, 8), generator=gen)
    tokens[:, :, 5:] = 0  # padding
    return {
        "x": torch.rand(n, *shape, generator=gen) * 2 - 1,
        "y": torch.randint(0, 10, (n,), generator=gen),
        "tokens": tokens,
    }


@register_family("stackgan", StackGANConfig, StackGANObjective, text=True, example_data=text_example)
def build_stackgan(cfg: StackGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """StackGAN (Zhang et al. 2017): text -> image, stage I at half resolution, stage II refines; captioned data"""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 16 or shape[1] & (shape[1] - 1):
        raise UserError(
            f"StackGAN needs square images of 16, 32, 64 ... px, got data of shape {list(shape)}; "
            "set data.resolution=32"
        )
    c, res = shape[0], shape[1]
    d_res = [res // 2] if cfg.stage == 1 else ([res // 2, res] if cfg.joint else [res])
    return {"G": StackGANGenerator(cfg, c, res), "D": StackGANDiscriminator(c, d_res, cfg.d_width, cfg)}
