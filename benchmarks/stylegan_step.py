"""StyleGAN2's training step against the code the speed issue measured (commit 672750a), side by side.

    OMP_NUM_THREADS=1 python benchmarks/stylegan_step.py [--rounds 3] [--steps 32] [--out docs/benchmarks/stylegan_step.md]

The stylegan-mnist preset (batch 32, 32 px, widths 16 to 128, lazy R1 every 16 steps, path length
every 4) is trained on MNIST by two trees of ganforge in fresh processes, alternately: the source of
commit 672750a (`git archive`, the step the issue timed at 0.69 CPU-s on a loaded machine) and this
checkout, in each of its modes. A mode's figure is process CPU time per step over `--steps` steps
(a whole number of the 16-step period of the lazy phases) after 16 warm-up steps, the median of
`--rounds` rounds; the ratio is the old tree's median over the mode's, both measured in this run.
It also times the two implementations of the modulated convolution (the activation-scaling path
the networks use and eq. 1-3 written out with a weight per sample and a grouped convolution) at
the preset's layer shapes, forward and backward.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REFERENCE = "672750a"  # the commit issue 12 measured
PERIOD = 16  # lazy R1 every 16 steps, path length every 4: a period of the schedule

# one process per round: build the preset's trainer, warm up one period, time `steps` steps
RUNNER = """
import json, sys, tempfile, time
import torch
from ganforge.config import load_config
from ganforge.training.loop import Trainer
overrides, steps, warmup = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cfg = load_config("stylegan-mnist", overrides)
trainer = Trainer(cfg, tempfile.mkdtemp() + "/run")
for _ in range(warmup):
    trainer.train_step()
w0, c0 = time.perf_counter(), time.process_time()
for _ in range(steps):
    trainer.train_step()
print(json.dumps({"cpu_ms": (time.process_time() - c0) / steps * 1e3, "wall_ms": (time.perf_counter() - w0) / steps * 1e3,
                  "threads": torch.get_num_threads(), "precision": str(cfg.train.precision)}))
"""

QUIET = [o for o in QUIET_RUN if not o.startswith("train.threads")] + ["train.log_every=100000"]
# the old tree knew no auto precision: it trained in fp32, on the threads it was given
MODES = {
    f"{REFERENCE} (fp32, 1 thread)": ("old", ["train.threads=1"]),
    "fp32, 1 thread": ("new", ["train.threads=1", "train.precision=32", "train.channels_last=false"]),
    "default, 1 thread": ("new", ["train.threads=1"]),
    "default, separate fakes, 1 thread": ("new", ["train.threads=1", "loss.share_fake=false"]),
    "default, 2 threads": ("new", ["train.threads=2"]),
}


def reference_tree(dest: Path) -> Path:
    """The src/ folder of the reference commit, unpacked under dest."""
    archive = subprocess.run(["git", "archive", REFERENCE, "src"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def one_round(src: Path, overrides: list[str], steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "2" if "train.threads=2" in overrides else "1"}
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps([*QUIET, *overrides]), str(steps), str(PERIOD)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"a round failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def time_modconv(fn, c_in: int, c_out: int, res: int, up: bool, dtype: torch.dtype, reps: int) -> float:
    """Mean CPU ms of one forward + backward of `fn` at batch 32."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, c_in, res, res, generator=gen).requires_grad_(True)
    weight = (torch.randn(c_out, c_in, 3, 3, generator=gen) / (c_in * 9) ** 0.5).requires_grad_(True)
    s = torch.randn(32, c_in, generator=gen).add(1).requires_grad_(True)
    total = 0.0
    for rep in range(reps + 1):  # the first is a warm-up
        t0 = time.process_time()
        with torch.autocast("cpu", torch.bfloat16, enabled=dtype == torch.bfloat16):
            y = fn(x, weight, s, True, up)
        y.float().square().mean().backward()
        total += (time.process_time() - t0) if rep else 0.0
    return total / reps * 1e3


def modconv_timings(reps: int = 20) -> list[dict]:
    """Forward + backward ms of both modulated-conv implementations at the preset's layer shapes."""
    from ganforge.models.stylegan import channel_plan, modulated_conv2d, modulated_conv2d_reference

    torch.set_num_threads(1)
    plan = channel_plan(32, 16, 128)
    shapes = [(plan[r // 2], plan[r], r // 2, True) for r in (8, 16, 32)]
    shapes += [(plan[r], plan[r], r, False) for r in (4, 8, 16, 32)]
    rows = []
    for c_in, c_out, res, up in shapes:
        for dtype in (torch.float32, torch.bfloat16):
            times = {
                name: time_modconv(fn, c_in, c_out, res, up, dtype, reps)
                for name, fn in (("fast", modulated_conv2d), ("reference", modulated_conv2d_reference))
            }
            rows.append({"in": c_in, "out": c_out, "res": res, "up": up, "dtype": str(dtype).split(".")[1], **times})
    return rows


# --- layer alternatives that were tried: each computes what the networks' op computes ---------------
BLUR_TAPS = (1.0, 3.0, 3.0, 1.0)


def up_conv(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The generator's upsampling conv: transposed 3x3 with stride 2, then the 4x4 blur (gain 4)."""
    from ganforge.models.stylegan import blur

    return blur(torch.nn.functional.conv_transpose2d(x, w.transpose(0, 1), stride=2), (1, 1), gain=4.0)


def composed_6x6(w: torch.Tensor) -> torch.Tensor:
    """[out, in, 3, 3] -> [out, in, 6, 6]: the 3x3 kernel convolved with the 4x4 blur (gain 4)."""
    k = torch.tensor(BLUR_TAPS, dtype=w.dtype) / 4.0
    f = (k[:, None] * k[None, :])[None, None]
    o, i = w.shape[:2]
    return torch.nn.functional.conv2d(torch.nn.functional.pad(w.reshape(o * i, 1, 3, 3), (3, 3, 3, 3)), f).reshape(
        o, i, 6, 6
    )


def up_conv_6x6(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Alternative: one transposed conv with the composed 6x6 kernel (no depthwise blur)."""
    return torch.nn.functional.conv_transpose2d(x, composed_6x6(w).transpose(0, 1), stride=2, padding=2)


def up_conv_polyphase(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Alternative: the 6x6 transposed conv as four 3x3 convs at the input resolution + pixel shuffle."""
    K = composed_6x6(w)
    o, i = K.shape[:2]
    phases = [K[:, :, [a + 4, a + 2, a]][:, :, :, [b + 4, b + 2, b]] for a in (0, 1) for b in (0, 1)]
    return torch.nn.functional.pixel_shuffle(
        torch.nn.functional.conv2d(x, torch.stack(phases, 1).reshape(o * 4, i, 3, 3), padding=1), 2
    )


def down_conv(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The discriminator's downsampling conv: the 4x4 blur, then 3x3 with stride 2."""
    from ganforge.models.stylegan import blur

    return torch.nn.functional.conv2d(blur(x, (2, 2)), w, stride=2)


def down_conv_6x6(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Alternative: one stride-2 conv with the 3x3 kernel convolved with the blur (6x6)."""
    k = torch.tensor(BLUR_TAPS, dtype=w.dtype) / 8.0
    f = (k[:, None] * k[None, :])[None, None]
    o, i = w.shape[:2]
    K = torch.nn.functional.conv_transpose2d(w.reshape(o * i, 1, 3, 3), f).reshape(o, i, 6, 6)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 2, 2, 2)), K, stride=2)


def skip(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The discriminator's residual shortcut: 2x2 average, then 1x1 conv."""
    return torch.nn.functional.conv2d(torch.nn.functional.avg_pool2d(x, 2), w[:, :, :1, :1])


def skip_2x2(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Alternative: one 2x2 stride-2 conv with the 1x1 weight / 4 in every tap."""
    return torch.nn.functional.conv2d(x, (w[:, :, :1, :1] / 4).expand(-1, -1, 2, 2), stride=2)


def blur_4x4(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The blur as the networks run it: one depthwise 4x4 convolution (w unused)."""
    from ganforge.models.stylegan import blur

    return blur(x, (2, 2))


def blur_separable(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Alternative: the same filter as two depthwise 1-D convolutions (w unused)."""
    c = x.shape[1]
    k = torch.tensor(BLUR_TAPS, dtype=x.dtype) / 8.0
    x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    x = torch.nn.functional.conv2d(x, k.view(1, 1, 1, 4).expand(c, 1, 1, 4), groups=c)
    return torch.nn.functional.conv2d(x, k.view(1, 1, 4, 1).expand(c, 1, 4, 1), groups=c)


# (what, the op the networks run, the alternative, [(in channels, out channels, input px)])
ALTERNATIVES = [
    ("G up conv: 6x6 transposed", up_conv, up_conv_6x6, [(128, 64, 4), (64, 32, 8), (32, 16, 16)]),
    ("G up conv: polyphase 3x3 + shuffle", up_conv, up_conv_polyphase, [(128, 64, 4), (64, 32, 8), (32, 16, 16)]),
    ("D down conv: 6x6 stride 2", down_conv, down_conv_6x6, [(16, 32, 32), (32, 64, 16), (64, 128, 8)]),
    ("D shortcut: 2x2 stride-2 conv", skip, skip_2x2, [(16, 32, 32), (32, 64, 16), (64, 128, 8)]),
    ("blur: separable 1-D", blur_4x4, blur_separable, [(16, 16, 32), (32, 32, 16), (64, 64, 8)]),
]


def time_op(fn, x: torch.Tensor, w: torch.Tensor, reps: int) -> float:
    """Mean CPU ms of forward + backward, channels-last input, after one warm-up."""
    x = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    w = w.detach().requires_grad_(True)
    total = 0.0
    for rep in range(reps + 1):
        t0 = time.process_time()
        fn(x, w).float().square().mean().backward()
        total += (time.process_time() - t0) if rep else 0.0
    return total / reps * 1e3


def alternative_timings(reps: int = 20) -> list[dict]:
    torch.set_num_threads(1)
    rows = []
    for what, ours, alt, shapes in ALTERNATIVES:
        for c_in, c_out, res in shapes:
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(32, c_in, res, res, generator=gen)
            w = torch.randn(c_out, c_in, 3, 3, generator=gen) / (c_in * 9) ** 0.5
            with torch.no_grad():
                diff = (ours(x, w) - alt(x, w)).abs().max().item()
            for dtype in (torch.float32, torch.bfloat16):
                t_ours, t_alt = (
                    time_op(ours, x.to(dtype), w.to(dtype), reps),
                    time_op(alt, x.to(dtype), w.to(dtype), reps),
                )
                rows.append(
                    {
                        "what": what,
                        "shape": f"{c_in} -> {c_out}, {res} px",
                        "dtype": str(dtype).split(".")[1],
                        "ours": t_ours,
                        "alt": t_alt,
                        "diff": diff,
                    }
                )
    return rows


def faster_sentence(alts: list[dict]) -> str:
    """Which alternatives beat the networks' op in this run (by more than 5%), or that none did."""
    wins = [
        f"{r['what']} at {r['shape']} ({r['dtype']}, {r['alt'] / r['ours']:.2f}x)"
        for r in alts
        if r["alt"] < 0.95 * r["ours"]
    ]
    if not wins:
        return "None was more than 5% faster than the op it would replace, so the networks keep their ops."
    return "Faster than the op it would replace by more than 5% in this run: " + "; ".join(wins) + "."


def report(args, results: dict[str, list[dict]], convs: list[dict], alts: list[dict], header: str, load: tuple) -> str:
    med = {m: statistics.median(r["cpu_ms"] for r in rs) for m, rs in results.items()}
    wall = {m: statistics.median(r["wall_ms"] for r in rs) for m, rs in results.items()}
    ref = med[next(iter(MODES))]
    lines = [
        "# StyleGAN2's training step: this tree against 672750a",
        "",
        f"Written by `OMP_NUM_THREADS=1 python benchmarks/stylegan_step.py --rounds {args.rounds} --steps {args.steps}` on {header}.",
        f"Load average {load[0]:.2f} at the start and {load[1]:.2f} at the end (1-minute figures; this benchmark's own process counts as 1).",
        "",
        "The stylegan-mnist preset (batch 32, MNIST at 32 px, widths 16 to 128, lazy R1 every 16 steps, path length every 4), "
        f"trained by commit {REFERENCE} (the code issue 12 timed at 0.69 CPU-s per step on a loaded machine) and by this tree, "
        f"alternately in fresh processes; each figure is process CPU time per step (all threads) over {args.steps} steps after "
        f"{PERIOD} warm-up steps, the median of {args.rounds} rounds. x: the old tree's CPU ms per step over the mode's.",
        "",
        "| code, mode | CPU ms/step | wall ms/step | x 672750a (CPU) | rounds (CPU ms) |",
        "|---|---|---|---|---|",
    ]
    for m, rs in results.items():
        rounds = ", ".join(f"{r['cpu_ms']:.0f}" for r in rs)
        lines.append(f"| {m} | {med[m]:.0f} | {wall[m]:.0f} | {ref / med[m]:.2f}x | {rounds} |")
    best = min((m for m in results if m != next(iter(MODES))), key=med.get)
    lines += [
        "",
        f"Target (issue 12): the preset's step at least 2x faster than {REFERENCE}'s in CPU time on the same machine. "
        f"Best mode here: {best}, {ref / med[best]:.2f}x: {'met' if ref / med[best] >= 2 else 'missed'}.",
        "",
        "## The modulated convolution, two ways",
        "",
        "Forward + backward of one layer at batch 32 (CPU ms, one thread, the mean of 20): `fast` scales the activations by the styles, "
        "convolves with the shared weight and scales the outputs by the demodulation factors (what the generator runs); `reference` "
        "builds a modulated, demodulated weight per sample and runs one grouped convolution (eq. 1-3 as written; the official code's "
        "fused path). tests/models/test_stylegan.py checks that the two agree to 1e-5.",
        "",
        "| layer (in -> out, input px) | dtype | fast | reference | reference / fast |",
        "|---|---|---|---|---|",
    ]
    for r in convs:
        kind = "up 3x3" if r["up"] else "3x3"
        lines.append(
            f"| {kind} {r['in']} -> {r['out']}, {r['res']} px | {r['dtype']} | {r['fast']:.2f} | {r['reference']:.2f} | "
            f"{r['reference'] / r['fast']:.2f} |"
        )
    lines += [
        "",
        "## Layer alternatives tried",
        "",
        "Each alternative computes the same function as the op the networks run (max |difference| in fp32 shown); "
        "forward + backward at batch 32, channels-last input, CPU ms, one thread, the mean of 20. "
        + faster_sentence(alts),
        "",
        "| alternative | layer (in -> out, input px) | dtype | networks' op | alternative | alternative / op | max diff |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in alts:
        lines.append(
            f"| {r['what']} | {r['shape']} | {r['dtype']} | {r['ours']:.2f} | {r['alt']:.2f} | {r['alt'] / r['ours']:.2f} | "
            f"{r['diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=32, help="timed steps per round (a multiple of 16)")
    ap.add_argument("--out", default="docs/benchmarks/stylegan_step.md")
    args = ap.parse_args()
    if args.steps % PERIOD:
        raise SystemExit(f"--steps must be a multiple of {PERIOD} (the period of the lazy phases)")
    load0 = os.getloadavg()[0]
    header = describe()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"old": reference_tree(Path(tmp)), "new": REPO / "src"}
        results: dict[str, list[dict]] = {m: [] for m in MODES}
        for r in range(args.rounds):
            for mode, (tree, overrides) in MODES.items():
                results[mode].append(one_round(trees[tree], overrides, args.steps))
                print(f"round {r + 1}: {mode}: {results[mode][-1]['cpu_ms']:.0f} CPU ms/step", flush=True)
    convs, alts = modconv_timings(), alternative_timings()
    text = report(args, results, convs, alts, header, (load0, os.getloadavg()[0]))
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
