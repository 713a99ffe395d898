"""Checkpoints survive SIGKILL mid-write, fall back past damage, and never unpickle."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from ganforge.errors import UserError
from ganforge.training.checkpoint import list_checkpoints, load_latest, read_checkpoint, save_checkpoint

from conftest import TINY, assert_user_error, run_cli

WRITER = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from ganforge.training.checkpoint import save_checkpoint
    folder = Path(sys.argv[1])
    big = {"w": torch.randn(4_000_000)}                     # 16 MB: a save takes long enough to be hit
    opt = {"state": {0: {"step": torch.tensor(1.0), "exp_avg": torch.randn(1000)}},
           "param_groups": [{"lr": 0.1, "params": [0]}]}
    step = 0
    while True:
        step += 1
        big["w"][0] = step
        save_checkpoint(folder, step, {"G": big}, {"G": opt}, {"config": {}}, keep=2)
        print(step, flush=True)
""")


def test_sigkill_during_save_leaves_previous_checkpoint_valid(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    for trial, delay in enumerate([0.05, 0.13, 0.29, 0.41, 0.77]):
        folder = tmp_path / f"ck{trial}"
        proc = subprocess.Popen([sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(delay)  # then kill it somewhere inside a later save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        latest = (folder / "latest").read_text().strip()
        ckpt = read_checkpoint(folder / latest)  # `latest` names a complete checkpoint
        assert ckpt.weights["G"]["w"][0].item() == ckpt.step
        assert load_latest(folder).step == ckpt.step
        assert all(not p.name.startswith(".tmp") for p in list_checkpoints(folder))


def _save(folder, step):
    return save_checkpoint(
        folder,
        step,
        {"G": {"w": torch.full((3,), float(step))}},
        {"G": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}},
        {"config": {}},
        keep=5,
    )


def test_damaged_newest_falls_back_to_older(tmp_path):
    _save(tmp_path, 1)
    newest = _save(tmp_path, 2)
    data = (newest / "model.safetensors").read_bytes()
    (newest / "model.safetensors").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.warns(UserWarning, match="skipping damaged checkpoint"):
        assert load_latest(tmp_path).step == 1
    with pytest.raises(UserError, match="damaged or truncated"):
        read_checkpoint(newest)


def test_not_ours_and_pickles_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "state.json").write_text(json.dumps({"step": 1}))
    with pytest.raises(UserError, match="not a ganforge checkpoint"):
        read_checkpoint(tmp_path / "a")
    # a pickle disguised as weights is never executed: safetensors cannot parse it
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    good = _save(tmp_path / "b", 1)
    (good / "model.safetensors").write_bytes(pickle.dumps(Boom()))
    with pytest.raises(UserError):
        read_checkpoint(good)
    assert not (tmp_path / "pwned").exists()


def test_cli_rejects_truncated_or_foreign_checkpoints(tmp_path):
    run = tmp_path / "run"
    proc = run_cli("train", "quickstart", *TINY, "train.steps=2", "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    ckpt = load_latest(run).path
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[:100])
    assert_user_error(run_cli("sample", str(ckpt), "--out", str(tmp_path / "s.png")), "damaged or truncated")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "state.json").write_text('{"hello": 1}')
    assert_user_error(run_cli("sample", str(foreign), "--out", str(tmp_path / "s.png")), "not a ganforge checkpoint")
    (foreign / "state.json").write_bytes(b"\x00\xff garbage")
    assert_user_error(run_cli("info", str(foreign)), "damaged")
