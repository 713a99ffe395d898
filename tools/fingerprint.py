"""Train presets for a few steps and print a SHA-256 of every network's weights (and the EMA copy).

Used to show that a refactor changes nothing a user can see: run it before and after, on the same
machine and torch version, with one thread, and compare the JSON it writes.

    python tools/fingerprint.py --out before.json
    python tools/fingerprint.py --out after.json --compare before.json

tools/fingerprint-672750a.json holds the hashes of ganforge at commit 672750a (before configs were
per family and the objectives shared one adversarial step), taken on this project's 2-core AMD EPYC
with torch 2.14.1: `PYTHONPATH=benchmarks python tools/fingerprint.py --out after.json --compare
tools/fingerprint-672750a.json` checks a later tree against it (on the same kind of machine; other
CPUs may round differently).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

PRESETS = [
    "quickstart",
    "gan-mnist",
    "wgan-gp-mnist",
    "wgan-mnist",
    "sngan-mnist",
    "cgan-mnist",
    "acgan-mnist",
    "sngan-proj-mnist",
    "biggan-mnist",
    "cdcgan-fashion-ada",
    "stylegan-mnist",
    "pix2pix-edges",
    "cyclegan-edges",
    "ring8-r1-ema",
    "stacked-mnist-r1",
]
COMMON = [
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.ckpt_every=0",
    "train.threads=1",
    "train.precision=32",  # the reference was taken in fp32 (the default then)
    "train.log_every=10",
]
# the reference drew a second batch of fakes for G's phase (before loss.share_fake); translation has no such option
SEPARATE_FAKES = {p: ["loss.share_fake=false"] for p in PRESETS if p not in ("pix2pix-edges", "cyclegan-edges")}
DATA_LIMIT = {"ring8-r1-ema": ["data.num_points=2000"], "stacked-mnist-r1": ["data.num_points=2000"]}
# the two ResNet presets at a quarter of their width: at full width 50 steps take ~10 CPU-minutes each
SMALLER = {
    "sngan-mnist": ["model.g_width=16", "model.d_width=16"],
    "sngan-proj-mnist": ["model.g_width=16", "model.d_width=16"],
}


def digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()


def fingerprint(preset: str, steps: int) -> dict[str, str]:
    from ganforge.config import load_config
    from ganforge.training.loop import Trainer

    extra = DATA_LIMIT.get(preset, ["data.limit=512"]) + SMALLER.get(preset, []) + SEPARATE_FAKES.get(preset, [])
    cfg = load_config(preset, [f"train.steps={steps}", *COMMON, *extra])
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run")
        trainer.fit()
        out = {name: digest(net.state_dict()) for name, net in trainer.nets.items()}
        if trainer.ema is not None:
            out[f"{trainer.ema_name}_ema"] = digest(trainer.ema.model.state_dict())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", default=None, help="an earlier --out to compare with")
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        import presets as _benchmark_presets  # noqa: F401  (benchmarks/presets.py, where it exists)
    except ImportError:
        pass
    results = {}
    for preset in args.presets.split(","):
        t0 = time.process_time()
        results[preset] = fingerprint(preset, args.steps)
        print(f"{preset}: {time.process_time() - t0:.1f} CPU-s", file=sys.stderr, flush=True)
        record = {"steps": args.steps, "torch": torch.__version__, "presets": results}
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")  # after every preset
    if args.compare:
        before = json.loads(Path(args.compare).read_text())["presets"]
        bad = [p for p in results if before.get(p) != results[p]]
        for p in bad:
            print(f"DIFFERENT: {p}: {before.get(p)} != {results[p]}")
        print(f"{len(results) - len(bad)} of {len(results)} presets bit-identical")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
