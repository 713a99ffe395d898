"""Fixtures of the studio tests: tiny runs of every family with a studio panel, trained for two steps
in this process (seconds in all), and the real app served by uvicorn on a free loopback port."""

import json
from pathlib import Path

import pytest

from ganforge.data import Data
from ganforge.models import MODELS
from ganforge.serve.app import create_app
from ganforge.serve.models import serve_models
from ganforge.serve.server import BackgroundServer
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

# run name -> (family, data shape [C, H, W], class-labelled data)
RUNS = {
    "dcgan": ("dcgan", (1, 32, 32), False),
    "cdcgan": ("cdcgan", (1, 32, 32), True),
    "stylegan": ("stylegan", (1, 16, 16), False),
    "pix2pix": ("pix2pix", (1, 32, 32), False),
    "cyclegan": ("cyclegan", (1, 32, 32), False),
    "points": ("mlp", (2,), False),  # a 2-D point model: the generate panel draws a scatter plot
}
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


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """runs/<name>/ for every entry of RUNS; dcgan's metrics.jsonl also holds an evaluation record."""
    root = tmp_path_factory.mktemp("studio") / "runs"
    for name, (family, shape, labelled) in RUNS.items():
        train_tiny(root / name, family, shape, labelled)
    with open(root / "dcgan" / "metrics.jsonl", "a") as f:
        f.write(json.dumps(EVAL_RECORD) + "\n")
    return root


@pytest.fixture(scope="session")
def studio(runs_dir) -> str:
    """The base URL of a studio serving every run in RUNS as a model, and --runs over them."""
    models = serve_models([str(runs_dir / name) for name in RUNS])
    server = BackgroundServer(create_app(models, runs_dir))
    yield server.start()
    server.stop()
