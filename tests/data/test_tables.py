"""The table data layer: CSV reading, column types, missing markers, the seeded split and the column
transforms, each round trip back to the user's own columns, categories and dtypes."""

import numpy as np
import pandas as pd
import pytest

from ganforge.data.tables import (
    MinMaxEncoder,
    ModeEncoder,
    TableSchema,
    infer_schema,
    read_csv,
    split_rows,
    table_data,
)
from ganforge.errors import UserError
from ganforge.schema import DataConfig

MIXED = """age,income,city,code,flag
34,5120.5,Paris,007,True
?,1200.25,Lyon,012,False
51,,Paris,007,True
28,880.0,?,101,False
45,7300.75,Nice,012,NA
?,2500.0,Lyon,007,True
"""


@pytest.fixture
def mixed_csv(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED)
    return path


def test_types_and_missing_markers_are_recognised(mixed_csv):
    frame, marker = read_csv(mixed_csv)
    assert marker == "?"  # the marker the file uses most is the one written back
    schema = infer_schema(frame, "code:categorical", marker)
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds == {
        "age": "integer",
        "income": "continuous",
        "city": "categorical",
        "code": "categorical",
        "flag": "categorical",
    }
    assert schema.column("code").categories == ["007", "012", "101"]  # leading zeros kept: categories are texts
    assert schema.column("age").dtype == "Int64"  # an integer column with a missing cell
    cols = schema.parse(frame)
    assert np.isnan(cols["age"][[1, 5]]).all() and np.isnan(cols["income"][2])
    assert cols["city"][3] is None and cols["flag"][4] is None


def test_mixed_table_round_trips_through_the_transforms(mixed_csv, tmp_path):
    frame, marker = read_csv(mixed_csv)
    schema = infer_schema(frame, "code:categorical", marker)
    cols = schema.parse(frame)
    enc = MinMaxEncoder.fit(schema, cols)
    enc = MinMaxEncoder.from_state(enc.to_state())  # through the JSON kept in state.json
    x, m = enc.encode(cols)
    assert x.shape == (6, 5) and m.sum() == 30 - 5 and ((x >= 0) & (x <= 1)).all()
    back = enc.decode(x)
    for c in schema.columns:  # every observed cell comes back exactly
        observed = m[:, schema.names.index(c.name)].astype(bool)
        if c.kind == "categorical":
            assert list(back[c.name][observed]) == list(cols[c.name][observed])
        else:
            np.testing.assert_allclose(back[c.name][observed], cols[c.name][observed], rtol=1e-5)
    # the missing cells stay missing; the frame has the CSV's dtypes, and the CSV written reads as the source
    out = schema.to_frame(cols)
    assert str(out["age"].dtype) == "Int64" and str(out["income"].dtype) == "float64"
    assert out["city"].tolist()[3] is None and out["code"].tolist()[0] == "007"
    again = tmp_path / "again.csv"
    out.to_csv(again, index=False, na_rep=schema.na_marker)
    reread, marker_again = read_csv(again)
    pd.testing.assert_frame_equal(reread, frame)  # every cell's text as it was, missing cells missing
    assert marker_again == "?"


def test_a_dataframe_keeps_its_own_dtypes():
    df = pd.DataFrame(
        {
            "n": np.array([1, 2, 3, 4], dtype=np.int32),
            "x": [0.5, 1.5, 2.5, 3.5],
            "c": pd.Categorical(["a", "b", "a", "b"]),
            "b": [True, False, True, True],
        }
    )
    schema = infer_schema(df)
    assert [c.kind for c in schema.columns] == ["integer", "continuous", "categorical", "categorical"]
    out = schema.to_frame(schema.parse(df))
    assert out.dtypes.astype(str).tolist() == df.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(out, df)


def test_mode_encoder_round_trip_and_layout():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "v": np.concatenate([rng.normal(-5, 0.5, n // 2), rng.normal(5, 1, n // 2)]),
            "k": rng.integers(0, 50, n),
            "g": rng.choice(["x", "y", "z"], n, p=[0.7, 0.2, 0.1]),
        }
    )
    schema = infer_schema(df)
    cols = schema.parse(df)
    enc = ModeEncoder.fit(schema, cols, seed=0)
    enc = ModeEncoder.from_state(enc.to_state())
    x = enc.encode(cols, np.random.default_rng(0))
    assert x.shape == (n, enc.width) and enc.width == sum(w for _, w in enc.spans())
    assert len(enc.modes["v"]["means"]) >= 2  # the two modes of v are found
    back = enc.decode(x)
    np.testing.assert_allclose(back["v"], cols["v"], atol=1e-6)
    np.testing.assert_array_equal(back["k"], cols["k"])
    assert list(back["g"]) == list(cols["g"])
    (g,) = enc.discrete()
    assert g["name"] == "g" and g["size"] == 3 and g["cond_offset"] == 0
    np.testing.assert_allclose(g["freq"], [np.mean(cols["g"] == k) for k in "xyz"])


def test_the_split_is_seeded_and_disjoint():
    a_train, a_test = split_rows(100, 0.2, 7)
    b_train, b_test = split_rows(100, 0.2, 7)
    assert np.array_equal(a_train, b_train) and np.array_equal(a_test, b_test)
    assert len(a_test) == 20 and set(a_train).isdisjoint(a_test) and len(set(a_train) | set(a_test)) == 100
    assert not np.array_equal(a_test, split_rows(100, 0.2, 8)[1])


def test_table_data_fits_on_train_rows_and_records_its_transforms(mixed_csv):
    frame, marker = read_csv(mixed_csv)
    cfg = DataConfig(name="table", holdout=0.34, split_seed=0, types="code:categorical")
    data = table_data(frame, cfg, "minmax", marker)
    assert data.kind == "table" and data.x.shape == (4, 5) and data.extra["m"].shape == (4, 5)
    state = data.meta["table"]
    assert state["encoder"] == "minmax" and TableSchema.from_state(state["schema"]).na_marker == "?"


@pytest.mark.parametrize(
    "text, types, message",
    [
        ("", None, "empty"),
        ("a,b\n", None, "no rows"),
        ("a,b\n1,2\n3,4,5\n", None, "line 3 has 3 fields"),
        ("a,b\n1,2\n3\n", None, "line 3 has 1 fields"),
        ("a,b\n1,x\n3,4\n", "b:continuous", "'x', which is not a number"),
        ("a,b\n1,?\n3,NA\n", None, "'b' has no value at all"),
        ("a,a\n1,2\n", None, "more than once"),
        ("a,b\n1,2\n", "b:date", "choose continuous"),
    ],
)
def test_bad_tables_are_refused_in_one_line(tmp_path, text, types, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        frame, marker = read_csv(path)
        infer_schema(frame, types, marker)
