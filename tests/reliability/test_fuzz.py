"""Property-based fuzzing (Hypothesis, bounded examples): the override parser and YAML loader, the IDX
reader, the image-folder loader and the checkpoint loader end in success or a `UserError`, never in
another exception and never in a hang; a pickle placed anywhere in a checkpoint is never executed."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import shutil
import signal
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import ganforge
from ganforge.config import all_keys, load_config, parse_overrides
from ganforge.data.folders import load_image_folder
from ganforge.data.idx import read_idx
from ganforge.errors import UserError
from ganforge.training.checkpoint import load_latest

from conftest import TINY, tiny_model

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = all_keys()


@contextlib.contextmanager
def time_limit(seconds: int = 10):
    """A hang fails the example: SIGALRM raises inside the call after `seconds`."""

    def stop(signum, frame):
        raise TimeoutError(f"no answer in {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def success_or_user_error(fn, *args, **kwargs):
    with time_limit():
        try:
            return fn(*args, **kwargs)
        except UserError:
            return None


# --- config: overrides and YAML ------------------------------------------------------------------
values = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**9), 10**9).map(str),
    st.floats().map(str),
    st.sampled_from(["none", "true", "[1, 2]", "{a: 1}", "nan", "-inf", "1e400", "", "="]),
)
overrides = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(KEYS), values).map(lambda kv: f"{kv[0]}={kv[1]}"),
        st.text(max_size=30),
    ),
    max_size=4,
)


@FUZZ
@given(items=overrides)
def test_overrides_end_in_a_config_or_a_user_error(items):
    success_or_user_error(parse_overrides, items)
    success_or_user_error(load_config, "quickstart", items)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["data", "model", "train", "loss", "steps", "x"]), children, max_size=3),
    ),
    max_leaves=10,
)


@FUZZ
@given(doc=st.one_of(yaml_values.map(lambda v: yaml.safe_dump(v).encode()), st.binary(max_size=200)))
def test_yaml_files_end_in_a_config_or_a_user_error(doc, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(doc)
    success_or_user_error(load_config, str(path))


# --- the IDX reader ----------------------------------------------------------------------------------
def idx_bytes(magic: int, dims: list[int], payload: bytes) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


@FUZZ
@given(
    magic=st.one_of(st.sampled_from([2049, 2051, 0x0803, 0x0801, 0x0D03]), st.integers(0, 2**32 - 1)),
    dims=st.lists(st.integers(0, 70), max_size=4),
    payload=st.binary(max_size=400),
    compress=st.booleans(),
    cut=st.integers(0, 50),
)
def test_idx_reader_ends_in_an_array_or_a_user_error(magic, dims, payload, compress, cut, tmp_path):
    raw = idx_bytes(magic, dims, payload)
    raw = raw[: max(0, len(raw) - cut)]
    path = tmp_path / ("x-idx3-ubyte.gz" if compress else "x-idx3-ubyte")
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out = success_or_user_error(read_idx, path)
    assert out is None or isinstance(out, np.ndarray)


# --- the image-folder loader -----------------------------------------------------------------------
def png_bytes(seed: int, size: int, mode: str) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size, size) if mode == "L" else (size, size, 3)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(buf, format="PNG")
    return buf.getvalue()


@FUZZ
@given(
    files=st.lists(
        st.tuples(
            st.integers(0, 99),
            st.integers(1, 40),
            st.sampled_from(["L", "RGB"]),
            st.integers(-1, 200),
            st.sampled_from([".png", ".jpg", ".ppm", ".txt"]),
        ),
        min_size=0,
        max_size=4,
    ),
    resolution=st.one_of(st.none(), st.integers(1, 40)),
    channels=st.sampled_from([None, 1, 3]),
)
def test_image_folders_end_in_data_or_a_user_error(files, resolution, channels, tmp_path):
    folder = tmp_path / "images"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for i, (seed, size, mode, flip, suffix) in enumerate(files):
        data = bytearray(png_bytes(seed, size, mode))
        if 0 <= flip < len(data):
            data[flip] ^= 0xFF  # one flipped byte: header, chunk or CRC
        (folder / f"{i}{suffix}").write_bytes(bytes(data))
    success_or_user_error(load_image_folder, folder, resolution, channels)


# --- the checkpoint loader ---------------------------------------------------------------------------
MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / f"ganforge-pickle-ran-{os.getpid()}"


class Payload:
    """Unpickling this creates MARKER: the test fails if that file ever appears."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    from ganforge.training.loop import train

    run = tmp_path_factory.mktemp("fuzz") / "run"
    shared = [o for o in TINY if not o.startswith("model.")]
    train(load_config("quickstart", [*shared, *tiny_model("dcgan"), "train.steps=2", "train.ckpt_every=1"]), run)
    return run


FILES = ["model.safetensors", "optim.safetensors", "state.json"]


@FUZZ
@given(
    which=st.sampled_from(FILES),
    action=st.sampled_from(["flip", "truncate", "swap", "pickle", "empty", "json-pickle"]),
    where=st.floats(0, 1),
    every=st.booleans(),
)
def test_damaged_checkpoints_load_or_give_a_user_error(tiny_run, which, action, where, every, tmp_path):
    run = tmp_path / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(tiny_run, run)
    ckpts = sorted((run / "checkpoints").glob("step_*"))
    for ckpt in ckpts if every else ckpts[-1:]:
        path = ckpt / which
        data = bytearray(path.read_bytes())
        at = min(int(where * len(data)), max(len(data) - 1, 0))
        if action == "flip" and data:
            data[at] ^= 0x5A
        elif action == "truncate":
            data = data[:at]
        elif action == "swap":
            other = ckpt / FILES[(FILES.index(which) + 1) % len(FILES)]
            data = bytearray(other.read_bytes())
        elif action == "pickle":
            data = bytearray(pickle.dumps({"weights": Payload()}))
        elif action == "empty":
            data = bytearray()
        elif action == "json-pickle":  # a pickle spliced into the middle of the file
            data[at:at] = pickle.dumps(Payload())
        path.write_bytes(bytes(data))
    success_or_user_error(load_latest, run)
    model = success_or_user_error(ganforge.load, run)
    if model is not None:
        assert model.sample(2, seed=0).shape[0] == 2
    assert not MARKER.exists(), "a pickle in a checkpoint was executed"


def test_the_pickle_payload_would_run_if_unpickled(tmp_path):
    """The guard above is real: unpickling Payload does create the marker."""
    MARKER.unlink(missing_ok=True)
    pickle.loads(pickle.dumps(Payload()))
    assert MARKER.exists()
    MARKER.unlink()
