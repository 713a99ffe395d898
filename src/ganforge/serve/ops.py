"""What each API call does with a model: plain functions over the inference layer, run in the
inference pool's threads. They take checked values and return JSON-ready dicts; images travel as
base64 PNG strings (the page puts them in `data:image/png;base64,` URLs; a script decodes them).
A bad value the inference layer refuses is its UserError, which the app answers with 400; a table
or a condition that does not fit the model is an UploadRefused with 422 (its message names what)."""

from __future__ import annotations

import base64
import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid  # at import, not on the first request: its memory counts from the start

from ganforge.data.tables import TableSchema, encoder_from_state, read_csv
from ganforge.errors import UserError
from ganforge.inference import anomaly, interpolation, sampling, styles, tables, translation
from ganforge.io import to_uint8
from ganforge.serve.models import ServedModel
from ganforge.serve.uploads import UploadRefused, check_csv, image_tensor

MAX_LOSS_POINTS = 200  # a projection's loss curve, thinned for the page
PREVIEW_ROWS = 20  # table rows shown on the page (the whole table comes as CSV text)
HEATMAP_ROWS = 200  # a missingness heatmap's rows: evenly spaced rows of a larger table
BINS = 20  # histogram bins of a numeric column or of anomaly scores


def png(images: Tensor, nrow: int | None = None) -> str:
    """Images [N, C, H, W] in [-1, 1] -> a base64 PNG: one image, or a grid of `nrow` per row
    (default: a square) with 2 black pixels between them, as `ganforge sample` draws it."""
    images = images.detach().float().cpu().clamp(-1, 1)
    if len(images) == 1:
        grid = images[0]
    else:
        grid = make_grid(images, nrow=nrow or max(1, int(math.sqrt(len(images)))), padding=2, pad_value=-1)
    arr = to_uint8(grid[None])[0]  # [H, W, C] uint8
    buf = io.BytesIO()
    Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


VERBS = {"anomaly": "score anomalies"}  # a capability's name where it is no verb


def need(served: ServedModel, capability: str) -> None:
    """A UserError when the model lacks `capability`, naming what it can do instead."""
    if capability not in served.caps:
        verb = VERBS.get(capability, capability.replace("-", " "))
        raise UserError(
            f"model '{served.id}' ({served.model.family.name}) cannot {verb}; "
            f"it can: {', '.join(served.caps) or 'nothing the studio shows'}"
        )


def _check_truncation(served: ServedModel, truncation: float | None) -> None:
    if truncation is not None and "truncation" not in served.caps:
        raise UserError(
            f"model '{served.id}' ({served.model.family.name}) has no truncation trick; leave truncation out"
        )


def generate(served: ServedModel, seed: int, count: int, label: int | None, truncation: float | None, nrow) -> dict:
    """`count` samples from `seed`: a PNG grid for images, coordinates for points."""
    need(served, "generate")
    _check_truncation(served, truncation)
    x = sampling.sample(served.model, count, seed, y=label, truncation=truncation)
    if served.model.kind != "image":
        return {"count": count, "points": x.tolist()}
    return {"count": count, "image": png(x, nrow)}


def interpolate(
    served: ServedModel, seed_a: int, seed_b: int, steps: int, label: int | None, truncation: float | None
) -> dict:
    """The path between two seeds' samples: a strip and its frames (for the animation). Families with
    per-layer styles walk a straight line in W; the others a great circle in Z."""
    need(served, "interpolate")
    _check_truncation(served, truncation)
    m = served.model
    if m.family.styles:
        psi = 1.0 if truncation is None else sampling.check_psi(truncation)
        frames = interpolation.interpolate_w(m, seed_a, seed_b, steps, psi=psi, label=label)
    else:
        frames = interpolation.between_seeds(m, seed_a, seed_b, steps, truncation, label)
    return {"steps": steps, "strip": png(frames, nrow=steps), "frames": [png(f[None]) for f in frames]}


def style_mix(served: ServedModel, rows: list[int], cols: list[int], crossover: int, psi: float, label) -> dict:
    """StyleGAN's mixing figure: row seeds' styles before `crossover`, column seeds' from it on."""
    need(served, "style-mixing")
    grid, per_row = styles.style_mixing_grid(served.model, rows, cols, crossover, psi, label)
    return {"rows": len(rows), "cols": len(cols), "image": png(grid, per_row)}


def project(served: ServedModel, data: bytes, steps: int, seed: int, label: int | None) -> dict:
    """An uploaded image projected into W: the target as the model sees it, the reconstruction, PSNR
    and the loss per step (thinned)."""
    need(served, "project")
    G = styles.style_generator(served.model)
    target = image_tensor(data, G.synthesis.resolution, G.synthesis.channels)[0]  # [C, H, W]
    result = styles.project(served.model, target, steps=steps, seed=seed, label=label)
    stride = max(1, math.ceil(len(result.losses) / MAX_LOSS_POINTS))
    return {
        "target": png(result.target[None]),
        "reconstruction": png(result.image[None]),
        "psnr": result.psnr,
        "losses": result.losses[::stride],
    }


def translate(served: ServedModel, data: bytes, direction: str) -> dict:
    """An uploaded image translated A -> B or B -> A: the input as the model sees it and the output."""
    need(served, "translate")
    translation.translator(served.model, direction)  # a direction this model lacks: refused before decoding
    (c, size, _), _ = translation.io_shapes(served.model, direction)
    x = image_tensor(data, size, c)
    with torch.no_grad():
        y = translation.translate_tensor(served.model, x, direction)
    return {"direction": direction, "input": png(x), "output": png(y)}


# --- tables -----------------------------------------------------------------------------------------
def _encoder(served: ServedModel):
    state = served.model.data_meta.get("table")
    if not state:
        raise UserError(f"model '{served.id}' recorded no column transforms (state.json data_meta.table)")
    return encoder_from_state(state)


def _text_rows(frame, n: int) -> list[list[str]]:
    """The first n rows of a frame as texts ('' where missing)."""
    head = frame.head(n).astype(object)
    return [["" if pd.isna(v) else str(v) for v in row] for row in head.values]


def heatmap(missing: np.ndarray, filled: np.ndarray | None = None) -> str:
    """A missingness map [N, d] as a base64 PNG: one row per table row (evenly spaced rows when
    N > HEATMAP_ROWS), one band per column; missing cells red, cells filled by the model blue."""
    n, d = missing.shape
    rows = np.linspace(0, n - 1, min(n, HEATMAP_ROWS)).round().astype(int)
    rgb = np.empty((len(rows), d, 3), np.uint8)
    rgb[:] = (226, 226, 222)  # observed
    rgb[missing[rows]] = (192, 57, 43)
    if filled is not None:
        rgb[filled[rows]] = (59, 130, 196)
    cell_w = max(4, min(32, 320 // d))
    cell_h = max(1, min(8, 240 // len(rows)))
    rgb = rgb.repeat(cell_h, 0).repeat(cell_w, 1)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _listed(names: list[str], most: int = 10) -> str:
    """Column names for a one-line message: the first `most`, then how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(repr(n[:60]) for n in names[:most]) + more


def _columns_fit(schema: TableSchema, header: list[str]) -> None:
    missing = [n for n in schema.names if n not in header]
    extra = [n for n in header if n not in schema.names]
    if missing or extra:
        parts = [f"missing {_listed(missing)}" if missing else "", f"unexpected {_listed(extra)}" if extra else ""]
        raise UploadRefused(
            f"the table's columns are not the model's: {'; '.join(p for p in parts if p)} "
            f"(the model was trained on {_listed(schema.names, 20)})",
            422,
        )


def impute_table(served: ServedModel, data: bytes, seed: int) -> dict:
    """An uploaded CSV with missing cells -> the table with each filled by the model (CSV text, every
    observed cell as the upload wrote it), missing counts per column before and after, heatmaps."""
    need(served, "impute")
    check_csv(data)  # bytes and rows capped before the reader builds a row
    schema = _encoder(served).schema
    with tempfile.TemporaryDirectory(prefix="ganforge-upload-") as tmp:
        src, out = Path(tmp) / "upload.csv", Path(tmp) / "filled.csv"
        src.write_bytes(data)

        def message(e: UserError) -> str:  # the reader names its file: here, the upload
            return str(e).replace(f"{src}: ", "").replace(str(src), "the upload")

        try:
            before, _ = read_csv(src, schema.missing)
        except UserError as e:
            raise UploadRefused(f"the upload is not a table the studio reads: {message(e)}", 400) from None
        _columns_fit(schema, [str(c) for c in before.columns])
        try:
            tables.impute_csv(served.model, src, out, seed)
        except UserError as e:  # a number column holding text, a category never seen in training
            raise UploadRefused(message(e), 422) from None
        text = out.read_text(encoding="utf-8")
        after, _ = read_csv(out, schema.missing)
    miss_before = before.isna().to_numpy()
    miss_after = after.isna().to_numpy()
    filled = miss_before & ~miss_after
    names = [str(c) for c in before.columns]
    return {
        "rows": len(before),
        "columns": names,
        "missing_before": dict(zip(names, miss_before.sum(0).tolist())),
        "missing_after": dict(zip(names, miss_after.sum(0).tolist())),
        "filled": int(filled.sum()),
        "csv": text,
        "preview": {"rows": _text_rows(after, PREVIEW_ROWS), "filled": filled[:PREVIEW_ROWS].tolist()},
        "heatmap_before": heatmap(miss_before),
        "heatmap_after": heatmap(miss_after, filled),
        "heatmap_rows": min(len(before), HEATMAP_ROWS),
    }


def check_where(schema: TableSchema, where: dict[str, str]) -> dict[str, str]:
    """`where` ({column: category}, at most one) checked against the training table: 422 naming the
    columns or categories there are."""
    if not where:
        return {}
    cats = [c for c in schema.columns if c.kind == "categorical"]
    listed = ", ".join(c.name for c in cats) or "none: this table has no categorical column"
    if len(where) > 1:
        raise UploadRefused(f"where: one condition at a time, got {len(where)} ({', '.join(map(repr, where))})", 422)
    ((name, value),) = where.items()
    if name not in schema.names:
        raise UploadRefused(f"where: unknown column {name[:60]!r}; conditions name a categorical column: {listed}", 422)
    col = schema.column(name)
    if col.kind != "categorical":
        raise UploadRefused(
            f"where: column {name!r} is {col.kind}; conditions name a categorical column: {listed}", 422
        )
    if value not in col.categories:
        known = ", ".join(col.categories[:20]) + (" ..." if len(col.categories) > 20 else "")
        raise UploadRefused(f"where: column {name!r} has no category {value[:60]!r}; its categories are {known}", 422)
    return {name: value}


def _mixture_mass(m: dict, edges: np.ndarray) -> list[float]:
    """The share of each bin under the Gaussian mixture CTGAN fitted to a training column (its modes'
    means, stds and weights), renormalised to the training range [lo, hi] the bins span."""
    cdf = np.vectorize(lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2))))
    mass = np.zeros(len(edges) - 1)
    for mu, sd, w in zip(m["means"], m["stds"], m["weights"]):
        c = cdf((edges - mu) / sd)
        mass += w * np.diff(c)
    total = mass.sum()
    return (mass / total if total > 0 else mass).tolist()


def synthesize_rows(served: ServedModel, n: int, seed: int, where: dict[str, str] | None) -> dict:
    """n synthetic rows (CSV text, a preview) and per-column histograms of them next to the training
    table's distribution as the checkpoint records it: category frequencies exactly; for a numeric
    column the mixture CTGAN fitted to it (the checkpoint keeps no rows), over its training min-max."""
    need(served, "synthesize-rows")
    enc = _encoder(served)
    where = check_where(enc.schema, where or {})
    try:
        frame = tables.synthesize(served.model, n, seed, where)
    except UserError as e:  # the condition's rows were too rare for the model to make n of them
        raise UploadRefused(str(e).replace("--where ", "where ").replace("--n ", "n "), 422) from None
    columns = []
    for c in enc.schema.columns:
        values = frame[c.name]
        if c.kind == "categorical":
            texts = values.astype(str)
            columns.append(
                {
                    "name": c.name,
                    "kind": c.kind,
                    "categories": c.categories,
                    "synthetic": [int((texts == k).sum()) for k in c.categories],
                    "real": enc.freq.get(c.name),
                    "real_source": "frequencies" if c.name in enc.freq else None,
                }
            )
            continue
        m = enc.modes.get(c.name)
        v = values.to_numpy(dtype=np.float64, na_value=np.nan)
        v = v[~np.isnan(v)]
        lo, hi = (m["lo"], m["hi"]) if m else (float(v.min()), float(v.max()))
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, BINS + 1)
        columns.append(
            {
                "name": c.name,
                "kind": c.kind,
                "edges": edges.tolist(),
                "synthetic": np.histogram(np.clip(v, lo, hi), edges)[0].tolist(),
                "real": _mixture_mass(m, edges) if m else None,
                "real_source": "mixture" if m else None,
            }
        )
    text = frame.to_csv(index=False, na_rep=enc.schema.na_marker)
    return {
        "n": len(frame),
        "seed": seed,
        "where": where,
        "columns": [c.name for c in enc.schema.columns],
        "csv": text,
        "preview": _text_rows(frame, PREVIEW_ROWS),
        "histograms": columns,
        "real_note": (
            "real: the training table as the checkpoint records it -- category frequencies exactly; numeric "
            "columns as the Gaussian mixture fitted to them over their training range (no training rows are kept)"
            + ("; unconditioned (the whole table)" if where else "")
        ),
    }


# --- anomaly scores ---------------------------------------------------------------------------------
def detect(served: ServedModel, files: list[tuple[str, bytes]], threshold: float | None) -> dict:
    """Uploaded images -> each one's anomaly score (0: the training set's most normal image, 1: its
    least), whether it is over `threshold` (None: the training set's 99th percentile), a histogram."""
    need(served, "anomaly")
    anomaly.check_threshold(threshold)
    c, size = served.model.data_shape[0], served.model.data_shape[-1]
    images = []
    for name, data in files:
        try:
            images.append(image_tensor(data, size, c))
        except UploadRefused as e:
            raise UploadRefused(f"{name}: {e}", e.status) from None
    default = anomaly.default_threshold(served.model)
    threshold = default if threshold is None else threshold
    scores = anomaly.scores(served.model, torch.cat(images)).tolist()
    lo, hi = min(0.0, *scores), max(1.0, *scores)
    counts, edges = np.histogram(scores, BINS, (lo, hi))
    return {
        "threshold": threshold,
        "default_threshold": default,
        "count": len(scores),
        "flagged": sum(s > threshold for s in scores),
        "scores": [{"name": n, "score": s, "anomalous": s > threshold} for (n, _), s in zip(files, scores)],
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


__all__ = [
    "check_where",
    "detect",
    "generate",
    "heatmap",
    "impute_table",
    "interpolate",
    "need",
    "png",
    "project",
    "style_mix",
    "synthesize_rows",
    "translate",
]
