"""One `ganforge train` per run directory: a second one, while a live process holds the lock, stops
with one line and exit 2 and touches nothing; a lock file left by a dead process is taken over."""

import os
import shutil
import subprocess

import pytest

from ganforge.cli import main
from ganforge.training.checkpoint import load_latest
from ganforge.training.lock import LOCK_NAME, RunLock, lock_holder
from ganforge.training.loop import Trainer

from conftest import TINY, assert_user_error, run_cli


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    run = tmp_path_factory.mktemp("lock") / "run"
    main(["train", "quickstart", *TINY, "train.steps=2", "--out", str(run)])
    return run


def test_a_second_train_on_a_locked_run_is_refused(run2, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run2, run)
    before = sorted(p.name for p in run.rglob("*"))
    with RunLock(run):  # this test process is the live holder
        assert f"pid {os.getpid()}" in lock_holder(run)
        proc = run_cli("train", "--resume", "train.steps=4", "--out", str(run))
        assert_user_error(proc, f"{run} is in use by another ganforge train", f"pid {os.getpid()}")
        with pytest.raises(SystemExit) as exit_info:  # --overwrite must not delete a run in progress either
            main(["train", "quickstart", *TINY, "--overwrite", "--out", str(run)])
        assert exit_info.value.code == 2
    assert lock_holder(run) is None and not (run / LOCK_NAME).exists()
    assert sorted(p.name for p in run.rglob("*")) == before and load_latest(run).step == 2


def test_a_stale_lock_of_a_dead_process_is_taken_over(run2, tmp_path, monkeypatch):
    run = tmp_path / "run"
    shutil.copytree(run2, run)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (run / LOCK_NAME).write_text(f"pid {dead.pid} on host here since yesterday\n")
    held = []
    save = Trainer.save
    monkeypatch.setattr(Trainer, "save", lambda self, **kw: held.append(lock_holder(run)) or save(self, **kw))
    with pytest.warns(UserWarning, match=f"taking over a stale lock \\(pid {dead.pid} "):
        main(["train", "--resume", "train.steps=3", "--out", str(run)])
    assert load_latest(run).step == 3
    assert held and f"pid {os.getpid()} " in held[0]  # held by this run while it trained
    assert not (run / LOCK_NAME).exists()  # and removed when it finished
