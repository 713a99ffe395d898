"""SIGTERM and SIGINT while training: a checkpoint at the next step boundary, exit 0 with the line that
resumes, and the resumed run equals an uninterrupted one bit for bit; a second signal exits at once
and leaves the last checkpoint loadable."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from ganforge.cli import main
from ganforge.config import load_config
from ganforge.training.checkpoint import load_latest, read_checkpoint
from ganforge.training.loop import Trainer

from conftest import TINY

COMMON = ["quickstart", *TINY, "train.ckpt_every=0"]  # TINY logs every step


def start_training(run, *overrides):
    """`ganforge train` in a child process, once it has logged three steps."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganforge.cli", "train", *COMMON, "train.steps=100000", *overrides, "--out", str(run)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    metrics = run / "metrics.jsonl"
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.05)
    return proc


def tensors(run):
    path = load_latest(run).path
    return load_file(str(path / "model.safetensors")), load_file(str(path / "optim.safetensors"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_at_the_next_step_boundary(tmp_path, sig):
    trainer = Trainer(load_config(None, [*COMMON[1:], "model.family=dcgan", "train.steps=20"]), tmp_path / "run")
    before = signal.getsignal(sig)

    def send(optimizer, args, kwargs):  # the signal arrives in the middle of step 4
        if trainer.step == 4:
            os.kill(os.getpid(), sig)

    trainer.opts["G"].optimizer.register_step_post_hook(send)
    result = trainer.fit()
    assert result["interrupted"] == sig.name and result["step"] == 5
    assert load_latest(trainer.run_dir).step == 5  # the checkpoint is at the boundary after step 4
    records = [json.loads(line) for line in (trainer.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1] == {"kind": "interrupted", "step": 5, "signal": sig.name}
    assert signal.getsignal(sig) is before  # the handlers are put back
    assert not (trainer.run_dir / ".lock").exists()


def test_sigterm_exits_0_and_resuming_is_exact(tmp_path):
    run = tmp_path / "run"
    proc = start_training(run)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    k = load_latest(run).step
    assert out.strip().splitlines()[-1] == (
        f"SIGTERM: stopped at step {k} of 100000 with a checkpoint; resume with: ganforge train --resume --out {run}"
    )
    assert "SIGTERM: saving a checkpoint after this step" in err and "Traceback" not in err
    main(["train", "--resume", f"train.steps={k + 2}", "--out", str(run)])
    main(["train", *COMMON, f"train.steps={k + 2}", "--out", str(tmp_path / "full")])
    (w_run, o_run), (w_full, o_full) = tensors(run), tensors(tmp_path / "full")
    assert w_run.keys() == w_full.keys() and o_run.keys() == o_full.keys() and len(o_full) > 0
    for key in w_full:
        assert torch.equal(w_run[key], w_full[key]), key
    for key in o_full:
        assert torch.equal(o_run[key], o_full[key]), key


def test_a_second_signal_exits_at_once_and_the_last_checkpoint_survives(tmp_path):
    run = tmp_path / "run"
    proc = start_training(run, "train.ckpt_every=1")  # saving all the time
    os.kill(proc.pid, signal.SIGTERM)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (128 + signal.SIGTERM, 128 + signal.SIGINT), (proc.returncode, err)
    assert "again: stopping at once" in err
    latest = (run / "checkpoints" / "latest").read_text().strip()
    step = read_checkpoint(run / "checkpoints" / latest).step  # `latest` names a whole checkpoint
    main(["train", "--resume", f"train.steps={step + 1}", "--out", str(run)])  # its lock is gone
    assert load_latest(run).step == step + 1
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith((".tmp-", ".latest-", ".old-"))]
