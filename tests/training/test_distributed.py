"""Data-parallel training through Lightning Fabric: two CPU processes (gloo), the real engine."""

import json

import torch

from ganforge.training.checkpoint import load_latest

from conftest import TINY, run_cli


def test_two_process_ddp_on_cpu(tmp_path):
    run = tmp_path / "ddp"
    proc = run_cli(
        "train",
        "quickstart",
        *TINY,
        "data.limit=256",
        "train.steps=3",
        "train.devices=2",
        "train.strategy=ddp",
        "--out",
        str(run),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    assert proc.stdout.count("run directory:") == 1  # only rank 0 reports and writes
    ckpt = load_latest(run)
    assert ckpt.step == 3 and ckpt.state["config"]["train"]["devices"] == 2
    # every step consumed one batch per rank per phase that needs data: the D phase (G's phase judges
    # the fakes D's phase made, loss.share_fake)
    assert ckpt.state["data_position"] == 3
    assert all(torch.isfinite(v).all() for v in ckpt.weights["G"].values())
    records = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in records] == [1, 2, 3]
