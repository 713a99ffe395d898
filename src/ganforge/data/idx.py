"""IDX files (the MNIST family's format), read from a local folder or downloaded with checksums.

Where the files come from, in order: an explicit `root`, the `GANFORGE_DATA` environment variable
(a folder holding `mnist/`, `fashion-mnist/`, ...), the copy embedded in the package (MNIST test
split only), then a download when `download=True`. Offline with none of these: one clear error.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganforge.errors import UserError
from ganforge.io import atomic_write

EMBEDDED = Path(__file__).parent / "embedded"


# md5 sums of the canonical .gz files as the usual mirrors serve them (the same values
# torchvision checks). Local copies are validated by parsing instead: repacked copies
# (for example the npm packages) hold the same arrays in differently compressed bytes.
@dataclass(frozen=True)
class IdxSource:
    mirrors: tuple[str, ...]
    md5: dict[str, str]
    classes: tuple[str, ...]


SOURCES: dict[str, IdxSource] = {
    "mnist": IdxSource(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        classes=tuple(str(i) for i in range(10)),
    ),
    "fashion-mnist": IdxSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        classes=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
}

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (gzipped or not) into an array; a damaged file is a UserError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as e:
        raise UserError(f"{path}: not a readable gzip file ({e}); delete it and fetch it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number); delete it and fetch it again")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{path}: IDX header is truncated; delete it and fetch it again")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(
            f"{path}: IDX body holds {len(raw) - header} bytes, header promises {expected}; "
            "the file is truncated or damaged, fetch it again"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, path: Path, md5: str) -> None:
    urllib.request.urlretrieve(url, path)
    if _md5(path) != md5:
        raise OSError(f"checksum mismatch for {url}")


def download(name: str, folder: Path) -> None:
    """Fetch a data set's four files into `folder`, verifying each md5 before it is kept."""
    src = SOURCES[name]
    folder.mkdir(parents=True, exist_ok=True)
    for fname, md5 in src.md5.items():
        dest = folder / fname
        if dest.exists():
            continue
        last_error = None
        for mirror in src.mirrors:
            try:
                atomic_write(dest, lambda tmp, url=mirror + fname, md5=md5: _fetch(url, tmp, md5))
                break
            except OSError as e:
                last_error = e
        else:
            raise UserError(
                f"could not download {fname} for {name} ({last_error}); put the four IDX "
                f"files in {folder} by hand, or set GANFORGE_DATA to a folder holding {name}/"
            )


def find_folder(name: str, split: str, root: str | None, download_ok: bool) -> Path:
    """The folder holding `name`'s IDX files for `split` (see the module docstring for the order)."""
    if name not in SOURCES:
        raise UserError(f"unknown IDX data set '{name}'; choose one of: {', '.join(SOURCES)}")
    prefix = "train" if split == "train" else "t10k"
    wanted = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
    candidates: list[Path] = []
    base = root or os.environ.get("GANFORGE_DATA")
    if base:
        base_path = Path(base).expanduser()
        if not base_path.is_dir():
            where = "data.root" if root else "GANFORGE_DATA"
            raise UserError(
                f"data folder {base_path} (from {where}) does not exist; "
                "point it at a folder holding mnist/ and fashion-mnist/"
            )
        candidates += [base_path / name, base_path]
    candidates.append(EMBEDDED / name)
    for folder in candidates:
        if all((folder / w).exists() for w in wanted):
            return folder
    target = Path(base).expanduser() / name if base else Path.home() / ".cache" / "ganforge" / name
    if download_ok:
        download(name, target)
        return target
    raise UserError(
        f"{name} ({split}) not found: put {wanted[0]} and {wanted[1]} in {target} "
        "(or set GANFORGE_DATA to the folder above it), or pass data.download=true when online"
    )


def load_idx_dataset(
    name: str, split: str = "train", root: str | None = None, download_ok: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, H, W], labels int64 [N]) of an IDX data set's split ('train' or 'test')."""
    if split not in ("train", "test"):
        raise UserError(f"unknown split '{split}' for {name}; choose 'train' or 'test'")
    folder = find_folder(name, split, root, download_ok)
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(
            f"{folder}: images {images.shape} and labels {labels.shape} do not match; fetch the files again"
        )
    return images, labels
