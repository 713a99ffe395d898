"""GAIN (Yoon et al. 2018): the hint and mask arithmetic on a hand case, a training step, `impute`
never altering observed cells, and bad tables refused in one line with exit code 2, files untouched."""

import numpy as np
import pandas as pd
import pytest
import torch

from ganforge.api import load
from ganforge.errors import UserError
from ganforge.objectives.imputation import d_loss, fill, g_adv_loss, gain_input, hint, reconstruction
from ganforge.training.tables import train_table

from conftest import QUIET, assert_user_error, run_cli
from tests_helpers import cli_here

FAST = [*QUIET, "train.steps=30", "train.batch_size=16", "train.ckpt_every=0"]


def test_hint_and_mask_arithmetic_on_a_hand_case():
    x = torch.tensor([[0.2, 0.0, 0.6], [0.0, 0.5, 1.0]])  # 0 where missing
    m = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    z = torch.full_like(x, 0.01)
    assert torch.equal(gain_input(x, m, z), torch.tensor([[0.2, 0.01, 0.6], [0.01, 0.5, 1.0]]))
    g = torch.full_like(x, 0.3)
    assert torch.equal(fill(x, m, g), torch.tensor([[0.2, 0.3, 0.6], [0.3, 0.5, 1.0]]))
    b = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    assert torch.equal(hint(m, b, "code"), torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))  # b m
    assert torch.equal(hint(m, b, "paper"), torch.tensor([[1.0, 0.0, 0.5], [0.0, 0.5, 1.0]]))  # b m + (1 - b) / 2
    # losses: D's cross-entropy over every cell; G's only over missing cells; MSE only over observed ones
    logits = torch.zeros_like(x)  # D says 0.5 everywhere
    torch.testing.assert_close(d_loss(logits, m), torch.tensor(np.log(2.0), dtype=torch.float32))
    torch.testing.assert_close(g_adv_loss(logits, m), torch.tensor(2 / 6 * np.log(2.0), dtype=torch.float32))
    g2 = x + 0.1 * m  # off by 0.1 on each of the 4 observed cells, anything on the missing ones
    torch.testing.assert_close(reconstruction(x, m, g2 + 5 * (1 - m)), torch.tensor(0.01))


def _table(n=64, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    df = pd.DataFrame(
        {
            "a": a.round(3),
            "b": (2 * a + rng.normal(scale=0.1, size=n)).round(3),
            "k": rng.integers(0, 9, n),
            "c": np.where(a > 0, "hi", "lo"),
        }
    )
    holes = rng.random(df.shape) < 0.2
    holes[0] = False  # one complete row
    return df.astype(object).mask(holes)


@pytest.fixture(scope="module")
def gain_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gain")
    df = _table()
    src = tmp / "table.csv"
    df.to_csv(src, index=False, na_rep="?")
    proc = run_cli("train", "gain", f"data.path={src}", *FAST, "--out", str(tmp / "run"))
    assert proc.returncode == 0, proc.stderr
    return tmp, src


def test_one_training_step_and_impute_never_alters_observed_cells(gain_run, tmp_path):
    tmp, src = gain_run
    before = src.read_bytes()
    out = tmp_path / "filled.csv"
    proc = run_cli("impute", str(tmp / "run"), str(src), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert src.read_bytes() == before
    raw = pd.read_csv(src, dtype=str, keep_default_na=False)
    filled = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(filled.columns) == list(raw.columns)
    observed = raw != "?"
    assert (filled[observed] == raw[observed]).sum().sum() == observed.sum().sum()  # observed text unchanged
    assert not (filled == "?").any().any() and not (filled == "").any().any()
    assert set(filled["c"]) <= {"hi", "lo"} and filled["k"].str.fullmatch(r"-?\d+").all()  # categories, integers
    # the Python API on a DataFrame gives the same filled cells
    model = load(tmp / "run")
    df = pd.read_csv(src, na_values=["?"], keep_default_na=False)
    api = model.impute(df)
    assert api["k"].dtype == "Int64" and api.notna().all().all()
    assert (api["a"][df["a"].notna()] == df["a"][df["a"].notna()]).all()


def test_train_table_takes_a_dataframe(tmp_path):
    torch.manual_seed(0)
    df = _table(48).infer_objects()
    model = train_table(df, "gain", tmp_path / "run", [*FAST, "train.steps=3"])
    assert model.family.tabular == "impute" and model.kind == "table"
    out = model.impute(df)
    assert out.notna().all().all() and list(out.columns) == list(df.columns)


@pytest.mark.parametrize(
    "name, text, extra, fragment",
    [
        ("ragged", "a,b\n1,2\n3,4,5\n", [], "line 3 has 3 fields"),
        ("text", "a,b\n1,x\n3,4\n", ["data.types=b:continuous"], "not a number"),
        ("all-missing", "a,b\n1,?\n3,?\n", [], "no value at all"),
        ("empty", "", [], "empty"),
    ],
)
def test_bad_tables_exit_2_in_one_line_and_stay_untouched(tmp_path, capsys, name, text, extra, fragment):
    src = tmp_path / f"{name}.csv"
    src.write_text(text)
    args = ["train", "gain", f"data.path={src}", *FAST, *extra, "--out", str(tmp_path / "run")]
    proc = run_cli(*args) if name == "ragged" else cli_here(capsys, *args)  # one in a fresh process
    assert_user_error(proc, fragment)
    assert src.read_text() == text and not (tmp_path / "run").exists()


def test_impute_refuses_to_overwrite_its_input_and_a_foreign_table(gain_run, tmp_path):
    tmp, src = gain_run
    before = src.read_bytes()
    assert_user_error(run_cli("impute", str(tmp / "run"), str(src), "--out", str(src), "--overwrite"), "input table")
    assert src.read_bytes() == before
    with pytest.raises(UserError, match="unexpected 'z'"):  # columns the model never saw
        load(tmp / "run").impute(pd.DataFrame({"a": [1.0], "b": [2.0], "k": [3], "c": ["hi"], "z": [0]}))
