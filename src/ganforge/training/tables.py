"""Training a table family on a DataFrame (or a CSV path) from Python: `train_table(df, "gain", out)`.
Outside `ganforge.api` because the training loop imports the package root, which imports the API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ganforge.config import load_config
from ganforge.data.tables import as_frame, read_csv, table_data
from ganforge.training.loop import Trainer

if TYPE_CHECKING:
    from ganforge.api import GanModel


def train_table(
    table: pd.DataFrame | str | Path, preset: str, out: str | Path, overrides: list[str] = (), overwrite: bool = False
) -> GanModel:
    """Train a table family on a DataFrame (or a CSV path) with a preset ("gain", "ctgan") and
    `key=value` overrides into the run directory `out`; returns the trained model."""
    cfg = load_config(preset, list(overrides))
    marker = ""
    if isinstance(table, (str, Path)):
        frame, marker = read_csv(table, cfg.data.missing)
    else:
        frame = as_frame(table)
    encoding = "minmax" if cfg.data.name == "table" else "modes"
    Trainer(cfg, out, overwrite=overwrite, data=table_data(frame, cfg.data, encoding, marker)).fit()
    from ganforge.api import load

    return load(out)
