"""Exact resume: k steps + --resume in a fresh process == N uninterrupted steps, bit for bit."""

import pytest
import torch
from safetensors.torch import load_file

from ganforge.training.checkpoint import load_latest

from conftest import TINY, run_cli, tiny_model


def _tensors(run):
    ckpt = load_latest(run).path
    return load_file(str(ckpt / "model.safetensors")), load_file(str(ckpt / "optim.safetensors"))


@pytest.mark.parametrize(
    "preset, family, extra",
    [
        ("quickstart", "dcgan", ["train.d_steps=2"]),  # BatchNorm buffers, EMA, 2 D steps per G step
        ("gan-mnist", "mlp", ["train.ema=none", "loss.name=minimax"]),
    ],
)
def test_resume_is_exact(tmp_path, preset, family, extra):
    shared = [o for o in TINY if not o.startswith("model.")]
    common = [preset, *shared, *tiny_model(family), "data.resolution=32", "train.ckpt_every=0", *extra]
    full = run_cli("train", *common, "train.steps=7", "--out", str(tmp_path / "full"))
    assert full.returncode == 0, full.stderr
    part = run_cli("train", *common, "train.steps=3", "--out", str(tmp_path / "part"))
    assert part.returncode == 0, part.stderr
    again = run_cli("train", "--resume", "train.steps=7", "--out", str(tmp_path / "part"))
    assert again.returncode == 0, again.stderr
    w_full, o_full = _tensors(tmp_path / "full")
    w_part, o_part = _tensors(tmp_path / "part")
    assert w_full.keys() == w_part.keys() and o_full.keys() == o_part.keys()
    assert len(o_full) > 0
    for key in w_full:
        assert torch.equal(w_full[key], w_part[key]), key
    for key in o_full:
        assert torch.equal(o_full[key], o_part[key]), key
    assert (
        load_latest(tmp_path / "part").state["data_position"] == load_latest(tmp_path / "full").state["data_position"]
    )


def test_resume_without_checkpoints_is_a_user_error(tmp_path):
    proc = run_cli("train", "--resume", "--out", str(tmp_path / "nothing"))
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr
