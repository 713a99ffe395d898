"""Training throughput of every model family: ganforge's training step against a plain PyTorch loop of
the same networks, run alternately in one process on synthetic in-memory data.

    OMP_NUM_THREADS=1 python benchmarks/throughput.py [--steps 16] [--rounds 3] [--families dcgan ...]
        [--profile-steps 2] [--skip-contention] [--out docs/benchmarks/throughput.md]

One row per family, at its preset's networks, batch size and schedule (D steps, lazy penalties):

    dcgan     dcgan-mnist at 32 px      stylegan  stylegan-mnist
    sngan     sngan-mnist, batch 32     pix2pix   pix2pix-edges
    biggan    biggan-mnist, batch 32    cyclegan  cyclegan-edges

(SNGAN and BigGAN steps are 1.3 to 2.9 TFLOP at their presets' batch of 64: they run at batch 32, one
step per round, so that the defaults finish within 10 minutes on a 2-core machine.) One column per
mode; rounds alternate plain, fp32, default, 2 threads, plain, ... so that load from other processes
hits every mode alike, and each mode's median round is reported:

    plain      the loop a user would write, in this file: fp32, one thread, no Fabric, contiguous
               tensors; the same network classes (ganforge.models.*) with the same constructor
               arguments, the same losses and phases per step as the preset
    fp32       ganforge's Trainer.train_step, train.precision=32 train.threads=1 train.channels_last=false
    default    train.precision=auto train.channels_last=auto (what a run gets), train.threads=1
    2 threads  default with train.threads=2

Also: FLOPs per step (torch.utils.flop_counter), this CPU's matmul peak in the dtype and thread count
each mode runs in, a torch.profiler table for every family whose default step stays below half of
that peak, and a contention check: train.threads=auto against one thread while a busy process holds
one core. The script prints an estimate of its wall time at the start and writes the whole report.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ganforge.config import Config, load_config  # noqa: E402
from ganforge.data import Data  # noqa: E402
from ganforge.models.biggan import BigGANGenerator, biggan_discriminator  # noqa: E402
from ganforge.models.cyclegan import ResnetGenerator  # noqa: E402
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: E402
from ganforge.models.pix2pix import PatchDiscriminator, UNetGenerator  # noqa: E402
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator  # noqa: E402
from ganforge.models.stylegan import StyleDiscriminator, StyleGenerator  # noqa: E402
from ganforge.training.hardware import cpu_features, load_average, resolve_precision, resolve_threads  # noqa: E402
from ganforge.training.loop import Trainer, build_objective  # noqa: E402

from _machine import describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
C, RES, CLASSES, EXAMPLES = 1, 32, 10, 1024  # synthetic data: MNIST-like 1 x 32 x 32 images, 10 classes
PEAK_SHARE = 0.5  # a default step below this fraction of its dtype's matmul peak gets a profile

# train.* settings every ganforge mode shares: no files written during the timed steps
QUIET = [
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.ckpt_every=0",
    "train.steps=1000000",  # far away, so CycleGAN's lr decay (after half the steps) never starts
]


# --- the plain loops ------------------------------------------------------------------------------
# What a user writes from the papers: the losses inline (D's logit high for real), torch.optim.Adam
# with its defaults, one zero_grad / backward / step per phase, fp32, one thread.
D_LOSS = {
    "nonsaturating": lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),  # -log s(r) - log(1 - s(f))
    "hinge": lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(),
    "lsgan": lambda r, f: 0.5 * (r - 1).square().mean() + 0.5 * f.square().mean(),
}
G_LOSS = {
    "nonsaturating": lambda f: F.softplus(-f).mean(),  # -log s(f)
    "hinge": lambda f: -f.mean(),
    "lsgan": lambda f: 0.5 * (f - 1).square().mean(),
}


def adam(params, opt) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2))


def update(opt: torch.optim.Optimizer, loss: Tensor) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()


class PlainGAN:
    """Noise -> image (DCGAN, SNGAN, BigGAN): D x train.d_steps, each on a fresh batch and fresh fakes
    made without gradients, then G on fresh noise (+ BigGAN's orthogonal regularisation), then the EMA
    of G. The same interface as ganforge's Trainer: `step` (the step number) and `train_step()`."""

    def __init__(self, cfg, data: Data, G: nn.Module, D: nn.Module):
        self.cfg, self.data, self.G, self.D = cfg, data, G, D
        self.n, self.z_dim = cfg.train.batch_size, cfg.model.z_dim
        self.conditional = cfg.model.family == "biggan"
        self.optG, self.optD = adam(G.parameters(), cfg.g_optim), adam(D.parameters(), cfg.d_optim)
        self.d_loss, self.g_loss = D_LOSS[cfg.loss.name], G_LOSS[cfg.loss.name]
        self.ema = copy.deepcopy(G).requires_grad_(False) if cfg.train.ema else None
        self.step = 0

    def networks(self) -> list[nn.Module]:
        return [self.G, self.D]

    def batch(self) -> tuple[Tensor, Tensor | None]:
        idx = torch.randint(len(self.data), (self.n,))
        return self.data.x[idx], (self.data.y[idx] if self.conditional else None)

    def fake(self, y: Tensor | None, n: int, **kw) -> Tensor:
        return self.G(torch.randn(n, self.z_dim), y, **kw)

    def train_step(self) -> None:
        for _ in range(self.cfg.train.d_steps):
            real, y = self.batch()
            with torch.no_grad():
                fake = self.fake(y, self.n)
            update(self.optD, self.d_loss(self.D(real, y), self.D(fake, y)))
        _, y = self.batch()  # labels for G's fakes (BigGAN)
        loss = self.g_loss(self.D(self.fake(y, self.n, **self.g_kwargs()), y))
        if getattr(self.cfg.loss, "ortho", 0) > 0:
            loss = loss + self.cfg.loss.ortho * ortho_penalty(self.G)
        update(self.optG, loss)
        self.lazy_phases()
        if self.ema is not None:
            with torch.no_grad():
                for avg, p in zip(self.ema.parameters(), self.G.parameters()):
                    avg.lerp_(p, 1 - self.cfg.train.ema)
                for avg, b in zip(self.ema.buffers(), self.G.buffers()):
                    avg.copy_(b)
        self.step += 1

    def g_kwargs(self) -> dict:
        return {}

    def lazy_phases(self) -> None:
        """StyleGAN's lazy regularisation; nothing here."""


def ortho_penalty(G: nn.Module) -> Tensor:
    """BigGAN (Brock et al. 2019, sec. 3.1): sum ||W W^T (.) (1 - I)||^2 over G's weight matrices but
    the shared class embedding."""
    total = torch.zeros(())
    for name, p in G.named_parameters():
        if p.ndim >= 2 and not name.startswith("shared."):
            w = p.flatten(1)  # [out, in * kh * kw]
            total = total + (w @ w.t() * (1 - torch.eye(len(w)))).square().sum()
    return total


class PlainStyleGAN(PlainGAN):
    """StyleGAN2: the fakes with style mixing, G's step updating w_avg, and the lazy phases of the
    official code: R1 on real images every loss.reg_interval steps and path-length regularisation on
    half a batch every loss.pl_interval steps, each scaled by its interval."""

    def __init__(self, cfg, data: Data, G: nn.Module, D: nn.Module):
        super().__init__(cfg, data, G, D)
        self.pl_mean = torch.zeros(())

    def fake(self, y: Tensor | None, n: int, **kw) -> Tensor:
        return self.G(torch.randn(n, self.z_dim), y, mixing=self.cfg.loss.style_mixing, **kw)

    def g_kwargs(self) -> dict:
        return {"update_w_avg": True}

    def lazy_phases(self) -> None:
        l = self.cfg.loss
        if self.step % l.reg_interval == 0:  # R1 (Mescheder et al. 2018): 1/2 E ||grad D(x)||^2
            real = self.batch()[0].requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(real).sum(), real, create_graph=True)
            r1 = 0.5 * grad.square().sum((1, 2, 3)).mean()
            update(self.optD, l.r1 * r1 * l.reg_interval)
        if self.step % l.pl_interval == 0:  # path length (StyleGAN2 eq. 4) on batch / 2 samples
            images, ws = self.fake(None, self.n // 2, return_ws=True)  # [n, C, H, W], [n, L, w_dim]
            noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
            (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
            lengths = grad.square().sum(2).mean(1).sqrt()  # [n]
            self.pl_mean = self.pl_mean.lerp(lengths.mean().detach(), l.pl_decay)
            update(self.optG, (lengths - self.pl_mean).square().mean() * l.pl_weight * l.pl_interval)


class PlainPix2Pix:
    """pix2pix (Isola et al. 2017): G's step on a batch (l1_weight * |G(a) - b| + the adversarial term
    on D(a, G(a))), then D's step on the same pair and fake, its loss halved."""

    def __init__(self, cfg, data: Data, G: nn.Module, D: nn.Module):
        self.cfg, self.data, self.G, self.D = cfg, data, G, D
        self.optG, self.optD = adam(G.parameters(), cfg.g_optim), adam(D.parameters(), cfg.d_optim)
        self.d_loss, self.g_loss = D_LOSS[cfg.loss.name], G_LOSS[cfg.loss.name]
        self.step = 0

    def networks(self) -> list[nn.Module]:
        return [self.G, self.D]

    def train_step(self) -> None:
        l = self.cfg.loss
        idx = torch.randint(len(self.data), (self.cfg.train.batch_size,))
        a, b = self.data.x[idx], self.data.extra["x_b"][idx]
        fake = self.G(a)
        loss = l.l1_weight * (fake - b).abs().mean() + l.adv_weight * self.g_loss(self.D(fake, cond=a))
        update(self.optG, loss)
        fake = fake.detach()
        update(self.optD, 0.5 * self.d_loss(self.D(b, cond=a), self.D(fake, cond=a)))
        self.step += 1


class ImagePool:
    """The CycleGAN code's pool of past fakes (Shrivastava et al. 2017): until full, store and return
    each fake; then, with probability 1/2, return a stored fake and store the new one in its place."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, images: Tensor) -> Tensor:
        out = []
        for img in images:
            if len(self.images) < self.size:
                self.images.append(img)
                out.append(img)
            elif random.random() < 0.5:
                i = random.randrange(self.size)
                out.append(self.images[i])
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)


class PlainCycleGAN:
    """CycleGAN (Zhu et al. 2017): G: A -> B and F: B -> A step together on the adversarial, cycle and
    identity losses; then D_A and D_B step together on real images against fakes from the pools."""

    def __init__(self, cfg, data: Data, G: nn.Module, F: nn.Module, D_A: nn.Module, D_B: nn.Module):
        self.cfg, self.data = cfg, data
        self.G, self.F, self.D_A, self.D_B = G, F, D_A, D_B
        self.optG = adam([*G.parameters(), *F.parameters()], cfg.g_optim)
        self.optD = adam([*D_A.parameters(), *D_B.parameters()], cfg.d_optim)
        self.d_loss, self.g_loss = D_LOSS[cfg.loss.name], G_LOSS[cfg.loss.name]
        self.pool_a, self.pool_b = ImagePool(cfg.train.pool_size), ImagePool(cfg.train.pool_size)
        self.step = 0

    def networks(self) -> list[nn.Module]:
        return [self.G, self.F, self.D_A, self.D_B]

    def train_step(self) -> None:
        l = self.cfg.loss
        idx = torch.randint(len(self.data), (self.cfg.train.batch_size,))
        a, b = self.data.x[idx], self.data.extra["x_b"][idx]
        fake_b, fake_a = self.G(a), self.F(b)
        cycle = (self.F(fake_b) - a).abs().mean() + (self.G(fake_a) - b).abs().mean()
        identity = (self.G(b) - b).abs().mean() + (self.F(a) - a).abs().mean()
        adv = self.g_loss(self.D_B(fake_b)) + self.g_loss(self.D_A(fake_a))
        update(self.optG, l.adv_weight * adv + l.cycle_weight * cycle + l.identity_weight * l.cycle_weight * identity)
        old_b, old_a = self.pool_b.query(fake_b.detach()), self.pool_a.query(fake_a.detach())
        loss_b = 0.5 * self.d_loss(self.D_B(b), self.D_B(old_b))
        loss_a = 0.5 * self.d_loss(self.D_A(a), self.D_A(old_a))
        update(self.optD, loss_a + loss_b)
        self.step += 1


# --- the families: preset, the plain loop, and its networks from the preset's model section ---------
def plain_dcgan(cfg, data: Data) -> PlainGAN:
    m = cfg.model
    return PlainGAN(
        cfg, data, DCGANGenerator(m.z_dim, C, RES, m.g_width, m.g_norm), DCGANDiscriminator(C, RES, m.d_width, m.d_norm)
    )


def plain_sngan(cfg, data: Data) -> PlainGAN:
    m = cfg.model
    G = ResNetGenerator(m.z_dim, C, RES, 4 * m.g_width, m.g_norm)
    return PlainGAN(cfg, data, G, ResNetDiscriminator(C, RES, 2 * m.d_width, sn=m.d_sn))


def plain_biggan(cfg, data: Data) -> PlainGAN:
    m = cfg.model
    G = BigGANGenerator(m.z_dim, C, RES, CLASSES, m.g_width, m.embed_dim, m.attention, sn=m.g_sn)
    return PlainGAN(cfg, data, G, biggan_discriminator(C, RES, CLASSES, m.d_width, m.attention, sn=m.d_sn))


def plain_stylegan(cfg, data: Data) -> PlainStyleGAN:
    m = cfg.model
    G = StyleGenerator(m.z_dim, m.w_dim, C, RES, m.g_width, m.style_max_channels, m.mapping_layers, m.mapping_lr_mul)
    return PlainStyleGAN(cfg, data, G, StyleDiscriminator(C, RES, m.d_width, m.style_max_channels, m.mbstd))


def plain_pix2pix(cfg, data: Data) -> PlainPix2Pix:
    m = cfg.model
    G = UNetGenerator(C, C, RES, m.unet_depth, m.g_width, m.g_norm, m.dropout)
    return PlainPix2Pix(cfg, data, G, PatchDiscriminator(2 * C, m.d_width, m.d_layers, m.d_norm))


def plain_cyclegan(cfg, data: Data) -> PlainCycleGAN:
    m = cfg.model
    gens = [ResnetGenerator(C, C, RES, m.g_width, m.resnet_blocks, m.g_norm) for _ in range(2)]
    discs = [PatchDiscriminator(C, m.d_width, m.d_layers, m.d_norm) for _ in range(2)]
    return PlainCycleGAN(cfg, data, *gens, *discs)


@dataclass(frozen=True)
class Family:
    label: str
    preset: str
    plain: Callable[[Config, Data], object]  # -> the plain loop
    overrides: tuple[str, ...] = ()  # changes to the preset, each explained in `why`
    why: str = ""
    steps_share: float = 1.0  # steps per round, as a share of --steps (at least 1)
    ref_s: tuple[float, ...] = (1.0,) * 4  # seconds per step of each mode on the reference machine


# The time estimate: seconds per step of each of MODES (plain, fp32, default, 2 threads) on the
# reference machine, a 2-core AMD EPYC with AVX-512 BF16 and this fp32 matmul peak at one thread
# (2 threads: default / 1.6, from DCGAN)
REF_PEAK = 90e9
HEAVY = "a preset step is {} TFLOP (about {} s in fp32 on one core): batch 32 keeps the run within 10 minutes"
FAMILIES = {
    "dcgan": Family(
        "DCGAN",
        "dcgan-mnist",
        plain_dcgan,
        ("data.resolution=32",),
        "MNIST at 32 px (the preset reads it at 28)",
        ref_s=(0.32, 0.26, 0.17, 0.11),
    ),
    "sngan": Family(
        "SNGAN ResNet",
        "sngan-mnist",
        plain_sngan,
        ("train.batch_size=32",),
        HEAVY.format(2.9, 20),
        steps_share=1 / 16,
        ref_s=(9.6, 10.2, 3.9, 2.4),
    ),
    "biggan": Family(
        "conditional BigGAN",
        "biggan-mnist",
        plain_biggan,
        ("train.batch_size=32",),
        HEAVY.format(1.3, 10),
        steps_share=1 / 16,
        ref_s=(4.7, 4.6, 2.1, 1.3),
    ),
    "stylegan": Family("StyleGAN2", "stylegan-mnist", plain_stylegan, ref_s=(0.24, 0.23, 0.17, 0.11)),
    "pix2pix": Family("pix2pix", "pix2pix-edges", plain_pix2pix, ref_s=(0.15, 0.15, 0.12, 0.08)),
    "cyclegan": Family("CycleGAN", "cyclegan-edges", plain_cyclegan, ref_s=(0.31, 0.31, 0.26, 0.16)),
}


def synthetic_data(family: str) -> Data:
    """Random images in [-1, 1] of the presets' shape (MNIST and edges2digits at 32 px), labels of 10
    classes, and for translation a second domain in extra["x_b"]: nothing read from disk."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(EXAMPLES, C, RES, RES, generator=gen) * 2 - 1
    y = torch.randint(0, CLASSES, (EXAMPLES,), generator=gen)
    data = Data(x, y, tuple(str(k) for k in range(CLASSES)))
    if family in ("pix2pix", "cyclegan"):
        data.extra["x_b"] = torch.rand(EXAMPLES, C, RES, RES, generator=gen) * 2 - 1
    return data


# --- the modes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mode:
    name: str
    threads: int
    overrides: tuple[str, ...] | None  # ganforge's train.* settings; None: the plain loop


PLAIN = Mode("plain", 1, None)
MODES = [
    PLAIN,
    Mode("fp32", 1, ("train.precision=32", "train.threads=1", "train.channels_last=false")),
    Mode("default", 1, ("train.threads=1",)),
    Mode("2 threads", 2, ("train.threads=2",)),
]


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)  # seconds per round
    cpu: list[float] = field(default_factory=list)  # process_time seconds per round (all threads)

    def median_round(self) -> tuple[float, float]:
        """(wall, cpu) of the round with the median wall time (the upper one of an even count)."""
        i = sorted(range(len(self.wall)), key=self.wall.__getitem__)[len(self.wall) // 2]
        return self.wall[i], self.cpu[i]


def timed(runner, steps: int, threads: int) -> tuple[float, float]:
    """(wall s, CPU s) of `steps` training steps at `threads` torch threads."""
    torch.set_num_threads(threads)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        runner.train_step()
    return time.perf_counter() - w0, time.process_time() - c0


def make_trainer(family: str, overrides: tuple[str, ...], data: Data, run_dir: Path) -> Trainer:
    """ganforge's trainer of the family's preset, with its changes (Family.overrides) and `overrides`."""
    f = FAMILIES[family]
    return Trainer(load_config(f.preset, [*QUIET, *f.overrides, *overrides]), run_dir, data=data)


def schedule(cfg) -> list[int]:
    """The intervals of the objective's phases (1: every step; StyleGAN2's lazy ones more), from the
    objective built on stand-in networks: the schedule reads none of them."""
    return [p.interval for p in build_objective(cfg, defaultdict(nn.Module)).phases()]


def flops_per_step(runner, intervals: list[int]) -> float:
    """Mean FLOPs of one step over a period of the schedule: one counted step for each distinct set of
    due phases, weighted by how often that set comes up (forward and backward of every phase)."""
    period = math.lcm(*intervals)
    due = [tuple(s % k == 0 for k in intervals) for s in range(period)]  # which phases run at step s
    total = 0.0
    for key, count in Counter(due).items():
        runner.step = period * 1000 + due.index(key)  # the step number decides the due phases
        counter = FlopCounterMode(display=False)
        counter.mod_tracker = GlobalOnly()
        with counter:
            runner.train_step()
        total += counter.get_total_flops() * count
    return total / period


class GlobalOnly:
    """Stands in for FlopCounterMode's per-module tracker, which fails on a view taken under
    torch.no_grad (StyleGAN's constant input, expanded to the batch, in D's step): totals only."""

    parents = {"Global"}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def matmul_peak(dtype: torch.dtype, threads: int, seconds: float = 1.0) -> float:
    """FLOP/s of square `dtype` matmuls at `threads` threads: n = 2048, or less where a product of
    that size would take over 1 s (bf16 is slow where it is emulated); the best of three timings of
    as many products as fit in about `seconds`."""
    torch.set_num_threads(threads)
    n = 512
    while True:
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b  # warm-up
        t0 = time.perf_counter()
        a @ b
        once = time.perf_counter() - t0
        if n == 2048 or 8 * once > 1.0:  # twice the size costs 8 times as much
            break
        n *= 2
    reps = max(1, int(seconds / max(once, 1e-6)))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 * reps / best


DTYPES = {"32": torch.float32, "bf16": torch.bfloat16}


def dtype_name(precision: str) -> str:
    return "fp32" if precision == "32" else precision


# --- profiles -------------------------------------------------------------------------------------
def is_matrix_op(name: str) -> bool:
    """Convolutions and matrix products: the ops that make the FLOPs."""
    return "conv" in name or name.split("::")[-1] in ("mm", "addmm", "bmm", "baddbmm", "matmul", "linear")


def profile_steps(trainer: Trainer, steps: int) -> tuple[str, str]:
    """(the top-10 table by self CPU time, one sentence naming the op that holds the step back)."""
    torch.set_num_threads(1)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            trainer.train_step()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)
    by_op = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in by_op) or 1.0

    def share(e) -> str:
        return f"{e.self_cpu_time_total / total:.0%}"

    matrix = sum(e.self_cpu_time_total for e in by_op if is_matrix_op(e.key)) / total
    if matrix < 0.5:  # most of the time goes to ops that make no FLOPs: name the largest three
        held, *more = [e for e in by_op if not is_matrix_op(e.key)][:3]
        why = f"Only {matrix:.0%} of the step's self CPU time is in convolutions and matrix products"
        then = ", then " + " and ".join(f"`{e.key}` ({share(e)})" for e in more) if more else ""
    else:  # the FLOP-making ops themselves run below the peak
        held = next(e for e in by_op if is_matrix_op(e.key))
        why = f"{matrix:.0%} of the step's self CPU time is in convolutions and matrix products, below the matmul peak"
        then = ""
    by_shape = sorted(
        (e for e in prof.key_averages(group_by_input_shape=True) if e.key == held.key),
        key=lambda e: e.self_cpu_time_total,
        reverse=True,
    )
    inputs = [s for s in by_shape[0].input_shapes if s] if by_shape else []  # the tensor arguments' shapes
    where = f" (the most on inputs {', '.join(map(str, inputs))})" if inputs else ""
    sentence = f"{why}: the op that holds it back is `{held.key}`, {share(held)} of the self CPU time{where}{then}."
    return table, sentence


# --- one family ---------------------------------------------------------------------------------------
@dataclass
class Row:
    key: str  # of FAMILIES
    family: str  # label (preset)
    batch: int
    steps: int  # timed steps per round
    precision: str  # what train.precision=auto resolved to
    channels_last: bool
    timings: dict[str, Timing]
    flops: dict[str, float]  # "plain" and "ganforge": FLOPs per step
    params: int
    profile: tuple[str, str] | None = None


def run_family(family: str, args, peaks: dict, tmp: Path) -> Row:
    """The plain loop and ganforge's three modes of one family, side by side; the default step profiled
    when it stays below PEAK_SHARE of its dtype's matmul peak."""
    f = FAMILIES[family]
    data = synthetic_data(family)
    runners = {}
    for mode in MODES[1:]:
        runners[mode.name] = make_trainer(family, mode.overrides, data, tmp / family / mode.name.replace(" ", "-"))
    fp32, default = runners["fp32"], runners["default"]
    torch.manual_seed(0)
    plain = f.plain(fp32.cfg, data)
    runners = {PLAIN.name: plain, **runners}
    n_plain = sum(p.numel() for net in plain.networks() for p in net.parameters())
    n_ours = sum(p.numel() for net in fp32.nets.values() for p in net.parameters())
    if n_plain != n_ours:
        raise SystemExit(f"{family}: the plain loop has {n_plain:,} parameters, ganforge's networks {n_ours:,}")
    intervals, steps = schedule(fp32.cfg), steps_per_round(family, args)
    # warm-up (allocations, oneDNN kernels) of every phase: counting the FLOPs runs each set of due
    # phases once; the other modes run step 0, where every phase is due; then all are at step 1
    torch.set_num_threads(1)
    flops = {"plain": flops_per_step(plain, intervals), "ganforge": flops_per_step(fp32, intervals)}
    for mode in MODES[2:]:
        timed(runners[mode.name], 1, mode.threads)
    for runner in runners.values():
        runner.step = 1
    timings = {mode.name: Timing() for mode in MODES}
    for r in range(args.rounds):
        for mode in MODES:
            wall, cpu = timed(runners[mode.name], steps, mode.threads)
            timings[mode.name].wall.append(wall)
            timings[mode.name].cpu.append(cpu)
        rates = ", ".join(f"{m}: {steps * fp32.cfg.train.batch_size / t.wall[-1]:.0f}" for m, t in timings.items())
        print(f"  [{family}] round {r + 1}/{args.rounds}, img/s: {rates}", flush=True)
    row = Row(
        family,
        f"{f.label} ({f.preset})",
        fp32.cfg.train.batch_size,
        steps,
        default.setup["precision"],
        default.setup["channels_last"],
        timings,
        flops,
        n_ours,
    )
    if args.profile_steps > 0 and achieved_share(row, "default", peaks) < PEAK_SHARE:
        row.profile = profile_steps(default, args.profile_steps)
    return row


def mode_dtype(row: Row, mode: str) -> str:
    return row.precision if mode in ("default", "2 threads") else "32"


def step_flops(row: Row, mode: str) -> float:
    return row.flops["plain" if mode == PLAIN.name else "ganforge"]


def layout(row: Row, mode: str) -> str:
    return "NHWC" if row.channels_last and mode in ("default", "2 threads") else "NCHW"


def achieved(row: Row, mode: str) -> float:
    """FLOP/s of `mode`'s median round."""
    return step_flops(row, mode) * row.steps / row.timings[mode].median_round()[0]


def achieved_share(row: Row, mode: str, peaks: dict) -> float:
    threads = next(m.threads for m in MODES if m.name == mode)
    return achieved(row, mode) / peaks[mode_dtype(row, mode), threads]


def img_per_s(row: Row, mode: str) -> float:
    return row.steps * row.batch / row.timings[mode].median_round()[0]


# --- contention ---------------------------------------------------------------------------------------
BUSY_LOOP = "import numpy as np\na = np.random.rand(512, 512)\nwhile True:\n    a @ a\n"


@contextmanager
def busy_core():
    """A second process keeping one core busy (numpy matmuls on one thread) until the block ends."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP], env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass
class Contention:
    threads: int  # what train.threads=auto chose
    reason: str
    settle_s: float  # how long the busy process had run when auto was resolved
    steps: int
    batch: int
    timings: dict[str, Timing]  # "auto" and "1 thread"

    def img_per_s(self, mode: str) -> float:
        return self.steps * self.batch / self.timings[mode].median_round()[0]


def run_contention(args, tmp: Path, settle_s: float = 5.0) -> Contention:
    """DCGAN's default step with train.threads=auto against train.threads=1, both while a busy process
    holds one core; auto is resolved once the busy process has run `settle_s` seconds."""
    data = synthetic_data("dcgan")
    with busy_core():
        time.sleep(settle_s)
        auto = make_trainer("dcgan", (), data, tmp / "contention-auto")  # every train.* at its default
        one = make_trainer("dcgan", ("train.threads=1",), data, tmp / "contention-1")
        runners = {"auto": (auto, auto.setup["threads"]), "1 thread": (one, 1)}
        for runner, threads in runners.values():
            timed(runner, 1, threads)
        timings = {name: Timing() for name in runners}
        for r in range(args.rounds):
            for name, (runner, threads) in runners.items():
                wall, cpu = timed(runner, args.steps, threads)
                timings[name].wall.append(wall)
                timings[name].cpu.append(cpu)
            print(f"  [contention] round {r + 1}/{args.rounds}", flush=True)
    torch.set_num_threads(1)
    setup = auto.setup
    return Contention(
        setup["threads"], setup["threads_reason"], settle_s, args.steps, auto.cfg.train.batch_size, timings
    )


@dataclass
class CompileRun:
    family: str
    first_cpu_s: float  # the first steps (tracing + code generation + the steps themselves), process CPU
    first_wall_s: float
    first_steps: int
    steps: int
    batch: int
    timings: dict[str, Timing]  # "default" and "compile", alternating rounds after the first steps

    def ms_per_step(self, mode: str) -> tuple[float, float]:
        wall, cpu = self.timings[mode].median_round()
        return 1e3 * wall / self.steps, 1e3 * cpu / self.steps


def run_compile(family: str, args, tmp: Path) -> CompileRun:
    """The default step with and without train.compile=true (one thread): what the first steps cost
    (torch.compile traces and generates code for every phase's forward), then alternating rounds.
    Inductor compiles in this process (compile_threads=1) and its C++ compiler in child processes,
    whose CPU time is added."""
    import torch._inductor.config as inductor

    inductor.compile_threads = 1
    data = synthetic_data(family)
    default = make_trainer(family, ("train.threads=1",), data, tmp / f"{family}-eager")
    compiled = make_trainer(family, ("train.threads=1", "train.compile=true"), data, tmp / f"{family}-compile")
    steps = steps_per_round(family, args)
    timed(default, steps, 1)
    children = os.times()  # the C++ compiler runs in child processes: their CPU time counts too
    first_wall, first_cpu = timed(compiled, steps, 1)  # every phase due at step 0: all compiled here
    after = os.times()
    first_cpu += (after.children_user - children.children_user) + (after.children_system - children.children_system)
    timings = {"default": Timing(), "compile": Timing()}
    for r in range(args.rounds):
        for name, runner in (("default", default), ("compile", compiled)):
            wall, cpu = timed(runner, steps, 1)
            timings[name].wall.append(wall)
            timings[name].cpu.append(cpu)
        print(f"  [compile {family}] round {r + 1}/{args.rounds}", flush=True)
    return CompileRun(family, first_cpu, first_wall, steps, steps, default.cfg.train.batch_size, timings)


# --- the time estimate ------------------------------------------------------------------------------
def steps_per_round(family: str, args) -> int:
    """--steps times the family's share, at least 1, rounded up to a whole period of its schedule, so
    that every round runs each lazy phase equally often (16 steps for StyleGAN2's lazy R1)."""
    f = FAMILIES[family]
    period = math.lcm(*schedule(load_config(f.preset, [*QUIET, *f.overrides])))
    return math.ceil(max(1, round(args.steps * f.steps_share)) / period) * period


def estimate_s(args, peaks: dict) -> float:
    """Seconds the run should take: the reference machine's step times (Family.ref_s) scaled by this
    machine's fp32 matmul peak, for the warm-up and rounds of every mode, the profiles and the
    contention check, plus building the trainers and measuring the peaks."""
    scale = REF_PEAK / peaks["32", 1]
    total = 20.0
    for name in args.families:
        f = FAMILIES[name]
        steps = steps_per_round(name, args)
        total += 5 + scale * (sum(f.ref_s) * (1 + args.rounds * steps) + 2 * args.profile_steps * f.ref_s[2])
    if not args.skip_contention:
        total += 10 + scale * 2 * FAMILIES["dcgan"].ref_s[2] * (1 + args.rounds * args.steps)
    return total


# --- the report ---------------------------------------------------------------------------------------
def rate(img_per_s: float) -> str:
    return f"{img_per_s:.0f}" if img_per_s >= 100 else f"{img_per_s:.1f}"


def verdict(x: float, target: float) -> str:
    return f"{x:.2f}x (target >= {target:g}x: {'met' if x >= target else 'not met'})"


def report(
    args, rows: list[Row], peaks: dict, contention: Contention | None, header: dict, compiles: list | None = None
) -> str:
    names = [m.name for m in MODES]
    precision, why_precision = header["precision"]
    lines = [
        "# Training throughput: every family, ganforge vs a plain PyTorch loop",
        "",
        f"Command: `{header['command']}`",
        "",
        f"- Machine: {describe()}",
        f"- CPU features found: {header['features']}",
        f"- `train.precision=auto` chose {dtype_name(precision)}: {why_precision}",
        f"- `train.threads=auto` would have chosen {header['threads'][0]} at the start: {header['threads'][1]}",
        f"- torch {torch.__version__} ({header['blas']}), commit {header['commit']}",
        f"- Load average (1 min): {header['load_start']:.2f} at the start, {load_average():.2f} at the end; "
        f"the run took {header['elapsed'] / 60:.1f} min (estimated at the start: {header['estimate'] / 60:.1f})",
        "",
        "Each family runs at its preset's networks, batch size and schedule (D steps, lazy penalties) on synthetic "
        f"in-memory data: {EXAMPLES} random images in [-1, 1] of 1 x {RES} x {RES}, {CLASSES}-class labels, and a "
        "second domain for translation. Modes:",
        "",
        "- **plain**: the loop a user would write, in `benchmarks/throughput.py`: fp32, one thread, no Fabric, "
        "contiguous tensors; the same network classes with the same constructor arguments; the same losses and "
        "phases per step (a fresh batch and fakes for each D step, a fresh z for G, R1 and path length at their "
        "lazy intervals, the EMA of G where the preset keeps one); `torch.optim.Adam` with its defaults.",
        "- **fp32**: ganforge's `Trainer.train_step()`, `train.precision=32 train.threads=1 train.channels_last=false`.",
        "- **default**: `train.precision=auto train.channels_last=auto`, the defaults of a run, with `train.threads=1`.",
        "- **2 threads**: the default with `train.threads=2`.",
        "",
        f"Rounds alternate {', '.join(names)}, {names[0]}, ...; each mode's median round of {args.rounds} is "
        "reported, after a warm-up step where every phase is due. Steps per round: `--steps`, a sixteenth of it "
        "(at least one) for SNGAN and BigGAN, rounded up to a whole period of the schedule (16 for StyleGAN2's "
        "lazy R1). img/s and the ratios come from wall time; CPU time is "
        "`time.process_time()`, all threads together.",
        "",
        "Changed from the presets:",
        "",
        *[f"- {f.label}: `{' '.join(f.overrides)}`: {f.why}" for f in map(FAMILIES.get, args.families) if f.overrides],
        "",
        "## Images per second (x the plain loop in the same run)",
        "",
        "| family (preset) | parameters | batch | steps/round | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for row in rows:
        plain = img_per_s(row, PLAIN.name)
        cells = [rate(plain)] + [f"{rate(img_per_s(row, m))} ({img_per_s(row, m) / plain:.2f}x)" for m in names[1:]]
        lines.append(
            f"| {row.family} | {row.params / 1e6:.2f} M | {row.batch} | {row.steps} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "## Time, FLOPs and the fraction of the matmul peak",
        "",
        "| family | mode | dtype, layout | threads | wall ms/step | CPU ms/step | GFLOP/step | GFLOP/s | peak GFLOP/s | of peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for mode in MODES:
            wall, cpu = row.timings[mode.name].median_round()
            dtype = mode_dtype(row, mode.name)
            lines.append(
                f"| {row.family} | {mode.name} | {dtype_name(dtype)}, {layout(row, mode.name)} | {mode.threads} | "
                f"{1e3 * wall / row.steps:.0f} | {1e3 * cpu / row.steps:.0f} | {step_flops(row, mode.name) / 1e9:.2f} | "
                f"{achieved(row, mode.name) / 1e9:.1f} | {peaks[dtype, mode.threads] / 1e9:.0f} | "
                f"{achieved_share(row, mode.name, peaks):.0%} |"
            )
    lines += [
        "",
        "FLOPs: `torch.utils.flop_counter.FlopCounterMode` over one step of each distinct set of due phases, "
        "weighted by how often that set comes up, forward and backward. ganforge's count is that of its fp32 "
        "step, a little below the plain loop's: its G phase takes no gradients for D's weights. Peak: square "
        "`torch.mm` (n = 2048 unless one product would take over 1 s) in the mode's dtype at its thread count, "
        "the best of three timings:",
        "",
        "| dtype | threads | matmul GFLOP/s |",
        "|---|---|---|",
        *[f"| {dtype_name(d)} | {t} | {p / 1e9:.0f} |" for (d, t), p in sorted(peaks.items())],
        "",
    ]
    if precision == "bf16":
        lines += [
            "Under bf16 autocast the convolutions and matrix products run in bf16; StyleGAN2's R1 and path-length "
            "phases stay in fp32 (they read the networks outside Fabric's wrapper).",
            "",
        ]
    if any(achieved_share(row, m.name, peaks) > 1 for row in rows for m in MODES if mode_dtype(row, m.name) == "32"):
        lines += [
            "Shares above 100% in fp32: the convolutions (oneDNN) run faster than `torch.mm`'s fp32 kernel "
            f"({header['blas']}) on this CPU, so the fp32 matmul peak understates what the CPU can do.",
            "",
        ]
    if contention is not None:
        c = contention
        lines += [
            "## Under contention (DCGAN, default precision)",
            "",
            f"A second process (numpy matmuls on one thread) keeps one core busy; `train.threads=auto` was resolved "
            f"{c.settle_s:.0f} s after it started: {c.threads} thread{'s' * (c.threads != 1)} ({c.reason}). The load "
            "average counts this benchmark's own busy thread too. Alternating rounds of "
            f"{c.steps} steps, median round:",
            "",
            "| train.threads | img/s | wall ms/step | CPU ms/step |",
            "|---|---|---|---|",
        ]
        for name, label in (("auto", f"auto ({c.threads})"), ("1 thread", "1")):
            wall, cpu = c.timings[name].median_round()
            lines.append(
                f"| {label} | {c.img_per_s(name):.0f} | {1e3 * wall / c.steps:.0f} | {1e3 * cpu / c.steps:.0f} |"
            )
        lines.append("")
    if compiles:
        lines += [
            "## train.compile=true (torch.compile), default precision, one thread",
            "",
            "The first steps include tracing and code generation for every phase (Inductor compiling in this process, "
            "the C++ compiler's child processes counted too); then alternating rounds, median round. Break-even: the steps after which the "
            "compiled run has spent less CPU time in all. Inductor's on-disk cache keeps kernels between runs, so the first "
            "steps are cheaper when an earlier run compiled the same graphs.",
            "",
            "| family | first steps | their CPU s (wall s) | default CPU ms/step | compiled CPU ms/step | x default | break-even steps |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in compiles:
            (_, d_cpu), (_, c_cpu) = c.ms_per_step("default"), c.ms_per_step("compile")
            extra = c.first_cpu_s * 1e3 - c.first_steps * d_cpu
            even = f"{extra / (d_cpu - c_cpu):,.0f}" if c_cpu < d_cpu else "never"
            lines.append(
                f"| {FAMILIES[c.family].label} | {c.first_steps} | {c.first_cpu_s:.1f} ({c.first_wall_s:.1f}) | {d_cpu:.0f} | "
                f"{c_cpu:.0f} | {d_cpu / c_cpu:.2f}x | {even} |"
            )
        lines.append("")
    lines += ["## The speed issue's figures, as measured", "", *figures(rows, peaks, contention, header), ""]
    profiled = [row for row in rows if row.profile is not None]
    if profiled:
        lines += [
            f"## Default steps below {PEAK_SHARE:.0%} of the matmul peak of their dtype",
            "",
            f"`torch.profiler` over {args.profile_steps} default steps at one thread: the top 10 ops by self CPU time.",
            "",
        ]
        for row in profiled:
            table, sentence = row.profile
            lines += [f"### {row.family}", "", sentence, "", "```text", table.rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def figures(rows: list[Row], peaks: dict, contention: Contention | None, header: dict) -> list[str]:
    """The speed issue's acceptance figures, each beside its target."""
    out = []
    dcgan = next((row for row in rows if row.key == "dcgan"), None)
    if dcgan is not None:
        native = header["native_bf16"]
        plain, default, two = (img_per_s(dcgan, m) for m in (PLAIN.name, "default", "2 threads"))
        out += [
            f"- DCGAN's default step against the plain fp32 one-thread loop, on this CPU "
            f"{'with' if native else 'without'} native bf16: {verdict(default / plain, 1.6 if native else 1.15)}. "
            f"With both cores (2 threads): {verdict(two / plain, 2.5)}, the stretch goal.",
            f"- DCGAN, two threads against one (both default): {verdict(two / default, 1.6)}; the target is for an "
            f"idle 2-core machine, and this one has {os.cpu_count()} cores, load average {header['load_start']:.2f} "
            "at the start.",
        ]
    if contention is not None:
        share = contention.img_per_s("auto") / contention.img_per_s("1 thread")
        out.append(
            f"- Under contention `train.threads=auto` ({contention.threads} thread{'s' * (contention.threads != 1)}) "
            f"runs at {share:.2f}x one thread's img/s (target: no slower than 0.9x: {'met' if share >= 0.9 else 'not met'})."
        )
    for row in rows:
        share, dtype = achieved_share(row, "default", peaks), dtype_name(row.precision)
        below = f", below {PEAK_SHARE:.0%}: profiled below" if share < PEAK_SHARE else ""
        out.append(f"- {row.family}: the default step reaches {share:.1%} of the {dtype} matmul peak{below}.")
    return out


def run_header() -> dict:
    """What the report's header says about the machine and the run, read at the start."""
    env = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} " if "OMP_NUM_THREADS" in os.environ else ""
    try:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
        commit = git.stdout.strip() or "?"
    except OSError:
        commit = "?"
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    feats = cpu_features()
    return {
        "command": env + "python benchmarks/throughput.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:]),
        "features": feats.describe(),
        "native_bf16": feats.bf16,
        "precision": resolve_precision("auto", "cpu"),
        "threads": resolve_threads("auto"),
        "blas": f"BLAS: {blas.group(1) if blas else 'unknown'}",
        "commit": commit,
        "load_start": load_average(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=16, help="timed steps per round and mode (default 16)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; the median is reported (default 3)")
    ap.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    ap.add_argument("--profile-steps", type=int, default=2, help="default steps profiled where below half the peak")
    ap.add_argument("--skip-contention", action="store_true", help="skip the DCGAN run against a busy core")
    ap.add_argument(
        "--compile",
        nargs="*",
        choices=list(FAMILIES),
        default=["dcgan", "stylegan"],
        help="families whose default step is also timed with train.compile=true (none: skip)",
    )
    ap.add_argument("--out", default="docs/benchmarks/throughput.md")
    args = ap.parse_args()
    start = time.perf_counter()
    header = run_header()
    precision = header["precision"][0]
    print(f"CPU: {header['features']}; train.precision=auto -> {precision}", flush=True)
    # the dtype and thread count of every mode: plain and fp32 in fp32 at 1, default at 1, 2 threads
    peaks = {key: matmul_peak(DTYPES[key[0]], key[1]) for key in sorted({("32", 1), (precision, 1), (precision, 2)})}
    print("matmul peaks: " + ", ".join(f"{d} x{t}: {p / 1e9:.0f} GFLOP/s" for (d, t), p in peaks.items()))
    header["estimate"] = estimate_s(args, peaks)
    print(f"estimated wall time: about {header['estimate'] / 60:.1f} min", flush=True)
    rows, contention, compiles = [], None, []
    with tempfile.TemporaryDirectory(prefix="ganforge-throughput-") as tmp:
        for family in args.families:
            print(f"{family} ({time.perf_counter() - start:.0f} s in)", flush=True)
            rows.append(run_family(family, args, peaks, Path(tmp)))
        if not args.skip_contention:
            print(f"contention ({time.perf_counter() - start:.0f} s in)", flush=True)
            contention = run_contention(args, Path(tmp))
        for family in args.compile:
            print(f"compile {family} ({time.perf_counter() - start:.0f} s in)", flush=True)
            compiles.append(run_compile(family, args, Path(tmp)))
    header["elapsed"] = time.perf_counter() - start
    text = report(args, rows, peaks, contention, header, compiles)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
