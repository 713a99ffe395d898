"""Tables: CSV files (or pandas DataFrames) in, the user's own columns, categories and dtypes out.

    read_csv(path, missing)          every cell as text, missing markers -> None; ragged or empty files refused
    infer_schema(frame, types)       column kinds (continuous | integer | categorical), overridable, and dtypes
    schema.parse(frame)              -> typed columns: float64 arrays (NaN where missing) or category texts
    schema.to_frame(columns)         <- the same, back to a DataFrame with the recorded dtypes
    MinMaxEncoder                    one value per column in [0, 1] and a mask (GAIN, Yoon et al. 2018)
    ModeEncoder                      mode-specific normalisation + one-hot categories (CTGAN, Xu et al. 2019)
    split_rows(n, holdout, seed)     the seeded train / test split
    write_csv(frame, path)           atomic; never onto the table it was read from

Every transform is fitted on the training rows and saved as JSON (`to_state` / `from_state`) in the
checkpoint's state.json (`Data.meta["table"]`), so `impute` and `synth` map back through exactly the
transforms training used. Registered data sets: `table` (MinMaxEncoder) and `table-modes` (ModeEncoder).
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ganforge.data.base import Data
from ganforge.data.datasets import DATASETS
from ganforge.errors import UserError
from ganforge.io import atomic_write
from ganforge.schema import DataConfig

DEFAULT_MISSING = ("", "NA", "N/A", "NaN", "nan", "?", "null", "NULL", "None")
KINDS = ("continuous", "integer", "categorical")


# --- reading ------------------------------------------------------------------------------------------
def read_csv(path: str | Path, missing: tuple[str, ...] | list[str] | None = None) -> tuple[pd.DataFrame, str]:
    """A CSV file as a DataFrame of text cells (None where a cell is a missing marker) and the marker
    the file uses most ('' when it has none), to write missing cells back the same way. A file that
    is empty, has no rows, has duplicate column names or rows of another length than the header is
    refused with a UserError naming the line."""
    path = Path(path)
    markers = set(DEFAULT_MISSING if missing is None else missing)
    if not path.is_file():
        raise UserError(f"{path}: no such file; give a CSV table")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save the table as UTF-8 CSV") from None
    except csv.Error as e:
        raise UserError(f"{path}: not a readable CSV file ({e})") from None
    rows = [r for r in rows if r]  # blank lines carry nothing
    if not rows:
        raise UserError(f"{path}: the file is empty; give a CSV table with a header row")
    header, body = rows[0], rows[1:]
    if not body:
        raise UserError(f"{path}: a header but no rows; give a table with at least one row")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise UserError(f"{path}: column name(s) {', '.join(map(repr, dup))} appear more than once in the header")
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise UserError(
                f"{path}: line {i + 2} has {len(row)} fields, the header has {len(header)} (a ragged CSV); "
                "fix that line or quote a field that holds a comma"
            )
    counts: dict[str, int] = {}
    cells = []
    for row in body:
        out = []
        for v in row:
            if v in markers or v.strip() in markers:
                counts[v] = counts.get(v, 0) + 1
                out.append(None)
            else:
                out.append(v)
        cells.append(out)
    frame = pd.DataFrame(cells, columns=header, dtype=object)
    marker = max(counts, key=counts.get) if counts else ""
    return frame, marker


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _parse_overrides(types: str | dict | None) -> dict[str, str]:
    """'age:integer,sex:categorical' (or a dict) -> {column: kind}, kinds checked."""
    if not types:
        return {}
    if isinstance(types, str):
        out = {}
        for item in types.split(","):
            name, sep, kind = item.strip().rpartition(":")
            if not sep or not name:
                raise UserError(f"data.types: '{item}' is not name:kind, for example age:integer")
            out[name] = kind.strip()
        types = out
    for name, kind in types.items():
        if kind not in KINDS:
            raise UserError(f"column type '{kind}' for {name!r}: choose {', '.join(KINDS)}")
    return dict(types)


def _numbers(values: pd.Series, name: str, kind: str) -> np.ndarray:
    """A column's cells (text or numbers, None where missing) -> float64 with NaN where missing; text
    that is not a number is a UserError naming the row."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.tolist()):
        if _is_missing(v):
            continue
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise UserError(
                f"column {name!r} is {kind} but row {i + 1} holds {v!r}, which is not a number; fix the cell, "
                f"add its text to the missing markers, or make the column categorical (data.types={name}:categorical)"
            ) from None
        if not math.isfinite(out[i]):
            raise UserError(f"column {name!r}, row {i + 1}: {v!r} is not a finite number")
    return out


# --- the schema ---------------------------------------------------------------------------------------
@dataclass
class Column:
    name: str
    kind: str  # continuous | integer | categorical
    dtype: str  # the pandas dtype the user's table had (or that its CSV text reads as): int64, float64, object ...
    categories: list[str] = field(default_factory=list)  # categorical: every category, sorted; texts as written


@dataclass
class TableSchema:
    columns: list[Column]
    na_marker: str = ""  # written for a cell left missing in CSV output: the marker the source used most
    missing: list[str] | None = None  # the texts read as missing (None: DEFAULT_MISSING)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise UserError(f"unknown column {name!r}; the table's columns are {', '.join(self.names)}")

    def to_state(self) -> dict:
        return {"columns": [asdict(c) for c in self.columns], "na_marker": self.na_marker, "missing": self.missing}

    @classmethod
    def from_state(cls, state: dict) -> TableSchema:
        return cls([Column(**c) for c in state["columns"]], state.get("na_marker", ""), state.get("missing"))

    def parse(self, frame: pd.DataFrame, what: str = "the table") -> dict[str, np.ndarray]:
        """The table's cells as typed columns, in schema order: float64 arrays (NaN where missing) for
        numeric columns, object arrays of category texts (None where missing) for categorical ones.
        The table must have exactly the schema's columns (in any order); a category never seen in
        training is a UserError."""
        missing = [n for n in self.names if n not in frame.columns]
        extra = [str(n) for n in frame.columns if n not in self.names]
        if missing or extra:
            raise UserError(
                f"{what} does not have the model's columns: "
                + "; ".join(
                    p
                    for p in (
                        f"missing {', '.join(map(repr, missing))}" if missing else "",
                        f"unexpected {', '.join(map(repr, extra))}" if extra else "",
                    )
                    if p
                )
            )
        out = {}
        for c in self.columns:
            values = frame[c.name]
            if c.kind == "categorical":
                texts = np.array([None if _is_missing(v) else _text(v) for v in values.tolist()], dtype=object)
                known = set(c.categories)
                bad = [v for v in texts if v is not None and v not in known]
                if bad:
                    raise UserError(
                        f"column {c.name!r} of {what} holds {bad[0]!r}, a category the model never saw "
                        f"(known: {', '.join(c.categories[:10])}{' ...' if len(c.categories) > 10 else ''})"
                    )
                out[c.name] = texts
            else:
                out[c.name] = _numbers(values, c.name, c.kind)
        return out

    def to_frame(self, columns: dict[str, np.ndarray]) -> pd.DataFrame:
        """Typed columns (as `parse` gives) -> a DataFrame with the recorded dtypes: integers rounded,
        categories as the texts (or values) the user's table had."""
        data = {}
        for c in self.columns:
            v = columns[c.name]
            data[c.name] = _restore(v, c)
        return pd.DataFrame(data, columns=self.names)


def _text(v) -> str:
    """A cell as the text it reads as: 3.0 from a float column is '3.0', True is 'True'."""
    return v if isinstance(v, str) else str(v)


def _restore(v: np.ndarray, c: Column) -> pd.Series:
    """One typed column back to the user's dtype (a missing cell stays missing)."""
    if c.kind == "categorical":
        s = pd.Series(v, dtype=object)
        if c.dtype == "category":
            return s.astype(pd.CategoricalDtype(c.categories))
        if c.dtype in ("object", "str", "string"):
            return s if c.dtype == "object" else s.astype(c.dtype)
        try:  # numbers or booleans used as categories: back to their own dtype
            if c.dtype == "bool":
                return s.map(lambda t: None if t is None else t == "True").astype("boolean" if s.isna().any() else bool)
            return pd.to_numeric(s).astype(c.dtype if not s.isna().any() else _nullable(c.dtype))
        except (ValueError, TypeError):
            return s
    v = np.asarray(v, dtype=np.float64)
    if c.kind == "integer":
        v = np.round(v)
    has_na = bool(np.isnan(v).any())
    if c.dtype.lower().startswith(("int", "uint")):
        return pd.Series(v).astype(_nullable(c.dtype) if has_na or c.dtype[0] == "I" else c.dtype)
    return pd.Series(v).astype(c.dtype if c.dtype.startswith("float") else "float64")


def _nullable(dtype: str) -> str:
    """int64 -> Int64: pandas' integer dtype that can hold a missing cell."""
    return dtype[0].upper() + dtype[1:] if dtype[0] in "iu" else dtype


def infer_schema(frame: pd.DataFrame, types: str | dict | None = None, na_marker: str = "") -> TableSchema:
    """Each column's kind: numeric cells only -> integer when every value is whole, else continuous;
    any text -> categorical. `types` overrides ('name:kind,...'). A column with no value at all, or
    text in a column forced numeric, is a UserError. Dtypes are those of `frame`, except that a
    frame of text cells (a CSV) records what its columns read as (int64 / Int64, float64, object)."""
    overrides = _parse_overrides(types)
    unknown = [n for n in overrides if n not in frame.columns]
    if unknown:
        raise UserError(f"data.types names column(s) {', '.join(map(repr, unknown))} the table does not have")
    columns = []
    for name in frame.columns:
        values = frame[name]
        present = [v for v in values.tolist() if not _is_missing(v)]
        if not present:
            raise UserError(
                f"column {name!r} has no value at all (every cell is missing); drop it from the table or fill it"
            )
        kind = overrides.get(name)
        numeric = None
        if kind != "categorical":
            try:
                numeric = _numbers(values, str(name), kind or "numeric")
            except UserError:
                if kind is not None:
                    raise
        if kind is None:
            if numeric is None or values.dtype == bool or str(values.dtype) in ("category", "boolean"):
                kind = "categorical"
            else:
                kind = "integer" if np.all(np.mod(numeric[~np.isnan(numeric)], 1) == 0) else "continuous"
        dtype = str(values.dtype)
        if dtype == "object":  # text cells: what they read as
            if kind == "integer":
                dtype = "Int64" if len(present) < len(values) else "int64"
            elif kind == "continuous":
                dtype = "float64"
        categories = []
        if kind == "categorical":
            categories = sorted({_text(v) for v in present})
        columns.append(Column(str(name), kind, dtype, categories))
    return TableSchema(columns, na_marker)


def as_frame(table) -> pd.DataFrame:
    """A DataFrame, or a CSV path, as a DataFrame (text cells for a CSV)."""
    if isinstance(table, pd.DataFrame):
        if table.empty or len(table.columns) == 0:
            raise UserError("the table is empty; give at least one row and one column")
        return table.reset_index(drop=True)
    if isinstance(table, (str, os.PathLike)):
        return read_csv(table)[0]
    raise UserError(f"expected a pandas DataFrame or a CSV path, got {type(table).__name__}")


def split_rows(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows): a seeded permutation, the last round(holdout * n) rows held out."""
    if not 0.0 <= holdout < 1.0:
        raise UserError(f"data.holdout={holdout}: a fraction of the rows in [0, 1)")
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(holdout * n))
    return np.sort(perm[: n - k]), np.sort(perm[n - k :])


def write_csv(frame: pd.DataFrame, path: str | Path, na_marker: str = "", source: str | Path | None = None) -> Path:
    """`frame` as a CSV file at `path`, written atomically; refuses to write onto `source`, the table read."""
    path = Path(path)
    if source is not None and Path(source).exists() and path.exists() and path.resolve() == Path(source).resolve():
        raise UserError(f"--out {path} is the input table itself; choose another file so the input is kept")
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, na_rep=na_marker))


# --- GAIN's encoding: one value per column in [0, 1] ---------------------------------------------------
@dataclass
class MinMaxEncoder:
    """Each column to [0, 1] by the training rows' observed min and max (Yoon et al. 2018, their code);
    a categorical column as its category's index / (K - 1). Missing cells are 0 in x and 0 in the mask."""

    schema: TableSchema
    lo: list[float]
    hi: list[float]

    @classmethod
    def fit(cls, schema: TableSchema, columns: dict[str, np.ndarray]) -> MinMaxEncoder:
        lo, hi = [], []
        for c in schema.columns:
            v = _codes(c, columns[c.name])
            lo.append(float(np.nanmin(v)))
            hi.append(float(np.nanmax(v)))
        return cls(schema, lo, hi)

    def encode(self, columns: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(x [N, d] float32 in [0, 1] on the training range, 0 where missing; mask [N, d], 1 = observed)."""
        cols = []
        for c, lo, hi in zip(self.schema.columns, self.lo, self.hi):
            cols.append((_codes(c, columns[c.name]) - lo) / (hi - lo + 1e-6))  # GAIN's code adds 1e-6 as well
        x = np.stack(cols, 1)  # [N, d]
        mask = (~np.isnan(x)).astype(np.float32)
        return np.nan_to_num(x, nan=0.0).astype(np.float32), mask

    def decode(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """[N, d] in [0, 1] -> typed columns: back to the original scale, integers and categories rounded
        (to the nearest category index, within range)."""
        out = {}
        for j, (c, lo, hi) in enumerate(zip(self.schema.columns, self.lo, self.hi)):
            v = x[:, j].astype(np.float64) * (hi - lo + 1e-6) + lo
            if c.kind == "categorical":
                idx = np.clip(np.round(v), 0, len(c.categories) - 1).astype(int)
                out[c.name] = np.array([c.categories[i] for i in idx], dtype=object)
            else:
                out[c.name] = np.round(v) if c.kind == "integer" else v
        return out

    def to_state(self) -> dict:
        return {"encoder": "minmax", "schema": self.schema.to_state(), "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_state(cls, state: dict) -> MinMaxEncoder:
        return cls(TableSchema.from_state(state["schema"]), list(state["lo"]), list(state["hi"]))


def _codes(c: Column, v: np.ndarray) -> np.ndarray:
    """A typed column as float64: numbers as they are, categories as their index (NaN where missing)."""
    if c.kind != "categorical":
        return np.asarray(v, dtype=np.float64)
    index = {k: i for i, k in enumerate(c.categories)}
    return np.array([np.nan if t is None else index[t] for t in v], dtype=np.float64)


# --- CTGAN's encoding: mode-specific normalisation ---------------------------------------------------
@dataclass
class ModeEncoder:
    """CTGAN's transforms (Xu et al. 2019, sec. 4.2). A numeric column: a variational Gaussian mixture
    (at most `max_modes` modes, those with weight > `min_weight` kept) fitted on the training rows;
    a value c is its mode k, drawn from the modes' posterior, as a one-hot, and alpha = (c - mu_k) / (4
    sigma_k) clipped to [-0.99, 0.99] -- span ("tanh", 1) then ("softmax", modes). A categorical
    column: a one-hot -- ("softmax", K), one of the `discrete` spans the conditional vector picks from."""

    schema: TableSchema
    modes: dict[str, dict]  # numeric column -> {"means": [...], "stds": [...], "weights": [...], "lo", "hi"}
    log_freq: dict[str, list[float]] = field(default_factory=dict)  # categorical -> log(1 + count) per category
    freq: dict[str, list[float]] = field(default_factory=dict)  # categorical -> training frequency per category

    @classmethod
    def fit(
        cls,
        schema: TableSchema,
        columns: dict[str, np.ndarray],
        max_modes: int = 10,
        min_weight: float = 0.005,
        seed: int = 0,
        max_fit_rows: int | None = None,
    ) -> ModeEncoder:
        from sklearn.mixture import BayesianGaussianMixture

        modes, log_freq, freq = {}, {}, {}
        for c in schema.columns:
            v = columns[c.name]
            if c.kind == "categorical":
                counts = np.array([np.sum(v == k) for k in c.categories], dtype=np.float64)
                log_freq[c.name] = np.log1p(counts).tolist()  # CTGAN's training-by-sampling: log frequency
                freq[c.name] = (counts / counts.sum()).tolist()
                continue
            v = np.asarray(v, dtype=np.float64)
            fit_on = v
            if max_fit_rows is not None and len(v) > max_fit_rows:
                fit_on = np.random.default_rng(seed).choice(v, max_fit_rows, replace=False)
            k = int(min(max_modes, len(np.unique(fit_on))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "did not converge": the modes are still usable, as in CTGAN
                bgm = BayesianGaussianMixture(
                    n_components=k,
                    weight_concentration_prior_type="dirichlet_process",
                    weight_concentration_prior=0.001,  # CTGAN's value: few modes survive
                    max_iter=100,
                    n_init=1,
                    random_state=seed,
                ).fit(fit_on.reshape(-1, 1))
            keep = bgm.weights_ > min_weight
            stds = np.sqrt(bgm.covariances_.reshape(-1))
            modes[c.name] = {
                "means": bgm.means_.reshape(-1)[keep].tolist(),
                "stds": np.maximum(stds[keep], 1e-6).tolist(),
                "weights": (bgm.weights_[keep] / bgm.weights_[keep].sum()).tolist(),
                "lo": float(v.min()),
                "hi": float(v.max()),
            }
        return cls(schema, modes, log_freq, freq)

    def spans(self) -> list[tuple[str, int]]:
        """The output layout: ("tanh", 1) for an alpha, ("softmax", n) for a one-hot, in column order."""
        out = []
        for c in self.schema.columns:
            if c.kind == "categorical":
                out.append(("softmax", len(c.categories)))
            else:
                out += [("tanh", 1), ("softmax", len(self.modes[c.name]["means"]))]
        return out

    def discrete(self) -> list[dict]:
        """The categorical columns the conditional vector picks from: name, offset in the encoded row,
        offset in the conditional vector, size, log frequencies and frequencies of the categories."""
        out, pos, cond = [], 0, 0
        for c in self.schema.columns:
            if c.kind == "categorical":
                k = len(c.categories)
                out.append(
                    {
                        "name": c.name,
                        "offset": pos,
                        "cond_offset": cond,
                        "size": k,
                        "log_freq": self.log_freq[c.name],
                        "freq": self.freq[c.name],
                    }
                )
                pos, cond = pos + k, cond + k
            else:
                pos += 1 + len(self.modes[c.name]["means"])
        return out

    @property
    def width(self) -> int:
        return sum(w for _, w in self.spans())

    def encode(self, columns: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
        """Typed columns without missing cells -> [N, width] float32."""
        parts = []
        for c in self.schema.columns:
            v = columns[c.name]
            if c.kind == "categorical":
                index = {k: i for i, k in enumerate(c.categories)}
                parts.append(np.eye(len(c.categories), dtype=np.float32)[[index[t] for t in v]])
                continue
            m = self.modes[c.name]
            mu, sd, w = (np.asarray(m[k]) for k in ("means", "stds", "weights"))
            v = np.asarray(v, dtype=np.float64)[:, None]  # [N, 1]
            logp = np.log(w) - np.log(sd) - 0.5 * ((v - mu) / sd) ** 2  # [N, K] posterior up to a constant
            p = np.exp(logp - logp.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            u = rng.random((len(v), 1))
            k = np.minimum((p.cumsum(1) < u).sum(1), len(mu) - 1)  # a mode drawn from the posterior
            alpha = np.clip((v[:, 0] - mu[k]) / (4 * sd[k]), -0.99, 0.99)
            parts += [alpha[:, None].astype(np.float32), np.eye(len(mu), dtype=np.float32)[k]]
        return np.concatenate(parts, 1)

    def decode(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """[N, width] (activated or raw) -> typed columns: the arg-max category; for a numeric column
        mu_k + 4 sigma_k alpha for the arg-max mode k, clipped to the training range, integers rounded."""
        out, pos = {}, 0
        for c in self.schema.columns:
            if c.kind == "categorical":
                k = len(c.categories)
                idx = x[:, pos : pos + k].argmax(1)
                out[c.name] = np.array([c.categories[i] for i in idx], dtype=object)
                pos += k
                continue
            m = self.modes[c.name]
            n_modes = len(m["means"])
            alpha = np.clip(x[:, pos].astype(np.float64), -1, 1)
            k = x[:, pos + 1 : pos + 1 + n_modes].argmax(1)
            v = np.asarray(m["means"])[k] + 4 * np.asarray(m["stds"])[k] * alpha
            v = np.clip(v, m["lo"], m["hi"])
            out[c.name] = np.round(v) if c.kind == "integer" else v
            pos += 1 + n_modes
        return out

    def to_state(self) -> dict:
        return {
            "encoder": "modes",
            "schema": self.schema.to_state(),
            "modes": self.modes,
            "log_freq": self.log_freq,
            "freq": self.freq,
            "spans": self.spans(),  # what the ctgan builder reads (models do not import the data layer)
            "discrete": self.discrete(),
        }

    @classmethod
    def from_state(cls, state: dict) -> ModeEncoder:
        return cls(TableSchema.from_state(state["schema"]), state["modes"], state["log_freq"], state["freq"])


def encoder_from_state(state: dict) -> MinMaxEncoder | ModeEncoder:
    return {"minmax": MinMaxEncoder, "modes": ModeEncoder}[state["encoder"]].from_state(state)


# --- data sets the loop trains on ----------------------------------------------------------------------
def resolve_path(cfg: DataConfig) -> Path:
    """data.path; a relative path not found here is looked up under data.root, then $GANFORGE_DATA."""
    if not cfg.path:
        raise UserError(f"data.name={cfg.name} needs data.path=FILE.csv, the table to train on")
    path = Path(cfg.path).expanduser()
    if not path.is_absolute() and not path.exists():
        for root in (cfg.root, os.environ.get("GANFORGE_DATA")):
            if root and (Path(root) / path).exists():
                return Path(root) / path
    return path


def table_data(frame: pd.DataFrame, cfg: DataConfig, encoding: str = "minmax", na_marker: str = "") -> Data:
    """A table (text cells from a CSV, or a user's DataFrame) as the `Data` the loop trains on: the
    data.split rows (data.holdout, data.split_seed), encoded by the transforms fitted on the train rows
    ("minmax": GAIN's [0, 1] values and mask; "modes": CTGAN's mode-specific normalisation, complete
    rows only), the transforms' state in `meta["table"]`."""
    if cfg.split not in ("train", "test"):
        raise UserError(f"data.split={cfg.split!r}: a table has a train and a test split (data.holdout)")
    schema = infer_schema(frame, cfg.types, na_marker)
    schema.missing = list(cfg.missing) if cfg.missing is not None else None
    columns = schema.parse(frame)
    train, test = split_rows(len(frame), cfg.holdout, cfg.split_seed)
    rows = train if cfg.split == "train" else test
    if len(rows) == 0:
        raise UserError("data.split=test but data.holdout=0 holds no rows out; set data.holdout=0.2, say")
    if encoding == "minmax":
        enc = MinMaxEncoder.fit(schema, _take(columns, train))
        x, m = enc.encode(_take(columns, rows))
        if m.sum(0).min() == 0:
            empty = schema.names[int(m.sum(0).argmin())]
            raise UserError(f"column {empty!r} has no value in the data.split={cfg.split} rows; drop it or fill it")
        return Data(torch.from_numpy(x), kind="table", extra={"m": torch.from_numpy(m)}, meta={"table": enc.to_state()})
    complete = np.ones(len(frame), dtype=bool)
    for c in schema.columns:
        v = columns[c.name]
        complete &= np.array([t is not None for t in v]) if c.kind == "categorical" else ~np.isnan(v)
    if not complete[rows].all():
        warnings.warn(
            f"{int((~complete[rows]).sum())} rows with a missing cell are left out of the synthesiser's data",
            stacklevel=2,
        )
        rows = rows[complete[rows]]
    if len(rows) == 0:
        raise UserError("every row of the table has a missing cell; the synthesiser needs complete rows")
    enc = ModeEncoder.fit(schema, _take(columns, train[complete[train]]), seed=cfg.split_seed)
    x = enc.encode(_take(columns, rows), np.random.default_rng(cfg.split_seed))
    return Data(torch.from_numpy(x), kind="table", meta={"table": enc.to_state()})


def _take(columns: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in columns.items()}


@DATASETS.register("table")
def table_dataset(cfg: DataConfig) -> Data:
    """A CSV table (data.path), one value per column in [0, 1] and its missing-value mask (GAIN)"""
    frame, marker = read_csv(resolve_path(cfg), cfg.missing)
    return table_data(frame, cfg, "minmax", marker)


@DATASETS.register("table-modes")
def table_modes_dataset(cfg: DataConfig) -> Data:
    """A CSV table (data.path), mode-specific normalisation and one-hot categories (CTGAN); rows with a missing cell are left out"""
    frame, marker = read_csv(resolve_path(cfg), cfg.missing)
    return table_data(frame, cfg, "modes", marker)
