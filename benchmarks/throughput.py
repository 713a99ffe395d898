"""Training throughput of a DCGAN 32x32 step (batch 64): ganforge's loop vs a plain PyTorch loop of
the same architecture (the classic DCGAN tutorial loop, written below), measured side by side in
one process, fp32 and bf16; plus this machine's matmul peak and the achieved fraction of it.

    python benchmarks/throughput.py [--steps 30] [--rounds 3] [--threads 2] [--out docs/benchmarks/throughput.md]

Both loops run the same networks on the same MNIST batches (resized to 32x32). Rounds alternate
A, B, A, B so that load from other processes hits both alike; the median round is reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from ganforge.config import load_config  # noqa: E402
from ganforge.training.loop import Trainer  # noqa: E402

from _machine import describe  # noqa: E402

NZ, NGF, NDF, NC, BATCH = 100, 64, 64, 1, 64


# --- the plain loop: the PyTorch DCGAN tutorial, at 32x32 -----------------------------------------
class TutorialG(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, NGF * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(NGF * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NGF * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NGF),
            nn.ReLU(True),
            nn.ConvTranspose2d(NGF, NC, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.main(z)


class TutorialD(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(NC, NDF, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NDF * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(NDF * 4),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(NDF * 4, 1, 4, 1, 0),
        )

    def forward(self, x):
        return self.main(x).view(-1)


class PlainLoop:
    def __init__(self, data: torch.Tensor, bf16: bool):
        torch.manual_seed(0)
        self.G, self.D, self.data, self.bf16 = TutorialG(), TutorialD(), data, bf16
        self.optG = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optD = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.crit = nn.BCEWithLogitsLoss()
        self.i = 0

    def step(self):
        real = self.data[(self.i * BATCH) % (len(self.data) - BATCH) :][:BATCH]
        self.i += 1
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else nullcontext()
        ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
        with ctx:  # D: maximise log D(x) + log(1 - D(G(z)))
            self.D.zero_grad()
            errD_real = self.crit(self.D(real).float(), ones)
            noise = torch.randn(BATCH, NZ, 1, 1)
            fake = self.G(noise)
            errD_fake = self.crit(self.D(fake.detach()).float(), zeros)
        (errD_real + errD_fake).backward()
        self.optD.step()
        with ctx:  # G: maximise log D(G(z))
            self.G.zero_grad()
            errG = self.crit(self.D(fake).float(), ones)
        errG.backward()
        self.optG.step()


def ganforge_trainer(run_dir: Path, bf16: bool) -> Trainer:
    cfg = load_config(
        None,
        [
            "model.family=dcgan",
            f"model.z_dim={NZ}",
            f"model.g_width={NGF}",
            f"model.d_width={NDF}",
            "data.split=test",
            "data.resolution=32",
            f"train.batch_size={BATCH}",
            f"train.precision={'bf16' if bf16 else '32'}",
            "train.progress=false",
            "train.tensorboard=false",
            "train.ema=0.999",
            "train.sample_every=0",
            "train.ckpt_every=0",
            "train.steps=1000000",
        ],
    )
    return Trainer(cfg, run_dir)


def timed(step, n: int) -> float:
    step()  # warm-up (allocations, oneDNN kernels)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return n * BATCH / (time.perf_counter() - t0)  # images per second


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 2.0) -> float:
    """FLOP/s of an n x n matmul in `dtype`: the best of three timings of as many products as fit in
    about `seconds` (one, where a product is slow: bf16 is emulated on CPUs without AVX-512 BF16 / AMX)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    t0 = time.perf_counter()
    a @ b
    reps = max(1, int(seconds / max(time.perf_counter() - t0, 1e-6)))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 * reps / best


def step_flops(loop: PlainLoop) -> int:
    with FlopCounterMode(display=False) as counter:
        loop.step()
    return counter.get_total_flops()


def reading(rows, peaks) -> list[str]:
    """What the table says, in words computed from it."""
    (_, _, ours32, plain32, _), (_, _, ours16, plain16, _) = rows
    out = [
        f"- ganforge's loop runs at {ours32 / plain32:.2f}x the plain loop's speed in fp32 and "
        f"{ours16 / plain16:.2f}x in bf16, with its extra G forward per step and the EMA update."
    ]
    if peaks["bf16"] < peaks["fp32"] / 4:
        out.append(
            f"- bf16 is {peaks['fp32'] / peaks['bf16']:.0f}x slower than fp32 in a plain matmul and "
            f"{plain32 / plain16:.0f}x slower in the training step here: this CPU has no bf16 arithmetic "
            "(no AVX-512 BF16 / AMX), so PyTorch emulates it. `train.precision=bf16` pays off on CPUs "
            "and GPUs that have it; on this one use fp32. The bf16 'peak' is the emulated matmul, so "
            "the convolutions' own bf16 path can exceed it (achieved / peak above 100%)."
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument(
        "--bf16-steps",
        type=int,
        default=None,
        help="steps per bf16 round (default --steps); bf16 is emulated and slow on CPUs without AVX-512 BF16/AMX",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="docs/benchmarks/throughput.md")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, tmp = [], Path(tempfile.mkdtemp())
    for precision in ("fp32", "bf16"):
        bf16 = precision == "bf16"
        trainer = ganforge_trainer(tmp / precision, bf16)
        plain = PlainLoop(trainer.data.x, bf16)
        n_plain = sum(p.numel() for m in (plain.G, plain.D) for p in m.parameters())
        n_ours = sum(p.numel() for m in trainer.nets.values() for p in m.parameters())
        assert n_plain == n_ours, (n_plain, n_ours)  # the same architecture
        steps = args.bf16_steps if bf16 and args.bf16_steps else args.steps
        ours, theirs = [], []
        for _ in range(args.rounds):
            theirs.append(timed(plain.step, steps))
            ours.append(timed(trainer.train_step, steps))
        flops = step_flops(plain)
        rows.append((precision, steps, statistics.median(ours), statistics.median(theirs), flops))
    peaks = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}

    lines = [
        "# Training throughput: DCGAN 32x32, batch 64",
        "",
        f"Command: `python benchmarks/throughput.py --steps {args.steps} --rounds {args.rounds}"
        + (f" --bf16-steps {args.bf16_steps}" if args.bf16_steps else "")
        + (f" --threads {args.threads}" if args.threads else "")
        + "`",
        "",
        f"Machine: {describe()}",
        "",
        "ganforge = `Trainer.train_step()` (Fabric, EMA update, D then G phase, each with its own G forward); "
        "plain = the PyTorch DCGAN tutorial loop (one G forward shared by the D and G updates). Same networks "
        f"({n_ours:,} parameters), same data. Median of {args.rounds} alternating rounds (steps per round in the table).",
        "",
        "| precision | steps/round | ganforge img/s | plain loop img/s | ganforge / plain | GFLOP per plain step | achieved (plain) | matmul peak | achieved / peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for precision, steps, ours, theirs, flops in rows:
        achieved = flops * theirs / BATCH
        lines.append(
            f"| {precision} | {steps} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.2f} | {flops / 1e9:.2f} | "
            f"{achieved / 1e9:.1f} GFLOP/s | {peaks[precision] / 1e9:.1f} GFLOP/s | {achieved / peaks[precision]:.1%} |"
        )
    lines += [
        "",
        "Peak: the best of three timings of 2048x2048 matmuls in that dtype (as many as fit in about 2 s). FLOPs counted by "
        "`torch.utils.flop_counter` on one plain step (forward + backward of both networks).",
        "",
        *reading(rows, peaks),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
