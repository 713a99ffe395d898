"""Small builders several test folders share (conftest.py holds the fixtures)."""

import base64
import io

import httpx
import numpy as np
import torch
from PIL import Image

from ganforge.config import load_config
from ganforge.data import Data

from conftest import QUIET, TINY, tiny_model


def tiny_trainer_config(family: str, extra: list[str] = (), steps: int = 1):
    """A tiny config of any registered family, for in-memory data given to the Trainer."""
    shared = [o for o in TINY if not o.startswith(("data.", "model."))]
    return load_config(None, [*tiny_model(family), f"train.steps={steps}", *shared, *extra])


# --- class-conditional families (tests/models/test_conditional.py, tests/objectives/test_conditional.py) ---
CONDITIONAL_VARIANTS = {  # name -> overrides
    "cdcgan-cbn-projection": ["model.family=cdcgan"],
    "cdcgan-concat-concat": ["model.family=cdcgan", "model.cond_g=concat", "model.cond_d=concat"],
    "cdcgan-acgan": ["model.family=cdcgan", "model.cond_g=concat", "model.cond_d=acgan"],
    "cresnet-cbn-projection": ["model.family=cresnet"],
    "cresnet-acgan": ["model.family=cresnet", "model.cond_d=acgan"],
    "biggan": ["model.family=biggan", "model.g_sn=true", "loss.name=hinge", "loss.ortho=1e-4"],
}


def labelled_data(n=32, size=32, classes=10, seed=0) -> Data:
    """n random grey images [n, 1, size, size] in [-1, 1] with labels of `classes` named classes."""
    gen = torch.Generator().manual_seed(seed)
    return Data(
        torch.rand(n, 1, size, size, generator=gen) * 2 - 1,
        torch.randint(0, classes, (n,), generator=gen),
        tuple(f"c{i}" for i in range(classes)),
    )


def conditional_config(overrides, steps=1, extra=()):
    """TINY (the DCGAN-sized settings, no data.*) with `overrides`, for in-memory data."""
    return load_config(
        None, [*[o for o in TINY if not o.startswith("data.")], f"train.steps={steps}", *overrides, *extra]
    )


# --- StyleGAN2 (tests/models/test_stylegan.py, tests/objectives/test_stylegan.py, tests/inference/test_styles.py) ---
STYLEGAN_MODEL = [
    "model.family=stylegan",
    "model.z_dim=8",
    "model.w_dim=16",
    "model.mapping_layers=2",
    "model.g_width=4",
    "model.d_width=4",
    "model.style_max_channels=16",
]
STYLEGAN_TINY = [*STYLEGAN_MODEL, "train.batch_size=8", *QUIET, "train.ckpt_every=0", "train.num_samples=4"]


def style_data(n: int = 32, res: int = 16) -> Data:
    """n random grey images [n, 1, res, res] in [-1, 1] with ten classes named '0'..'9'."""
    gen = torch.Generator().manual_seed(0)
    return Data(
        torch.rand(n, 1, res, res, generator=gen) * 2 - 1,
        torch.randint(0, 10, (n,), generator=gen),
        tuple(str(i) for i in range(10)),
    )


# --- translation (tests/models/, objectives/, inference/test_translation.py, tests/data/test_paired.py) ---
TRANSLATION_TINY = [
    "model.g_width=4",
    "model.d_width=4",
    "train.batch_size=8",
    *QUIET,
    "data.split=test",
    "data.limit=64",
]


def tiny_translation(preset: str) -> list[str]:
    """TRANSLATION_TINY, plus one residual block for the CycleGAN generators (an option pix2pix does not have)."""
    return TRANSLATION_TINY + (["model.resnet_blocks=1"] if "cyclegan" in preset else [])


def write_png(path, array):
    """Save a uint8-convertible array [H, W] or [H, W, C] as a PNG, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


# --- the CLI in this process (no interpreter start-up): a CompletedProcess for conftest.assert_user_error ---
def cli_here(capsys, *argv: str):
    """`ganforge ARGV` run through ganforge.cli.main in this process, its exit code and output captured."""
    import subprocess

    from ganforge.cli import main

    capsys.readouterr()  # drop what earlier code printed
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(argv), code, out.out, out.err)


# --- the studio's API answers and uploads (tests/serve/) ---
def pixels(b64: str) -> np.ndarray:
    """A base64 PNG from the API as an array [H, W] or [H, W, C]."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))))


def png_bytes(size: int = 32, mode: str = "L", seed: int = 0) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3) if mode == "RGB" else (size, size))
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8), mode).save(buf, format="PNG")
    return buf.getvalue()


def refused(resp: httpx.Response, status: int, *fragments: str) -> str:
    """The response is `status` with a one-line JSON {"error": ...} holding every fragment."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json")
    message = resp.json()["error"]
    assert isinstance(message, str) and "\n" not in message and message
    for frag in fragments:
        assert frag in message, (frag, message)
    return message
