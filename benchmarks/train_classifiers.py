"""Train the LeNet classifiers behind the `lenet-mnist` and `lenet-fashion` feature extractors and
write them to src/ganforge/metrics/weights/<name>.safetensors.

    GANFORGE_DATA=/work/shared/data python benchmarks/train_classifiers.py [--only mnist|fashion] [--threads 2]

Deterministic for a given seed and thread count on the CPU: fixed seeds, a seeded shuffle,
deterministic algorithms. Plain Adam with a step decay, batch norm and dropout, no augmentation: a few
epochs reach the targets, which keeps this cheap on two shared cores. The test accuracy is
measured on the weights as saved and stored in the file's metadata.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ganforge.data.idx import load_idx_dataset
from ganforge.metrics.lenet import LeNet

OUT = Path(__file__).resolve().parent.parent / "src" / "ganforge" / "metrics" / "weights"
RECIPES = {  # name: (data set, epochs, learning rate x0.3 every this many epochs, target test accuracy)
    "mnist": ("mnist", 4, 2, 0.990),
    "fashion": ("fashion-mnist", 4, 2, 0.900),
}


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28] in [-1, 1], ganforge's image convention."""
    return torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)


@torch.no_grad()
def accuracy(net: LeNet, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    net.eval()
    correct = sum(int((net(x[i : i + batch])[1].argmax(1) == y[i : i + batch]).sum()) for i in range(0, len(x), batch))
    return correct / len(x)


def train(name: str, seed: int, batch_size: int = 128) -> dict:
    dataset, epochs, decay_every, target = RECIPES[name]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xtr, ytr = load_idx_dataset(dataset, "train")
    xte, yte = load_idx_dataset(dataset, "test")
    xtr, xte = to_float(xtr), to_float(xte)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    net = LeNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=decay_every, gamma=0.3)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            _, logits = net(xtr[idx])
            loss = F.cross_entropy(logits, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        print(
            f"{name} epoch {epoch + 1}/{epochs}: loss {total / len(xtr):.4f}, "
            f"test accuracy {accuracy(net, xte, yte):.4f} ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"lenet-{name}.safetensors"
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    meta = {
        "dataset": dataset,
        "epochs": str(epochs),
        "seed": str(seed),
        "recipe": f"Adam 1e-3, x0.3 every {decay_every} epochs, batch {batch_size}, dropout 0.5, no augmentation",
        "script": "benchmarks/train_classifiers.py",
    }
    save_file(state, str(path), metadata=meta)
    saved = LeNet()
    saved.load_state_dict(load_file(str(path)))  # measure what ships
    acc = accuracy(saved, xte, yte)
    save_file(state, str(path), metadata={**meta, "test_accuracy": f"{acc:.4f}"})
    status = "ok" if acc >= target else f"BELOW TARGET {target}"
    print(f"{name}: test accuracy {acc:.4f} ({status}) -> {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return {
        "name": f"lenet-{name}",
        "test_accuracy": acc,
        "target": target,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(RECIPES), help="train one classifier only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 is faster on a busy 2-core machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    results = [train(name, args.seed) for name in sorted(RECIPES) if args.only in (None, name)]
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
