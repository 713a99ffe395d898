"""SIGKILL at any moment: training resumes to the bit-identical end state, and a kill inside a
checkpoint write never leaves `latest` unloadable.

The children are forked from the test process (torch, Fabric and the data already in memory), so a
kill costs milliseconds, not a Python + torch start-up. A child reports what it is doing through a
shared anonymous mmap; the parent picks a seeded random moment, stops the child with SIGSTOP (so it
can read, exactly, where the child was), then SIGKILLs it.
"""

import random
import time
import warnings
from collections import Counter

import lightning_fabric  # noqa: F401  (imported once here, not in every forked child: 1-2 s each)
import pytest
import torch
from safetensors.torch import load_file

from ganforge.config import load_config
from ganforge.data import Data
from ganforge.training import checkpoint as ckpt_module
from ganforge.training import loop
from ganforge.training.checkpoint import list_checkpoints, load_latest, read_checkpoint, save_checkpoint

from conftest import TINY
from forked import PHASE, STAGE, STEP, Shared, fork, reap_children, stop_and_kill, wait_exit, wait_for

START, TRAIN, SAVE, OTHER = 1, 2, 3, 4
NAMES = {START: "start-up", TRAIN: "training step", SAVE: "checkpoint save", OTHER: "between"}
TRAIN_US, TRAIN_N, SAVE_US, SAVE_N = range(3, 7)  # more slots of the shared mapping


@pytest.fixture(autouse=True)
def _no_orphans():
    yield
    reap_children()


# --- training killed and resumed ----------------------------------------------------------------------
def train_child(cfg, run, data, shared: Shared) -> None:
    """Train `run` to cfg.train.steps, resuming when a checkpoint exists, reporting its phase."""

    def timed(phase, fn, us, n):
        def wrapper(*args, **kwargs):
            if phase == TRAIN:
                shared[STEP] = args[0].step
            shared[PHASE] = phase
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                shared[us] += int((time.perf_counter() - t) * 1e6)
                shared[n] += 1
                shared[PHASE] = OTHER

        return wrapper

    loop.Trainer.train_step = timed(TRAIN, loop.Trainer.train_step, TRAIN_US, TRAIN_N)
    loop.save_checkpoint = timed(SAVE, loop.save_checkpoint, SAVE_US, SAVE_N)
    shared[PHASE] = START
    resume = bool(list_checkpoints(run / "checkpoints"))
    loop.Trainer(cfg, run, resume=resume, overwrite=not resume, data=data).fit()


def _tensors(run):
    path = load_latest(run).path
    return load_file(str(path / "model.safetensors")), load_file(str(path / "optim.safetensors"))


def test_training_killed_20_times_ends_bit_identical(tmp_path):
    """20+ SIGKILLs at seeded random moments -- each aimed at a random step of the run, inside a
    training step or inside a checkpoint save, at a random offset into it -- each followed by a
    resume in a fresh process; the end state equals an uninterrupted run's, tensor for tensor."""
    steps = 36  # kills aim at steps 0-29; the last steps are a margin, so no child ends before its kill
    cfg = load_config(
        "quickstart",
        [*TINY, "train.d_steps=2", f"train.steps={steps}", "train.ckpt_every=1", "train.log_every=5"],
    )  # DCGAN: BatchNorm buffers, EMA, Adam; 2 D steps per G step
    data = Data(torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    shared = Shared()

    ref = tmp_path / "uninterrupted"
    assert wait_exit(fork(lambda: train_child(cfg, ref, data, shared))) == 0
    mean_s = {TRAIN: shared[TRAIN_US] / shared[TRAIN_N] / 1e6, SAVE: shared[SAVE_US] / shared[SAVE_N] / 1e6}

    run = tmp_path / "killed"
    rng = random.Random(20)
    plan = sorted(rng.randrange(30) for _ in range(20))  # the steps the kills aim at, over the run
    landed: Counter = Counter()
    kills = 0
    # at least 20 kills, and at least 5 of them inside training steps and 5 inside saves
    while kills < 20 or landed[TRAIN] < 5 or landed[SAVE] < 5:
        assert kills < 60, f"kills did not spread over training and saving: {landed}"
        target_step = plan[kills] if kills < len(plan) else rng.randrange(30)
        target = rng.choice((TRAIN, SAVE))
        shared.reset()
        shared[STEP] = -1
        pid = fork(lambda: train_child(cfg, run, data, shared))
        wait_for(pid, lambda: shared[STEP] >= target_step and shared[PHASE] == target)  # noqa: B023
        time.sleep(rng.uniform(0, mean_s[target]))
        where = stop_and_kill(pid, shared)
        assert where is not None, f"the run finished before kill {kills + 1} (aimed at step {target_step})"
        landed[where[0]] += 1
        kills += 1
    with warnings.catch_warnings():
        # no fallback past a damaged checkpoint was needed (taking over the killed run's lock is expected)
        warnings.filterwarnings("error", message=".*damaged checkpoint")
        assert wait_exit(fork(lambda: train_child(cfg, run, data, shared))) == 0
        w_ref, o_ref = _tensors(ref)
        w_run, o_run = _tensors(run)
    print(f"{kills} kills: " + ", ".join(f"{NAMES[k]} {v}" for k, v in sorted(landed.items())))

    assert w_ref.keys() == w_run.keys() and o_ref.keys() == o_run.keys() and len(o_ref) > 0
    for key in w_ref:
        assert torch.equal(w_ref[key], w_run[key]), key
    for key in o_ref:
        assert torch.equal(o_ref[key], o_run[key]), key
    a, b = load_latest(ref).state, load_latest(run).state
    assert a["step"] == b["step"] == steps
    assert a["data_position"] == b["data_position"] and a["rng"] == b["rng"]
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]  # nothing left over


# --- kills inside checkpoint writes -------------------------------------------------------------------
STAGES = [
    "clean-up of leftovers",
    "model.safetensors",
    "optim.safetensors",
    "state.json",
    "fsync of the new folder, rename",
    "fsync after the rename, write of latest",
    "fsync after latest",
    "deletion of old checkpoints",
]
STAGED = ["remove_leftovers", "_save_tensors", "_write_json", "_fsync_dir", "_delete"]


def _payload(step: int):
    """A 1 MB network and 1 MB of Adam state, every value = step, so a torn write shows."""
    weights = {"G": {"w": torch.full((262_144,), float(step))}}
    optim = {
        "G": {
            "state": {0: {"step": torch.tensor(float(step)), "exp_avg": torch.full((262_144,), float(step))}},
            "param_groups": [{"lr": 0.1, "params": [0]}],
        }
    }
    return weights, optim


def saver_child(folder, first_step: int, shared: Shared) -> None:
    """Save checkpoints first_step, first_step + 1, ... into `folder` until killed, reporting which
    stage of `save_checkpoint` is running."""

    def staged(fn):
        def wrapper(*args, **kwargs):
            shared[STAGE] += 1
            return fn(*args, **kwargs)

        return wrapper

    for name in STAGED:  # save_checkpoint looks these up in its module at every call
        setattr(ckpt_module, name, staged(getattr(ckpt_module, name)))
    for step in range(first_step, first_step + 1_000_000):
        weights, optim = _payload(step)
        shared[STAGE] = 0
        shared[PHASE] = SAVE
        ckpt_module.save_checkpoint(folder, step, weights, optim, {"config": {}}, keep=2)
        shared[PHASE] = OTHER


def test_100_kills_inside_checkpoint_writes_leave_latest_loadable(tmp_path):
    folder = tmp_path / "checkpoints"
    t = time.perf_counter()
    for step in range(3):
        save_checkpoint(folder, step, *_payload(step), {"config": {}}, keep=2)
    mean_save = (time.perf_counter() - t) / 3
    shared = Shared()
    rng = random.Random(100)
    stages: Counter = Counter()
    inside, attempts = 0, 0
    while inside < 100:
        attempts += 1
        assert attempts < 300, f"only {inside} of {attempts} kills landed inside a save"
        first = load_latest(folder, with_optim=False).step + 1
        shared.reset()
        pid = fork(lambda: saver_child(folder, first, shared))  # noqa: B023
        wait_for(pid, lambda: shared[PHASE] == SAVE)
        time.sleep(rng.uniform(0, 1.5 * mean_save))
        where = stop_and_kill(pid, shared)
        assert where is not None
        if where[0] == SAVE:
            inside += 1
            stages[STAGES[min(where[1], len(STAGES) - 1)]] += 1
        # `latest` names a complete checkpoint, whole and consistent; loading needs no fallback
        latest = (folder / "latest").read_text().strip()
        ckpt = read_checkpoint(folder / latest)
        assert torch.equal(ckpt.weights["G"]["w"], torch.full((262_144,), float(ckpt.step)))
        assert torch.equal(ckpt.optimizers["G"]["state"][0]["exp_avg"], ckpt.weights["G"]["w"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert load_latest(folder).step == ckpt.step
    print(f"{inside} kills inside saves ({attempts} tried): {dict(stages)}")
    assert len(stages) >= 4, stages  # spread over the stages of a save, not one spot
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    save_checkpoint(folder, 10_000_000, *_payload(0), {"config": {}}, keep=2)  # the next save cleans up
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")], leftovers
    assert [p.name for p in list_checkpoints(folder)][-1] == "step_10000000"


def test_leftovers_of_dead_writers_only_are_removed(tmp_path):
    dead = fork(lambda: None)
    assert wait_exit(dead) == 0
    host = ckpt_module._owner().split("@")[1]
    names = {
        f".tmp-step_00000001-pid{dead}@{host}-abc_12": True,  # its writer has exited
        f".latest-pid{dead}@{host}": True,
        ".del-step_00000002-pid1@x": True,  # a deletion that did not finish
        f".tmp-step_00000003-{ckpt_module._owner()}-x": False,  # this process: a save in progress
        f".tmp-step_00000004-pid{dead}@another_host-x": False,  # another machine's: cannot tell
        ".tmp-step_00000005-abc": False,  # written before temporary names carried their writer
        "step_00000006": False,
    }
    for name in names:
        if name.startswith(".latest-"):
            (tmp_path / name).write_text("step_00000001\n")
        else:
            (tmp_path / name).mkdir()
    assert sorted(ckpt_module.remove_leftovers(tmp_path)) == sorted(n for n, gone in names.items() if gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, gone in names.items() if not gone)
