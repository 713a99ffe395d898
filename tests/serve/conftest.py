"""Fixtures of the studio tests: tiny runs of every family with a studio panel, trained for two steps
in this process (seconds in all), and the real app served by uvicorn on a free loopback port."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ganforge.data import Data
from ganforge.models import MODELS
from ganforge.serve.app import create_app
from ganforge.serve.models import serve_models
from ganforge.serve.server import BackgroundServer
from ganforge.training.loop import Trainer

from conftest import QUIET
from tests_helpers import tiny_trainer_config

# run name -> (family, data shape [C, H, W], class-labelled data)
RUNS = {
    "dcgan": ("dcgan", (1, 32, 32), False),
    "cdcgan": ("cdcgan", (1, 32, 32), True),
    "stylegan": ("stylegan", (1, 16, 16), False),
    "pix2pix": ("pix2pix", (1, 32, 32), False),
    "cyclegan": ("cyclegan", (1, 32, 32), False),
    "points": ("mlp", (2,), False),  # a 2-D point model: the generate panel draws a scatter plot
    "ganomaly": ("ganomaly", (1, 32, 32), False),  # a detector: the anomaly panel
}
# table runs (ganforge.training.tables.train_table): run name -> (preset, overrides, table: its complete rows only?)
TABLE_RUNS = {
    "gain": ("gain", ["train.batch_size=16"], False),
    "ctgan": ("ctgan", ["train.batch_size=20", "model.pack=10", "model.hidden=32"], True),  # a synthesiser: whole rows
}
TABLE_CSV = "table.csv"  # in runs_dir's parent: numeric, integer and categorical columns, '?' for missing
# what `ganforge eval RUN` appends to RUN/metrics.jsonl (ganforge/metrics/cli.py)
EVAL_RECORD = {
    "kind": "eval",
    "step": 2,
    "fid": 123.4,
    "kid": 0.05,
    "n": 64,
    "ref": "mnist",
    "extractor": "lenet-mnist",
    "seed": 0,
}


def train_tiny(run: Path, family: str, shape: tuple[int, ...], labelled: bool, steps: int = 2) -> Path:
    """A `steps`-step tiny run of `family` on the family's example data, with a sample grid per step."""
    tensors = MODELS.get(family).example_data(shape)
    y = tensors.pop("y")
    classes = tuple(f"c{i}" for i in range(10)) if labelled else ()
    data = Data(tensors.pop("x"), y if labelled else None, classes, kind="image" if len(shape) == 3 else "points")
    data.extra.update(tensors)  # a second domain for translation families
    cfg = tiny_trainer_config(family, ["train.sample_every=1", "train.num_samples=4"], steps=steps)
    Trainer(cfg, run, data=data).fit()
    return run


def table_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small table: x (continuous), k (integer), c (categorical), with about 15% of cells missing
    (none in the first row)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n).round(3)
    df = pd.DataFrame({"x": x, "k": rng.integers(0, 9, n), "c": np.where(x > 0, "hi", "lo")}).astype(object)
    holes = rng.random(df.shape) < 0.15
    holes[0] = False
    return df.mask(holes)


def train_table_run(run: Path, csv: Path, preset: str, overrides: list[str]) -> Path:
    from ganforge.training.tables import train_table

    train_table(csv, preset, run, [*QUIET, "train.steps=2", "train.ckpt_every=0", *overrides])
    return run


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """runs/<name>/ for every entry of RUNS and TABLE_RUNS (trained on ../table.csv); dcgan's
    metrics.jsonl also holds an evaluation record."""
    root = tmp_path_factory.mktemp("studio") / "runs"
    for name, (family, shape, labelled) in RUNS.items():
        train_tiny(root / name, family, shape, labelled)
    csv, complete = root.parent / TABLE_CSV, root.parent / "complete.csv"
    table_frame().to_csv(csv, index=False, na_rep="?")
    table_frame().dropna().to_csv(complete, index=False)
    for name, (preset, overrides, whole_rows) in TABLE_RUNS.items():
        train_table_run(root / name, complete if whole_rows else csv, preset, overrides)
    with open(root / "dcgan" / "metrics.jsonl", "a") as f:
        f.write(json.dumps(EVAL_RECORD) + "\n")
    return root


@pytest.fixture(scope="session")
def table_csv(runs_dir) -> Path:
    """The CSV the table runs were trained on (table_frame(), '?' where a cell is missing)."""
    return runs_dir.parent / TABLE_CSV


@pytest.fixture(scope="session")
def studio(runs_dir) -> str:
    """The base URL of a studio serving every run in RUNS as a model, and --runs over them."""
    models = serve_models([str(runs_dir / name) for name in [*RUNS, *TABLE_RUNS]])
    server = BackgroundServer(create_app(models, runs_dir))
    yield server.start()
    server.stop()
