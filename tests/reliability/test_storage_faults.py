"""Storage faults during a save: a full disk (a real file-size limit, and a writer that fails
mid-file with ENOSPC) or a run directory gone read-only leave the previous checkpoint and `latest`
intact, no temporary files, and stop the run with one line and exit 2."""

import errno
import os
import resource
import shutil
import subprocess
import sys
import tempfile

import pytest

from ganforge.cli import main
from ganforge.training import checkpoint
from ganforge.training.checkpoint import list_checkpoints, load_latest

from conftest import TINY, assert_user_error


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """A tiny run trained for 2 steps, checkpoints at steps 1 and 2."""
    run = tmp_path_factory.mktemp("storage") / "run"
    main(["train", "quickstart", *TINY, "train.steps=2", "train.ckpt_every=1", "--out", str(run)])
    return run


def snapshot(run):
    """What must survive a failed save: checkpoint names, `latest`, and every byte of the newest."""
    folder = run / "checkpoints"
    newest = load_latest(run).path
    return (
        sorted(p.name for p in folder.iterdir()),
        (folder / "latest").read_text(),
        {f.name: f.read_bytes() for f in newest.iterdir()},
    )


def assert_intact(run, before):
    assert snapshot(run) == before  # no new or temporary entries, `latest` and the newest checkpoint unchanged
    assert load_latest(run).step == 2
    assert not (run / ".lock").exists()  # the lock went with the run that stopped


def test_disk_full_with_a_real_file_size_limit(run2, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run2, run)
    before = snapshot(run)
    limit = 64 * 1024  # metrics.jsonl fits; the 130 kB model.safetensors of the next save does not

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "ganforge.cli", "train", "--resume", "train.steps=4", "--out", str(run)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=small_files,
    )
    assert_user_error(proc, "cannot write to", "File too large", "step_00000002, is intact", "--resume")
    assert_intact(run, before)


def half_then_enospc(tensors, path):
    """A safetensors writer on a disk that fills up half way through the file."""
    from safetensors.torch import save

    data = save(tensors)
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def read_only(*args, **kwargs):
    """mkdtemp in a folder remounted read-only (as ext4 does on errors=remount-ro); as root a chmod
    would not stop the write, so the fault is injected."""
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))


@pytest.mark.parametrize(
    "target, attr, fault, words",
    [
        (checkpoint, "save_file", half_then_enospc, ["No space left on device", "free disk space"]),
        (tempfile, "mkdtemp", read_only, ["Read-only file system", "choose a writable place"]),
    ],
    ids=["enospc-mid-file", "read-only"],
)
def test_save_fails_part_way(run2, tmp_path, monkeypatch, capsys, target, attr, fault, words):
    run = tmp_path / "run"
    shutil.copytree(run2, run)
    before = snapshot(run)
    monkeypatch.setattr(target, attr, fault)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--resume", "train.steps=4", "--out", str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("error: cannot write to")
    for w in [*words, "step_00000002, is intact", f"ganforge train --resume --out {run}"]:
        assert w in err, (w, err)
    monkeypatch.undo()
    assert_intact(run, before)
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step_00000001", "step_00000002"]
