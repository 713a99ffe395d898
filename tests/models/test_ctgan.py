"""CTGAN (Xu et al. 2019): the conditional vector and training-by-sampling, a training step, `synth`
reproducing the columns and dtypes of its training table, and `--where` conditions."""

import numpy as np
import pandas as pd
import pytest
import torch

import ganforge
from ganforge.data.tables import ModeEncoder, infer_schema
from ganforge.errors import UserError
from ganforge.inference.tables import _encoder
from ganforge.objectives.tabular import CondSampler, cond_loss
from ganforge.training.tables import train_table

from conftest import QUIET, assert_user_error, run_cli
from tests_helpers import cli_here

FAST = [*QUIET, "train.steps=4", "train.batch_size=20", "model.pack=10", "model.hidden=32", "train.ckpt_every=0"]


def _table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["Female", "Male"], n, p=[0.3, 0.7])
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": np.where(sex == "Male", rng.normal(42, 5, n), rng.normal(35, 5, n)).round(2),
            "sex": sex,
            "job": rng.choice(["a", "b", "c", "d"], n, p=[0.55, 0.3, 0.1, 0.05]),
        }
    )


def test_conditional_vector_and_training_by_sampling():
    df = _table()
    schema = infer_schema(df)
    enc = ModeEncoder.fit(schema, schema.parse(df))
    x = torch.from_numpy(enc.encode(schema.parse(df), np.random.default_rng(0)))
    sampler = CondSampler(enc.discrete(), x)
    gen = torch.Generator().manual_seed(0)
    cond, col, cat = sampler.sample(4000, gen)
    assert cond.shape == (4000, 2 + 4) and torch.equal(cond.sum(1), torch.ones(4000))  # one category per row
    sex, job = enc.discrete()
    for j, c in enumerate((sex, job)):  # the one-hot sits at the column's place in the conditional vector
        rows = col == j
        assert torch.equal(cond[rows, c["cond_offset"] + cat[rows]], torch.ones(int(rows.sum())))
    # log frequencies: job's rarest category ('d', 5%) is drawn far more often than 5% of job's draws
    share_d = float((cat[col == 1] == 3).float().mean())
    assert share_d > 0.15
    # every real row drawn for (column, category) holds that category
    rows = sampler.real_rows(col, cat, gen)
    for j, c in enumerate((sex, job)):
        pick = col == j
        assert torch.equal(x[rows[pick], c["offset"] : c["offset"] + c["size"]].argmax(1), cat[pick])
    # the conditioning loss: G's logits that name the category give a loss near 0
    logits = torch.full((len(col), enc.width), -20.0)
    for j, c in enumerate((sex, job)):
        pick = (col == j).nonzero().squeeze(1)
        logits[pick, c["offset"] + cat[pick]] = 20.0
    assert float(cond_loss(logits, enc.discrete(), col, cat)) < 1e-6


@pytest.fixture(scope="module")
def ctgan_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ctgan")
    src = tmp / "people.csv"
    _table().to_csv(src, index=False)
    torch.manual_seed(0)
    train_table(src, "ctgan", tmp / "run", [f"data.path={src}", *FAST])  # from the CSV, as `ganforge train ctgan`
    return tmp, src


def test_synth_reproduces_the_columns_and_dtypes_of_its_table(ctgan_run, tmp_path):
    tmp, src = ctgan_run
    out = tmp_path / "synthetic.csv"
    proc = run_cli("synth", str(tmp / "run"), "--n", "50", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    real, fake = pd.read_csv(src), pd.read_csv(out)
    assert list(fake.columns) == list(real.columns) and len(fake) == 50
    assert fake.dtypes.astype(str).tolist() == real.dtypes.astype(str).tolist()  # int64, float64, str/object
    assert set(fake["sex"]) <= set(real["sex"]) and set(fake["job"]) <= set(real["job"])
    assert fake["age"].between(real["age"].min(), real["age"].max()).all()


def test_log_frequency_conditions_draw_rare_categories_more_often(ctgan_run, tmp_path):
    tmp, _ = ctgan_run
    model = ganforge.load(tmp / "run")
    sampler = CondSampler(_encoder(model, "synthesize").discrete())
    gen = torch.Generator().manual_seed(0)
    data, log = (sampler.sample(20000, gen, log=flag)[0].mean(0) for flag in (False, True))
    rare = data.argmin()  # the rarest category of all: drawn more often by log-frequency
    assert log[rare] > data[rare]
    a, b = model.sample_table(200, seed=3), model.sample_table(200, seed=3, conditions="log")
    assert list(a.columns) == list(b.columns) and not a.equals(b)  # G is given other conditional vectors
    with pytest.raises(UserError, match="--conditions 'odd'"):
        model.sample_table(5, conditions="odd")
    out = tmp_path / "log.csv"
    proc = run_cli("synth", str(tmp / "run"), "--n", "20", "--conditions", "log", "--out", str(out))
    assert proc.returncode == 0 and len(pd.read_csv(out)) == 20, proc.stderr


def test_synth_refuses_unknown_where_columns_and_values(ctgan_run, tmp_path, capsys):
    tmp, _ = ctgan_run
    out = tmp_path / "s.csv"
    assert_user_error(run_cli("synth", str(tmp / "run"), "--where", "color=red", "--out", str(out)), "unknown column")
    assert_user_error(cli_here(capsys, "synth", str(tmp / "run"), "--where", "sex=Other", "--out", str(out)), "'Other'")
    assert_user_error(cli_here(capsys, "synth", str(tmp / "run"), "--where", "age=30", "--out", str(out)), "integer")
    assert not out.exists()


def test_one_training_step_from_a_dataframe_and_sample_table(tmp_path):
    torch.manual_seed(0)
    df = _table(60)
    df["age"] = df["age"].astype(np.int32)
    df["job"] = df["job"].astype("category")
    model = train_table(df, "ctgan", tmp_path / "run", [*FAST, "train.steps=1"])
    assert model.family.tabular == "synthesize" and model.step == 1
    rows = model.sample_table(30, seed=1)
    assert rows.dtypes.astype(str).tolist() == df.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(rows, model.sample_table(30, seed=1))  # reproducible from the seed
    assert set(model.sample_table(10, seed=2, where={"job": "d"})["job"]) == {"d"}
