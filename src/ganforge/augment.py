"""Differentiable augmentation of D's inputs, for training GANs on little data.

Both methods augment every image D sees -- real and generated, in D's step and in G's step -- with
transforms that are differentiable in the image, so G's gradient flows back through them:

    DiffAugment   Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training":
                  the policy "color,translation,cutout" applied to every sample (p = 1)
    ADA           Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data":
                  each transform is applied to a sample with probability p, and p is adapted during
                  training from the overfitting heuristic r_t = E[sign(D(x_real))]: every
                  `interval` D steps, p += sign(r_t - target) * (images seen) / (kimg * 1000),
                  clipped to [0, 1] (`AdaController`). p and its running sums are training state,
                  saved in checkpoints through the objective's state hooks.

A transform is `fn(x, apply) -> x'` for images x [N, C, H, W] in [-1, 1] and a boolean mask
apply [N] of the samples to transform; the others come out unchanged. Random parameters are drawn
from the global torch RNG (saved in checkpoints, so resume is exact) for every sample, masked or
not, so the draws do not depend on p. Magnitudes follow the DiffAugment code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganforge.errors import UserError
from ganforge.registry import Registry

AUGMENTS: Registry[Callable[[Tensor, Tensor], Tensor]] = Registry("augmentation")


def _uniform(x: Tensor, low: float, high: float) -> Tensor:
    """One U[low, high) draw per sample, shaped [N, 1, 1, 1] to broadcast over an image."""
    return torch.rand(len(x), 1, 1, 1, device=x.device, dtype=x.dtype) * (high - low) + low


def _masked(apply: Tensor, value: Tensor, neutral: float) -> Tensor:
    """value where the sample is augmented, `neutral` (the identity's parameter) elsewhere."""
    return torch.where(apply.view(-1, 1, 1, 1), value, torch.full_like(value, neutral))


@AUGMENTS.register("brightness")
def brightness(x: Tensor, apply: Tensor) -> Tensor:
    """x + b, b ~ U[-0.5, 0.5] per sample."""
    return x + _masked(apply, _uniform(x, -0.5, 0.5), 0.0)


@AUGMENTS.register("saturation")
def saturation(x: Tensor, apply: Tensor) -> Tensor:
    """(x - m) * s + m around the per-pixel channel mean m, s ~ U[0, 2]; the identity on grey images."""
    mean = x.mean(dim=1, keepdim=True)  # [N, 1, H, W]
    return (x - mean) * _masked(apply, _uniform(x, 0.0, 2.0), 1.0) + mean


@AUGMENTS.register("contrast")
def contrast(x: Tensor, apply: Tensor) -> Tensor:
    """(x - m) * s + m around the per-image mean m, s ~ U[0.5, 1.5]."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # [N, 1, 1, 1]
    return (x - mean) * _masked(apply, _uniform(x, 0.5, 1.5), 1.0) + mean


@AUGMENTS.register("color")
def color(x: Tensor, apply: Tensor) -> Tensor:
    """DiffAugment's 'color': brightness, then saturation, then contrast."""
    return contrast(saturation(brightness(x, apply), apply), apply)


@AUGMENTS.register("translation")
def translation(x: Tensor, apply: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift by whole pixels, up to `ratio` of the size each way (DiffAugment: 1/8), the uncovered
    border filled with zeros as in DiffAugment. A gather from the padded image: differentiable in x."""
    n, c, h, w = x.shape
    rh, rw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-rh, rh + 1, (n,), device=x.device) * apply  # [N], 0 where not applied
    dx = torch.randint(-rw, rw + 1, (n,), device=x.device) * apply
    padded = F.pad(x, [rw, rw, rh, rh])  # [N, C, H + 2rh, W + 2rw]
    rows = torch.arange(h, device=x.device)[None] + rh - dy[:, None]  # [N, H]: source row of each output row
    cols = torch.arange(w, device=x.device)[None] + rw - dx[:, None]  # [N, W]
    return padded[
        torch.arange(n, device=x.device)[:, None, None, None],
        torch.arange(c, device=x.device)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]  # [N, C, H, W]


@AUGMENTS.register("cutout")
def cutout(x: Tensor, apply: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a square of `ratio` of the size (DiffAugment: 1/2) at a random centre; it may hang over
    the border, as in DiffAugment."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n,), device=x.device)  # [N] centre row
    cx = torch.randint(0, w + (1 - cw % 2), (n,), device=x.device)
    ys = torch.arange(h, device=x.device)[None] - cy[:, None] + ch // 2  # [N, H]: row inside the square when in [0, ch)
    xs = torch.arange(w, device=x.device)[None] - cx[:, None] + cw // 2  # [N, W]
    inside = ((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :]  # [N, H, W]
    inside = inside & apply.view(-1, 1, 1)
    return x * (~inside).unsqueeze(1).to(x.dtype)


@AUGMENTS.register("flip")
def flip(x: Tensor, apply: Tensor) -> Tensor:
    """Horizontal flip (ADA's xflip); not for data whose mirror image is another thing (digits)."""
    return torch.where(apply.view(-1, 1, 1, 1), x.flip(3), x)


def parse_policy(policy: str) -> list[str]:
    """'color,translation,cutout' -> ['color', 'translation', 'cutout'], each a registered transform."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    if not names:
        raise UserError(
            f"train.augment_policy={policy!r}: name at least one transform from: {', '.join(AUGMENTS.keys())}"
        )
    for name in names:
        if name not in AUGMENTS:
            AUGMENTS.get(name)  # raises the registry's error naming the nearest
    return names


class Augment:
    """The policy's transforms in order, each applied to each sample with probability `p`
    (a fresh draw per transform and sample). p = 0 returns x itself; p = 1 is DiffAugment."""

    def __init__(self, policy: str = "color,translation,cutout", p: float = 1.0):
        self.names = parse_policy(policy)
        self.fns = [AUGMENTS.get(n) for n in self.names]
        self.p = p

    def __call__(self, x: Tensor) -> Tensor:
        if self.p <= 0:
            return x
        for fn in self.fns:
            apply = torch.rand(len(x), device=x.device) < self.p  # [N] bool
            x = fn(x, apply)
        return x


class AdaController:
    """ADA's feedback loop (Karras et al. 2020, sec. 3): accumulate sign(D(x_real)) over
    `interval` D steps, then move p by sign(r_t - target) * images / (kimg * 1000), in [0, 1].
    r_t near 1 means D is sure of every real image -- it is overfitting -- and p rises."""

    def __init__(self, target: float = 0.6, interval: int = 4, kimg: float = 100.0, p: float = 0.0):
        self.target, self.interval, self.kimg = target, interval, kimg
        self.p = float(p)
        self.rt = float("nan")  # the last r_t, for the logs
        self._sum, self._count, self._steps = 0.0, 0, 0

    def accumulate(self, d_real: Tensor) -> None:
        """D's logits on (augmented) real images [N] in one D step."""
        self._sum += float(torch.sign(d_real.detach()).sum())
        self._count += d_real.numel()

    def step(self) -> None:
        """After each D step: every `interval` steps, update p from the images accumulated."""
        self._steps += 1
        if self._steps % self.interval or self._count == 0:
            return
        self.rt = self._sum / self._count
        sign = (self.rt > self.target) - (self.rt < self.target)
        self.p = min(1.0, max(0.0, self.p + sign * self._count / (self.kimg * 1000)))
        self._sum, self._count = 0.0, 0

    def state(self) -> Tensor:
        """[p, running sum, running count, D steps, last r_t] as float64 (for checkpoints)."""
        return torch.tensor([self.p, self._sum, self._count, self._steps, self.rt], dtype=torch.float64)

    def load(self, state: Tensor) -> None:
        p, s, c, k, rt = state.tolist()
        self.p, self._sum, self._count, self._steps, self.rt = p, s, int(c), int(k), rt


# --- translation's jitter: the same random crop and flip for both images of a pair ----------------
class PairedJitter:
    """pix2pix's random jitter (Isola et al. 2017, sec. 6.2): resize to `load_size`, crop a random
    `size` x `size` window, flip left-right with probability 1/2. One draw per example, applied to
    every tensor of the example alike, so the two halves of a pair stay aligned. Images are stored at
    `size`, so the resize is an upscale of the stored image (close to resizing the original)."""

    def __init__(self, size: int, load_size: int | None = None, flip: bool = False):
        self.size, self.load_size, self.flip = size, load_size, flip

    @classmethod
    def from_config(cls, cfg, size: int) -> PairedJitter | None:
        """From data.load_size and data.flip; None when neither asks for jitter."""
        if cfg.load_size is None and not cfg.flip:
            return None
        return cls(size, cfg.load_size if cfg.load_size and cfg.load_size > size else None, cfg.flip)

    def __call__(self, tensors: list[Tensor], generator: torch.Generator) -> list[Tensor]:
        n = len(tensors[0])
        if self.load_size is not None:
            top = torch.randint(0, self.load_size - self.size + 1, (n,), generator=generator)
            left = torch.randint(0, self.load_size - self.size + 1, (n,), generator=generator)
        flips = torch.rand(n, generator=generator) < 0.5 if self.flip else None
        out = []
        for t in tensors:
            if self.load_size is not None:
                big = F.interpolate(
                    t, size=(self.load_size, self.load_size), mode="bilinear", align_corners=False
                )  # [N, C, L, L]
                t = torch.stack(
                    [big[i, :, top[i] : top[i] + self.size, left[i] : left[i] + self.size] for i in range(n)]
                )  # [N, C, S, S]
            if flips is not None:
                t = torch.where(flips.to(t.device)[:, None, None, None], t.flip(-1), t)
            out.append(t)
        return out
