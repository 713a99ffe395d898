"""The CLI end to end on tiny runs: train, sample (.png/.npz), info, plot, presets; the run
directory and output files are never overwritten without being asked; the conditional commands
(sample --class / --per-class, interpolate, synth)."""

import json

import numpy as np
import pytest
from PIL import Image

from ganforge import load
from ganforge.config import load_config
from ganforge.training.loop import train

from conftest import TINY, assert_user_error, run_cli


def test_train_sample_info_plot(tmp_path):
    run = tmp_path / "run"
    proc = run_cli("train", "quickstart", *TINY, "train.steps=3", "train.sample_every=2", "--out", str(run))
    assert proc.returncode == 0, proc.stderr
    assert "sample grid:" in proc.stdout
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 3
    records = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["kind"] == "setup" and records[0]["precision"] == "32"  # what the run resolved
    records = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(np.isfinite(r["loss_D"]) and np.isfinite(r["loss_G"]) and r["img_per_s"] > 0 for r in records)
    assert (run / "samples" / "step_00000002.png").exists() and (run / "samples" / "step_00000003.png").exists()

    # sample from the checkpoint folder alone: no config.json beside it
    ckpt = next((run / "checkpoints").glob("step_*"))
    lone = tmp_path / "lone"
    ckpt.rename(lone)
    proc = run_cli("sample", str(lone), "--n", "16", "--seed", "0", "--out", str(tmp_path / "g.png"))
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "g.png").size[0] > 28 * 4
    proc = run_cli("sample", str(lone), "--n", "10", "--out", str(tmp_path / "a.npz"))
    assert proc.returncode == 0, proc.stderr
    arr = np.load(tmp_path / "a.npz")["images"]
    assert arr.shape == (10, 28, 28, 1) and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr[:, :, :, 0] >= 0, True)
    # the API gives the same samples as the CLI for the same seed
    x = load(lone).sample(10, seed=0)
    np.testing.assert_array_equal(((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy(), arr)

    proc = run_cli("info", str(lone))
    assert proc.returncode == 0 and "step:        3 / 3" in proc.stdout
    proc = run_cli("plot", str(run))
    assert proc.returncode == 0, proc.stderr
    assert (run / "losses.png").exists()
    proc = run_cli("presets", "--data")
    assert "quickstart" in proc.stdout and "dcgan" in proc.stdout and "grid25" in proc.stdout


def test_nothing_is_overwritten_unless_asked(tmp_path):
    run = tmp_path / "run"
    assert run_cli("train", "quickstart", *TINY, "train.steps=1", "--out", str(run)).returncode == 0
    marker = (run / "config.json").read_text()
    assert_user_error(run_cli("train", "quickstart", *TINY, "train.steps=2", "--out", str(run)), "already exists")
    assert (run / "config.json").read_text() == marker
    proc = run_cli("train", "quickstart", *TINY, "train.steps=2", "--out", str(run), "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 2
    # --overwrite never deletes a folder that is not a run
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    assert_user_error(run_cli("train", "quickstart", *TINY, "--out", str(mine), "--overwrite"), "not a ganforge run")
    assert (mine / "thesis.txt").read_text() == "precious"
    # sample outputs too
    out = tmp_path / "grid.png"
    out.write_bytes(b"user file")
    assert_user_error(run_cli("sample", str(run), "--out", str(out)), "already exists")
    assert out.read_bytes() == b"user file"
    assert_user_error(run_cli("sample", str(run), "--out", str(tmp_path / "x.jpg")), ".png or .npz")


def test_unknown_option_and_command_exit_2(tmp_path):
    assert_user_error(run_cli("train", "--frobnicate"), "No such option")
    assert_user_error(run_cli("trian"), "No such command")
    assert_user_error(run_cli("sample", str(tmp_path), "--n", "many"), "many")


def test_help_lists_every_command_without_importing_torch():
    import subprocess
    import sys

    code = (
        "import sys\nfrom ganforge.cli import cli\n"
        "try:\n    cli.main(['--help'], prog_name='ganforge')\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-TORCH")
    for name in ("train", "sample", "eval", "info", "plot", "presets", "translate", "project"):
        assert f"\n  {name} " in out


def test_lazy_command_help_matches_the_command():
    from ganforge.cli import LazyGroup, cli

    for name, (_, _, short) in LazyGroup.lazy.items():
        cmd = cli.get_command(None, name)
        assert cmd is not None and cmd.help.split("\n")[0].strip() == short


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step conditional DCGAN on 28 x 28 MNIST test digits with ADA (starting at p = 0.5)."""
    run = tmp_path_factory.mktemp("cond") / "run"
    train(
        load_config(
            "quickstart",
            [
                *TINY,
                "model.family=cdcgan",
                "train.steps=2",
                "train.augment=ada",
                "train.augment_p=0.5",
                "train.ada_interval=1",
                "train.ada_kimg=0.1",
            ],
        ),
        run,
    )
    return run


def test_cli_sample_interpolate_synth(tiny_run, tmp_path, capsys):
    from ganforge.cli import main

    main(["sample", str(tiny_run), "--class", "3", "--truncation", "0.5", "--n", "4", "--out", str(tmp_path / "s.npz")])
    with np.load(tmp_path / "s.npz") as d:
        assert d["labels"].tolist() == [3, 3, 3, 3]
    main(["sample", str(tiny_run), "--per-class", "--n", "2", "--out", str(tmp_path / "grid.png")])
    main(["interpolate", str(tiny_run), "--rows", "2", "--steps", "4", "--out", str(tmp_path / "i.png")])
    main(["synth", str(tiny_run), "--per-class", "2", "--out", str(tmp_path / "d.npz")])
    out = capsys.readouterr().out
    assert "4 samples" in out and "20 samples" in out and "2 strips of 4" in out and "20 images" in out
    from PIL import Image

    assert Image.open(tmp_path / "grid.png").size[1] > 9 * 28  # ten rows, one per class
    # bad input: one line, exit 2 (one case in a fresh process, the rest in-process for speed)
    assert_user_error(
        run_cli("sample", str(tiny_run), "--class", "10", "--out", str(tmp_path / "x.png")), "class 10 is out of range"
    )
    uncond = tmp_path / "uncond"
    train(load_config("quickstart", [*TINY, "train.steps=1"]), uncond)
    for args, fragment in [
        (["sample", str(uncond), "--class", "3", "--out", str(tmp_path / "u.png")], "unconditional"),
        (["synth", str(uncond), "--per-class", "2", "--out", str(tmp_path / "u.npz")], "class-conditional"),
        (["synth", str(tiny_run), "--per-class", "2", "--out", str(tmp_path / "d.npz")], "already exists"),
        (["sample", str(tiny_run), "--class", "seven", "--out", str(tmp_path / "y.png")], "unknown class"),
        (["interpolate", str(tiny_run), "--class", "-1", "--out", str(tmp_path / "z.png")], "out of range"),
        (["sample", str(tiny_run), "--truncation", "0", "--out", str(tmp_path / "t.png")], "truncation"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], (args, err)


def test_cli_eval_takes_one_checkpoint_folder_and_records_in_its_run(tiny_run, capsys):
    from tests_helpers import cli_here

    ckpt = sorted((tiny_run / "checkpoints").glob("step_*"))[-1]
    before = (tiny_run / "metrics.jsonl").read_text().count("\n")
    proc = cli_here(capsys, "eval", str(ckpt), "--metrics", "fid", "--n", "20", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fid" in proc.stdout and not (ckpt / "metrics.jsonl").exists()
    assert (tiny_run / "metrics.jsonl").read_text().count("\n") == before + 1  # recorded in the run it belongs to
