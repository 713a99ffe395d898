"""Large outputs stream: `ganforge sample --out X.npz` writes the arrays in pieces, so memory does not
grow with --n, and the file holds the same arrays as the in-memory write it replaced."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.inference.sampling import (
    labels_for,
    latent_chunks,
    latents,
    sample,
    sample_batches,
    write_samples,
    write_synthetic,
)
from ganforge.io import NpzWriter, to_uint8
from ganforge.models.registry import build_networks

from conftest import tiny_model
from tests_helpers import STYLEGAN_TINY


def _model(overrides, shape=(1, 28, 28), classes=0, kind="image") -> LoadedModel:
    """Randomly initialised networks are enough: the test is about how samples reach the file."""
    torch.manual_seed(0)
    cfg = load_config(None, [*overrides, "train.progress=false"])
    nets = build_networks(cfg, shape, classes)
    return LoadedModel.from_networks(cfg, nets, shape, classes, tuple(f"c{i}" for i in range(classes)), kind=kind)


def _in_memory(model, n, seed, batch_size, y=None, truncation=None) -> dict:
    """What `ganforge sample --out X.npz` wrote before it streamed: every sample in memory at once."""
    x = sample(model, n, seed, batch_size, y=y, truncation=truncation)
    arrays = {"images": to_uint8(x)} if x.ndim == 4 else {"points": x.numpy()}
    labels = labels_for(model, n, y)
    if labels is not None:
        arrays["labels"] = labels.numpy()
    return arrays


def _assert_same(path, arrays):
    with np.load(path, allow_pickle=False) as d:
        assert list(d.keys()) == list(arrays)
        for k, v in arrays.items():
            assert d[k].dtype == v.dtype and d[k].shape == v.shape, k
            assert np.array_equal(d[k], v), k


def test_latent_pieces_are_one_draw():
    """Pins the property of torch's CPU normal sampler that streamed latents rely on."""
    for z_dim in (1, 3, 8, 16, 100, 128):
        model = _model(tiny_model("mlp") if z_dim == 16 else [*tiny_model("mlp"), f"model.z_dim={z_dim}"])
        for n in (1, 5, 15, 16, 17, 47, 48, 49, 100, 257, 1000):
            pieces = list(latent_chunks(model, n, seed=3, rows=16))
            assert all(len(p) for p in pieces)
            assert torch.equal(torch.cat(pieces), latents(model, n, seed=3)), (z_dim, n)


CASES = {
    "dcgan": (tiny_model("dcgan"), {}, [dict(n=1), dict(n=100, seed=3), dict(n=53, truncation=0.7)]),
    "cdcgan": (
        tiny_model("cdcgan"),
        {"classes": 10},
        [dict(n=70), dict(n=33, y=3, truncation=0.5), dict(n=20, y="c9"), dict(n=5, y=[1, 2, 3, 4, 5])],
    ),
    "stylegan": (STYLEGAN_TINY, {"shape": (1, 16, 16)}, [dict(n=40, truncation=0.6), dict(n=17)]),  # truncation in W
    "points": (tiny_model("mlp"), {"shape": (2,), "kind": "points"}, [dict(n=100, seed=5), dict(n=3)]),
}


@pytest.mark.parametrize("case", CASES)
def test_streamed_npz_holds_the_in_memory_arrays(case, tmp_path):
    overrides, kw, calls = CASES[case]
    model = _model(overrides, **kw)
    for i, call in enumerate(calls):
        call = {"seed": 0, "y": None, "truncation": None, **call}
        # batch 16: many pieces (and G batches) even for small n
        pieces = list(sample_batches(model, call["n"], call["seed"], 16, y=call["y"], truncation=call["truncation"]))
        assert torch.equal(
            torch.cat([x for x, _ in pieces]),
            sample(model, call["n"], call["seed"], 16, y=call["y"], truncation=call["truncation"]),
        )
        out = tmp_path / f"{i}.npz"
        info = write_samples(model, out, **call, batch_size=16)
        assert info["count"] == call["n"]
        _assert_same(out, _in_memory(model, batch_size=16, **call))


def test_synthetic_data_set_streams_the_same_arrays(tmp_path):
    model = _model(tiny_model("cdcgan"), classes=10)
    write_synthetic(model, tmp_path / "s.npz", per_class=7, seed=2, truncation=0.8, batch_size=16)
    y = torch.arange(10).repeat_interleave(7)
    x = sample(model, 70, 2, 16, y=y, truncation=0.8)
    _assert_same(
        tmp_path / "s.npz",
        {"images": to_uint8(x), "labels": y.numpy(), "classes": np.array([f"c{i}" for i in range(10)])},
    )


def test_failed_stream_leaves_nothing_and_overwrite_is_refused(tmp_path, monkeypatch):
    model = _model(tiny_model("dcgan"))
    out = tmp_path / "s.npz"
    calls = []

    def broken(z, y=None):
        calls.append(len(z))
        if len(calls) == 3:
            raise RuntimeError("disk full, say")
        return torch.zeros(len(z), *model.data_shape)

    monkeypatch.setattr(LoadedModel, "generator", property(lambda self: broken))
    with pytest.raises(RuntimeError, match="disk full"):
        write_samples(model, out, 100, batch_size=16)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary file
    out.write_bytes(b"mine")
    with pytest.raises(UserError, match="already exists"):
        write_samples(model, out, 10)
    assert out.read_bytes() == b"mine"
    with pytest.raises(ValueError, match="rows written"):
        with NpzWriter(tmp_path / "w.npz") as npz:
            npz.write("a", (5, 2), np.float32, [np.zeros((3, 2))])


RSS = textwrap.dedent("""
    import json, resource, sys
    import torch
    from ganforge.cli import main
    from ganforge.config import load_config
    from ganforge.data import Data
    from ganforge.training.loop import Trainer

    run, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    cfg = load_config(None, ["model.family=mlp", "model.z_dim=16", "model.hidden=32", "model.depth=2",
                             "train.steps=1", "train.batch_size=16", "train.progress=false",
                             "train.tensorboard=false", "train.ema=none"])
    data = Data(torch.rand(32, 1, 28, 28) * 2 - 1)  # MNIST-sized images: 784 bytes a sample
    trainer = Trainer(cfg, run, data=data)
    with torch.no_grad():  # G's output constant: the file compresses fast, its size in memory is the same
        for p in trainer.nets["G"].parameters():
            p.zero_()
    trainer.save()
    peak = {}
    for n in (20_000, 200_000):
        main(["sample", run, "--n", str(n), "--out", f"{out}/{n}.npz"])
        peak[n] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    print(json.dumps(peak))
""")


def test_sample_memory_does_not_grow_with_n(tmp_path):
    """200,000 MNIST-sized samples: held in memory they were 627 MB as float32 and 157 MB as uint8
    (this script's peak RSS went from 0.98 GB at 20,000 to 2.6 GB); streamed, the peak stays where
    20,000 samples put it (0.73 GB both, 1.5 MB apart when measured)."""
    script = tmp_path / "rss.py"
    script.write_text(RSS)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    peak = {int(k): v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    growth_mb = (peak[200_000] - peak[20_000]) / 1024
    assert growth_mb < 32, (peak, growth_mb)
    with np.load(tmp_path / "200000.npz") as d:
        images = d["images"]
        assert images.shape == (200_000, 28, 28, 1) and images.dtype == np.uint8
        assert (images == 128).all()  # tanh(0) = 0 -> 127.5 rounds to 128
