"""Tables over a loaded model: imputation (GAIN) and synthetic rows (CTGAN), DataFrames or CSV files
in and out, mapped back through the column transforms the checkpoint recorded (`model.data_meta`),
so the user gets their own columns, categories and dtypes.

    impute(model, table, seed)              a DataFrame with every missing cell filled; observed cells untouched
    impute_csv(model, src, out, seed)       the same for CSV files: observed cells keep their exact text
    synthesize(model, n, seed, where)       n new rows; where={"column": "category"} conditions on one category
    parse_where(["col=value"])              --where options -> {column: value}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ganforge.data.tables import (
    MinMaxEncoder,
    ModeEncoder,
    TableSchema,
    as_frame,
    encoder_from_state,
    read_csv,
    write_csv,
)
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.io import refuse_overwrite
from ganforge.objectives.imputation import fill, gain_input
from ganforge.objectives.tabular import CondSampler


def _encoder(model: LoadedModel, task: str):
    if model.family.tabular != task:
        able = families_that(lambda f: f.tabular == task)
        verb = {"impute": "imputes missing cells", "synthesize": "synthesises table rows"}[task]
        raise UserError(
            f"a {model.family.name} model cannot do this: it is not a table model that {verb} "
            f"(families that do: {', '.join(able)})"
        )
    state = model.data_meta.get("table")
    if not state:
        raise UserError("the checkpoint holds no column transforms (state.json data_meta.table); train on a CSV table")
    return encoder_from_state(state)


# --- imputation ---------------------------------------------------------------------------------------------
@torch.no_grad()
def impute_columns(
    model: LoadedModel, columns: dict[str, np.ndarray], seed: int = 0, batch_size: int = 4096
) -> dict[str, np.ndarray]:
    """Typed columns with missing cells (NaN / None) -> the same with every missing cell filled by G."""
    enc: MinMaxEncoder = _encoder(model, "impute")
    x, m = enc.encode(columns)
    x, m = torch.from_numpy(x), torch.from_numpy(m)
    gen = torch.Generator().manual_seed(seed)
    noise = model.config.loss.noise
    out = []
    for xb, mb in zip(x.split(batch_size), m.split(batch_size)):
        z = torch.rand(xb.shape, generator=gen) * noise
        x_tilde = gain_input(xb, mb, z).to(model.device)
        mb = mb.to(model.device)
        out.append(fill(x_tilde, mb, model.generator(x_tilde, mb)).cpu())
    filled = enc.decode(torch.cat(out).numpy())
    merged = {}
    for c in enc.schema.columns:
        v = columns[c.name].copy()
        miss = np.array([t is None for t in v]) if c.kind == "categorical" else np.isnan(v)
        v[miss] = filled[c.name][miss]  # observed cells are never touched
        merged[c.name] = v
    return merged


def impute(model: LoadedModel, table, seed: int = 0) -> pd.DataFrame:
    """A DataFrame (or CSV path) with the model's columns -> a DataFrame with every missing cell filled,
    in the model's column order and dtypes; observed values are returned as they were."""
    enc: MinMaxEncoder = _encoder(model, "impute")
    frame = as_frame(table)
    return enc.schema.to_frame(impute_columns(model, enc.schema.parse(frame), seed))


def _cell_text(v, kind: str) -> str:
    if kind == "categorical":
        return str(v)
    return str(int(v)) if kind == "integer" else f"{float(v):.10g}"


def impute_csv(model: LoadedModel, src: str | Path, out: str | Path, seed: int = 0, overwrite: bool = False) -> dict:
    """Fill the missing cells of the CSV table `src` into a new CSV `out` (written atomically, never onto
    `src`); every observed cell keeps its exact text and the columns keep their order."""
    src, out = Path(src), Path(out)
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise UserError(f"--out {out} is the input table itself; choose another file so the input is kept")
    enc: MinMaxEncoder = _encoder(model, "impute")
    refuse_overwrite(out, overwrite=overwrite)
    frame, marker = read_csv(src, enc.schema.missing)  # the missing markers training read
    filled = impute_columns(model, enc.schema.parse(frame, str(src)), seed)
    text = frame.copy()
    count = 0
    for c in enc.schema.columns:
        miss = text[c.name].isna().to_numpy()
        count += int(miss.sum())
        text.loc[miss, c.name] = [_cell_text(v, c.kind) for v in filled[c.name][miss]]
    write_csv(text, out, marker, source=src)
    return {"rows": len(text), "filled": count, "path": str(out)}


# --- synthesis ----------------------------------------------------------------------------------------------
def parse_where(items) -> dict[str, str]:
    """['column=value'] -> {'column': 'value'}."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UserError(f"--where {item!r}: write column=value, for example --where sex=Female")
        out[name] = value
    return out


def _check_where(schema: TableSchema, where: dict[str, str]) -> tuple[str, str] | None:
    if not where:
        return None
    if len(where) > 1:
        raise UserError(f"--where: one condition at a time (got {', '.join(where)}); CTGAN conditions on one column")
    ((name, value),) = where.items()
    if name not in schema.names:
        raise UserError(f"--where: unknown column {name!r}; the table's columns are {', '.join(schema.names)}")
    col = schema.column(name)
    if col.kind != "categorical":
        cats = [c.name for c in schema.columns if c.kind == "categorical"]
        raise UserError(
            f"--where: column {name!r} is {col.kind}; conditions name a category of a categorical column "
            f"({', '.join(cats) or 'this table has none'})"
        )
    value = str(value)
    if value not in col.categories:
        raise UserError(
            f"--where: {name!r} has no category {value!r}; its categories are {', '.join(col.categories[:20])}"
            + (" ..." if len(col.categories) > 20 else "")
        )
    return name, value


def sample_spans(logits: torch.Tensor, spans, generator: torch.Generator) -> torch.Tensor:
    """G's logits -> a row: tanh on alphas; on each one-hot span a category drawn from softmax(logits)
    (Gumbel-max: the one-hot of argmax(logits + Gumbel noise)), as CTGAN draws with Gumbel-softmax,
    seeded by `generator` -- not the arg-max, which would give every uncertain row the likeliest category."""
    out, pos = [], 0
    for kind, w in spans:
        part = logits[:, pos : pos + w]
        if kind == "tanh":
            out.append(torch.tanh(part))
        else:
            u = torch.rand(part.shape, generator=generator).clamp_(1e-10, 1 - 1e-10)
            pick = (part - torch.log(-torch.log(u))).argmax(1)
            out.append(torch.nn.functional.one_hot(pick, w).to(part.dtype))
        pos += w
    return torch.cat(out, 1)


CONDITIONS = ("data", "log")  # how an unconditioned synthesis draws G's conditional vectors


@torch.no_grad()
def synthesize(
    model: LoadedModel,
    n: int,
    seed: int = 0,
    where: dict[str, str] | None = None,
    batch_size: int = 1000,
    max_rounds: int = 100,
    conditions: str = "data",
) -> pd.DataFrame:
    """n synthetic rows as a DataFrame with the training table's columns and dtypes, reproducible from
    `seed`. Unconditioned: G's conditional vector names a category drawn as the training data's
    category frequencies (conditions="data"), or by the log-frequencies G trained with
    (conditions="log": rare categories more often, as the ctgan package samples); categories and
    modes are drawn from G's softmax (`sample_spans`). `where={"col": "value"}`: the conditional
    vector names that category and only rows that hold it are kept (rejection, at most `max_rounds`
    batches)."""
    if n < 1:
        raise UserError(f"--n {n}: at least 1 row")
    if conditions not in CONDITIONS:
        raise UserError(f"--conditions {conditions!r}: choose one of {', '.join(CONDITIONS)}")
    enc: ModeEncoder = _encoder(model, "synthesize")
    cond_on = _check_where(enc.schema, where or {})
    G = model.generator
    sampler = CondSampler(enc.discrete())
    gen = torch.Generator().manual_seed(seed)
    fixed = None
    if cond_on is not None:
        d = next(c for c in enc.discrete() if c["name"] == cond_on[0])
        fixed = torch.zeros(sampler.dim)
        fixed[d["cond_offset"] + enc.schema.column(cond_on[0]).categories.index(cond_on[1])] = 1.0
    parts, have = [], 0
    for _ in range(max_rounds):
        z = torch.randn(batch_size, G.z_dim, generator=gen)
        if sampler.dim == 0:
            cond = None
        elif fixed is not None:
            cond = fixed.expand(batch_size, -1)
        else:
            cond = sampler.sample(batch_size, gen, log=conditions == "log")[0]
        _, logits = G(z.to(model.device), None if cond is None else cond.to(model.device), return_logits=True)
        x = sample_spans(logits.cpu(), G.spans, gen).numpy()
        cols = enc.decode(x)
        if cond_on is not None:
            keep = cols[cond_on[0]] == cond_on[1]
            cols = {k: v[keep] for k, v in cols.items()}
        parts.append(cols)
        have += len(next(iter(cols.values())))
        if have >= n:
            break
    else:
        raise UserError(
            f"--where {cond_on[0]}={cond_on[1]}: the model made {have} such rows in {max_rounds * batch_size} tries, "
            f"fewer than --n {n}; ask for fewer rows or train longer"
        )
    columns = {c: np.concatenate([p[c] for p in parts])[:n] for c in enc.schema.names}
    return enc.schema.to_frame(columns)


def synthesize_csv(
    model: LoadedModel,
    n: int,
    out: str | Path,
    seed: int = 0,
    where=None,
    overwrite: bool = False,
    conditions: str = "data",
) -> dict:
    """`synthesize` into a CSV file, written atomically."""
    refuse_overwrite(out, overwrite=overwrite)
    frame = synthesize(model, n, seed, where, conditions=conditions)
    enc = _encoder(model, "synthesize")
    write_csv(frame, out, enc.schema.na_marker)
    return {"rows": len(frame), "path": str(out)}
