"""Every CLI error is one line: a user error exits 2 (`--verbose` adds the detail), a bug exits 1 and
says so with its traceback. The two misses of the reliability issue: a folder whose only image is
corrupt, and `sample` on a run whose every checkpoint is damaged (one of them a pickle, never run)."""

import os
import pickle
import shutil

import pytest

from ganforge.cli import main
from ganforge.training.checkpoint import list_checkpoints

from conftest import TINY, assert_user_error, run_cli


@pytest.fixture(scope="module")
def run4(tmp_path_factory):
    """A tiny run with four checkpoints (steps 1..4)."""
    run = tmp_path_factory.mktemp("cli") / "run"
    main(["train", "quickstart", *TINY, "train.steps=4", "train.ckpt_every=1", "train.keep_ckpts=4", "--out", str(run)])
    return run


def verbose_error(capsys, *args) -> list[str]:
    """stderr lines of `ganforge --verbose ARGS` run in this process, which must exit 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["--verbose", *args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err.splitlines()


def test_folder_whose_only_image_is_corrupt(tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_text("not an image, just text")
    args = ["train", "quickstart", "data.name=folder", f"data.root={tmp_path / 'imgs'}", "train.steps=1"]
    proc = run_cli(*args, "--out", str(tmp_path / "run"))
    assert_user_error(proc, "a.png: not a readable image", "remove or replace", "--verbose")
    lines = verbose_error(capsys, *args, "--out", str(tmp_path / "run"))
    assert lines[0].startswith("error: ") and "a.png: not a readable image" in lines[0]
    assert "Traceback (most recent call last):" in lines and "UnidentifiedImageError" in "\n".join(lines)


def test_sample_when_every_checkpoint_is_damaged(run4, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(run4, run)
    s1, s2, s3, s4 = list_checkpoints(run / "checkpoints")
    data = (s4 / "model.safetensors").read_bytes()
    (s4 / "model.safetensors").write_bytes(data[: len(data) // 2])  # truncated
    (s3 / "state.json").unlink()  # missing
    (s2 / "state.json").write_text('{"format": "ganforge-checkpoint", "step": ')  # broken

    class Boom:  # a pickle in place of the weights: unpickling it would create `pwned`
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    (s1 / "model.safetensors").write_bytes(pickle.dumps(Boom()))
    out = tmp_path / "s.png"
    proc = run_cli("sample", str(run), "--out", str(out))
    assert_user_error(proc, "no loadable checkpoint", "all 4 checkpoints", "are damaged", "backup", "--verbose")
    lines = verbose_error(capsys, "sample", str(run), "--out", str(out))
    assert lines[0] == proc.stderr.strip().replace("; run with 'ganforge --verbose ...' for details", "")
    for ckpt in (s1, s2, s3, s4):  # each checkpoint's own fault, one line each
        assert sum(str(ckpt) in line for line in lines[1:5]) == 1, lines
    assert not (tmp_path / "pwned").exists() and not out.exists()


def test_a_damaged_newest_checkpoint_is_one_warning_line(run4, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run4, run)
    newest = list_checkpoints(run / "checkpoints")[-1]
    (newest / "optim.safetensors").unlink()
    (newest / "model.safetensors").write_bytes(b"\x00" * 10)
    proc = run_cli("sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("warning: skipping damaged checkpoint(s) step_00000004; loaded step_00000003")


def test_an_internal_error_says_it_is_a_bug(monkeypatch, capsys):
    import ganforge.api

    def broken(*args, **kwargs):
        raise RuntimeError("deliberate failure inside ganforge")

    monkeypatch.setattr(ganforge.api, "load", broken)
    with pytest.raises(SystemExit) as exit_info:
        main(["info", "some-run"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: this is a bug in ganforge")
    assert "please report it" in err and "Traceback" in err
    assert "RuntimeError: deliberate failure inside ganforge" in err


def test_machine_faults_outside_training_are_user_errors(monkeypatch, capsys, tmp_path):
    """An OSError the machine is behind (here: no space, while writing the grid) is one line, exit 2."""
    import errno

    import ganforge.api

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s.png"))

    monkeypatch.setattr(ganforge.api, "load", full)
    with pytest.raises(SystemExit) as exit_info:
        main(["sample", "some-run", "--out", str(tmp_path / "s.png")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and err.startswith("error: cannot ") and "free disk space" in err
