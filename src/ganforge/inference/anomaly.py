"""Anomaly scores from a detector family (`Family.detects`: GANomaly).

The score of an input is GANomaly's latent distance mean((GE(x) - E(G(x)))^2), min-max scaled with
the smallest and largest score on the training set, which every checkpoint records (state.json's
"objective_state"): 0 is the training set's most normal image, 1 its least normal. The scaling is
not clamped: an input less normal than any training image scores above 1 (and one more normal than
all of them below 0), so the ranking of inputs, and AUROC, is that of the raw distances.

    scores(model, images)                       scaled scores [N] of images [N, C, H, W] in [-1, 1]
    default_threshold(model)                    the training set's 99th percentile, scaled
    list_inputs(paths)                          the image files of files and folders, in order
    detect_files(model, inputs, out, ...)       a CSV: path, score, anomalous (1 when score > threshold)
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.data.folders import list_images, read_image
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.io import IMAGE_SUFFIXES, atomic_write, refuse_overwrite
from ganforge.objectives.anomaly import raw_scores
from ganforge.objectives.anomaly import score_range as objective_range

CHUNK = 256  # images read, scored and let go at a time


def require_detector(model: LoadedModel) -> None:
    if not model.family.detects:
        able = ", ".join(families_that(lambda f: f.detects))
        raise UserError(f"this {model.family.name} model does not score anomalies; train a detector family ({able})")


def score_range(model: LoadedModel) -> dict[str, float]:
    """The training set's raw-score range: as the checkpoint recorded it (a run's last checkpoint), or,
    for a checkpoint saved along the way, computed now over the training data its config names
    (once per model)."""
    require_detector(model)
    state = model.checkpoint.state if model.checkpoint is not None else {}
    facts = state.get("objective_state") or {}
    if {"score_min", "score_max", "score_p99"} <= facts.keys():
        return facts
    from ganforge.data import build_dataset

    data = build_dataset(model.config.data, model.config.train.seed)  # what the Trainer trained on
    check_images(model, data.x[:1])
    facts = objective_range(raw_scores(model.networks["G"], data.x))
    if model.checkpoint is not None:  # in memory, as the run's last save would have recorded them
        model.checkpoint.state["objective_state"] = facts
    return facts


def scale(raw: Tensor, facts: dict[str, float]) -> Tensor:
    """(raw - min) / (max - min) with the training set's min and max; not clamped."""
    lo, hi = facts["score_min"], facts["score_max"]
    return (raw.double() - lo) / max(hi - lo, 1e-12)


def check_images(model: LoadedModel, images: Tensor) -> None:
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(model.data_shape):
        raise UserError(
            f"images of shape {list(images.shape)} do not fit the model's {['N', *model.data_shape]}; "
            "resize them or let 'ganforge detect' read the files"
        )


def scores(model: LoadedModel, images: Tensor, batch_size: int = 256) -> Tensor:
    """Scaled anomaly scores [N] (float64, on the CPU) of images [N, C, H, W] in [-1, 1]."""
    require_detector(model)
    check_images(model, images)
    facts = score_range(model)
    return scale(raw_scores(model.networks["G"], images, batch_size), facts)


def default_threshold(model: LoadedModel) -> float:
    """The scaled 99th percentile of the training set's scores: about 1% of normal images exceed it."""
    facts = score_range(model)
    return float(scale(torch.tensor([facts["score_p99"]]), facts)[0])


def check_threshold(threshold: float | None) -> None:
    if threshold is not None and not math.isfinite(threshold):
        raise UserError(f"--threshold {threshold}: give a finite number such as 0.5 (scores are scaled to [0, 1])")


def list_inputs(paths: list[Path]) -> list[Path]:
    """Every image file named or inside a named folder (sorted within a folder), in the order given."""
    if not paths:
        raise UserError("give at least one input: image files or folders of images")
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += list_images(p)
        elif not p.exists():
            raise UserError(f"{p}: no such file or folder")
        elif p.suffix.lower() not in IMAGE_SUFFIXES:
            raise UserError(
                f"{p}: not an image file ({', '.join(sorted(IMAGE_SUFFIXES))}); "
                "this detector scores images (table rows are not supported)"
            )
        else:
            files.append(p)
    return files


def read_inputs(model: LoadedModel, files: list[Path]) -> Tensor:
    """Image files -> [N, C, H, W] in [-1, 1] at the model's size (centre-cropped, resized)."""
    c, res = model.data_shape[0], model.data_shape[-1]
    arrays = [read_image(p, res, c) for p in files]  # a file Pillow cannot read -> UserError
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def detect_files(
    model: LoadedModel,
    inputs: list[Path],
    out: Path,
    threshold: float | None = None,
    overwrite: bool = False,
) -> dict:
    """Score the images of `inputs` (files, folders) into the CSV `out` (path, score, anomalous),
    written atomically once every image was read; `threshold` None: `default_threshold`."""
    check_threshold(threshold)
    if out.suffix.lower() != ".csv":
        raise UserError(f"--out {out}: give a .csv file name")
    files = list_inputs(inputs)
    resolved = {f.resolve() for f in files} | {p.resolve() for p in inputs}
    if out.resolve() in resolved:
        raise UserError(f"--out {out} is one of the inputs; choose another --out")
    refuse_overwrite(out, overwrite=overwrite)
    facts = score_range(model)
    if threshold is None:
        threshold = default_threshold(model)
    rows = []
    for i in range(0, len(files), CHUNK):
        chunk = files[i : i + CHUNK]
        s = scale(raw_scores(model.networks["G"], read_inputs(model, chunk)), facts)
        rows += [(str(p), float(v)) for p, v in zip(chunk, s.tolist())]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["path", "score", "anomalous"])
    flagged = 0
    for path, score in rows:
        flagged += score > threshold
        writer.writerow([path, f"{score:.8g}", int(score > threshold)])
    atomic_write(out, lambda tmp: tmp.write_text(text.getvalue()))
    return {"count": len(rows), "anomalous": flagged, "threshold": threshold, "path": out}


__all__ = ["default_threshold", "detect_files", "list_inputs", "scores"]
