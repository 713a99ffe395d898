import json

import pytest

from ganforge.config import PRESETS, Config, load_config, parse_overrides
from ganforge.errors import UserError

from conftest import assert_user_error, run_cli


def test_defaults_preset_and_overrides_compose(tmp_path):
    cfg = load_config("quickstart", ["train.steps=7", "model.g_width=16", "train.ema=none", "g_optim.lr=1e-3"])
    assert cfg.train.steps == 7 and cfg.model.g_width == 16 and cfg.train.ema is None
    assert cfg.g_optim.lr == pytest.approx(1e-3)
    assert cfg.data.split == "test"  # from the preset
    assert cfg.model.family == "dcgan"


def test_yaml_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  family: mlp\n  hidden: 64\ntrain:\n  steps: 3\n")
    cfg = load_config(str(f), ["train.steps=4"])
    assert (cfg.model.family, cfg.model.hidden, cfg.train.steps) == ("mlp", 64, 4)


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("train.stpes=3", "did you mean 'train.steps'"),
        ("trian.steps=3", "did you mean 'train'"),
        ("train.steps=abc", "expected an integer"),
        ("train.ema=high", "expected a number"),
        ("train.progress=maybe", "expected true or false"),
        ("train.precision=64", "choose auto, 32, bf16 or 16"),
        ("steps", "not key=value"),
    ],
)
def test_bad_overrides_are_user_errors(override, fragment):
    with pytest.raises(UserError, match=None) as e:
        load_config("quickstart", [override])
    assert fragment in str(e.value)


def test_unknown_preset_names_nearest():
    with pytest.raises(UserError) as e:
        load_config("quickstrat")
    assert "did you mean 'quickstart'" in str(e.value)


def test_every_preset_resolves():
    for name in PRESETS:
        assert isinstance(load_config(name), Config)


def test_parse_overrides_nesting():
    assert parse_overrides(["a.b=1", "a.c=x=y"]) == {"a": {"b": "1", "c": "x=y"}}


def test_cli_dry_run_prints_resolved_config(tmp_path):
    proc = run_cli("train", "quickstart", "train.steps=9", "--dry-run", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["train"]["steps"] == 9
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_cli_config_errors_exit_2(tmp_path):
    assert_user_error(
        run_cli("train", "quickstart", "train.stpes=1", "--out", str(tmp_path / "r")), "train.stpes", "train.steps"
    )
    assert_user_error(run_cli("train", "quickstart", "train.steps=abc", "--out", str(tmp_path / "r")), "train.steps")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    assert_user_error(run_cli("train", str(bad), "--out", str(tmp_path / "r")), "not valid YAML")
    assert_user_error(run_cli("train", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "r")), "not found")
    assert not (tmp_path / "r").exists()
