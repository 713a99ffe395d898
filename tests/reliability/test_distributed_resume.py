"""Distributed runs checkpoint from rank 0 only and resume exactly, into the same world size or another.

What "the same results as an uninterrupted run of the same world size" means here: a checkpoint
resumed into W processes continues exactly as an uninterrupted run of W processes would from the
same state. A run that was 2 processes for its first k steps cannot equal one that was 1 process
all along (each rank draws its own noise, and the batches differ), so:

- W = 2: a 2-process run stopped at step k and resumed with 2 processes to step N is bit for bit
  the uninterrupted 2-process run of N steps (every rank's RNG state is in the checkpoint);
- W = 1: the same 2-process checkpoint resumed into 1 process runs without error, at the right step
  and data position (the epoch's examples the two ranks used are skipped, none shown twice), and
  continues to N exactly as a 1-process run from that state does when it is itself checkpointed
  and resumed on the way (plain 1-process resume from step 0 is tests/training/test_resume.py).

The processes are forked from the test process (torch and Fabric already imported) with the
environment torchrun would give them, so Fabric joins them into one gloo group rather than launching
new Python interpreters.
"""

import os
import shutil
import socket

import lightning_fabric  # noqa: F401  (imported once here, not in every forked child)
import pytest
import torch
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.data import BatchStream, Data
from ganforge.training import loop
from ganforge.training.checkpoint import load_latest

from conftest import TINY
from forked import fork, reap_children, wait_exit

N, K = 6, 2  # steps in all; steps before the interruption


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    reap_children()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(run, data, world: int, steps: int, *, cfg=None) -> None:
    """Train `run` to `steps` in `world` forked processes (a new run from `cfg`, else a resume with
    train.devices=world); every process must exit 0. Each rank that saves leaves a file `saved-by-R`."""
    port = _free_port()

    def rank_main(rank: int) -> None:
        if world > 1:
            os.environ.update(
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=str(port),
                WORLD_SIZE=str(world),
                RANK=str(rank),
                LOCAL_RANK=str(rank),
                NODE_RANK="0",
            )
        save = loop.save_checkpoint

        def recorded(folder, *args, **kwargs):
            (run / f"saved-by-{rank}").touch()
            return save(folder, *args, **kwargs)

        loop.save_checkpoint = recorded
        strategy = "ddp" if world > 1 else "auto"
        if cfg is None:
            train = {"steps": steps, "devices": world, "strategy": strategy}
            c = loop.resume_config(run, {"train": train})
            loop.Trainer(c, run, resume=True, data=data).fit()
        else:
            c = load_config(
                None, [*cfg, f"train.steps={steps}", f"train.devices={world}", f"train.strategy={strategy}"]
            )
            loop.Trainer(c, run, data=data).fit()

    pids = [fork(lambda r=r: rank_main(r)) for r in range(world)]
    assert [wait_exit(pid) for pid in pids] == [0] * world


def _tensors(run) -> dict[str, torch.Tensor]:
    path = load_latest(run).path
    return {
        **{f"model/{k}": v for k, v in load_file(str(path / "model.safetensors")).items()},
        **{f"optim/{k}": v for k, v in load_file(str(path / "optim.safetensors")).items()},
    }


def _assert_equal(a, b) -> None:
    ta, tb = _tensors(a), _tensors(b)
    assert ta.keys() == tb.keys() and any(k.startswith("optim/") for k in ta)
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    sa, sb = load_latest(a).state, load_latest(b).state
    assert sa["step"] == sb["step"] and sa["data_position"] == sb["data_position"]
    assert sa["rng"] == sb["rng"] and sa["rng_other_ranks"] == sb["rng_other_ranks"]


def test_two_process_run_checkpoints_from_rank_0_and_resumes_into_two_and_one(tmp_path):
    cfg = [
        *[o for o in TINY if not o.startswith("data.")],
        *("model.family=dcgan", "train.batch_size=8", "train.ckpt_every=0"),  # BatchNorm, EMA, Adam
        "loss.share_fake=false",  # G's phase draws its own batch: two batches per step, as counted below
    ]
    data = Data(torch.rand(80, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    # 2 ranks x 8: 5 batches per epoch, 2 per step (D, G); 1 rank x 8: 10 per epoch

    _train(tmp_path / "full2", data, world=2, steps=N, cfg=cfg)
    part = tmp_path / "part2"
    _train(part, data, world=2, steps=K, cfg=cfg)
    assert sorted(p.name for p in part.glob("saved-by-*")) == ["saved-by-0"]  # rank 0 writes, alone
    ckpt = load_latest(part)
    assert ckpt.step == K and ckpt.state["world_size"] == 2 and ckpt.state["data_position"] == 2 * K
    assert len(ckpt.state["rng_other_ranks"]) == 1 and ckpt.state["rng_other_ranks"][0] != ckpt.state["rng"]
    for copy in ("into1", "into1-resumed"):
        shutil.copytree(part, tmp_path / copy)

    # W = 2: resumed == uninterrupted, bit for bit
    _train(part, data, world=2, steps=N)
    _assert_equal(part, tmp_path / "full2")

    # W = 1: the 2-process checkpoint resumes into one process ...
    into1 = tmp_path / "into1"
    _train(into1, data, world=1, steps=N)
    state = load_latest(into1).state
    # 2 ranks used the epoch's first 2 x 8 x 4 = 64 examples: one process goes on at its batch 8
    assert state["step"] == N and state["world_size"] == 1 and state["data_position"] == 8 + 2 * (N - K)
    # ... and continues exactly as a 1-process run from there does with a resume on the way
    resumed = tmp_path / "into1-resumed"
    _train(resumed, data, world=1, steps=K + 1)
    _train(resumed, data, world=1, steps=N)
    _assert_equal(into1, resumed)


def test_data_position_carries_over_to_another_world_size():
    """The batches after a resume into W' ranks cover the rest of the epoch the W ranks were in:
    no example twice, fewer than one batch of W' skipped."""
    n, batch = 100, 4
    for world, world2 in [(2, 1), (1, 2), (2, 3), (3, 2), (4, 1)]:
        for position in range(0, 3 * (n // (batch * world))):
            old = [BatchStream(n, batch, seed=7, rank=r, world=world) for r in range(world)]
            used = []
            for _ in range(position):
                used += [int(i) for s in old for i in s.next()]
            per_epoch = n // (batch * world)
            used = used[len(used) - (position % per_epoch) * batch * world :]  # this epoch's
            new = [BatchStream(n, batch, seed=7, rank=r, world=world2) for r in range(world2)]
            for s in new:
                s.resume(position, world, batch)
            epoch = position // per_epoch
            assert all(s.position // s.per_epoch in (epoch, epoch + 1) for s in new)
            rest = []
            while new[0].position // new[0].per_epoch == epoch:
                rest += [int(i) for s in new for i in s.next()]
            assert not set(used) & set(rest), (world, world2, position)
            order = torch.randperm(n, generator=torch.Generator().manual_seed(7 * 1_000_003 + epoch)).tolist()
            full2 = new[0].per_epoch * batch * world2
            assert len(used) + len(rest) > full2 - batch * world2  # skipped under one batch of W'
            assert set(used) | set(rest) <= set(order[: max(full2, len(used))])
