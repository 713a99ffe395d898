"""Where images come from, one batch at a time: a data set split (`mnist:test`), a folder of image
files, an `.npz` / `.npy` array, or a sampler callable. Every source yields float tensors
[B, C, H, W] in [-1, 1] (and integer labels [B] when it has them); none reads all images at once
(data set splits are the exception: the IDX reader returns the whole uint8 array, 47 MB at most).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.errors import UserError
from ganforge.io import IMAGE_SUFFIXES

Batch = tuple[Tensor, "Tensor | None"]  # images [B, C, H, W] in [-1, 1], labels [B] or None


def batch_seed(seed: int, index: int) -> int:
    """The seed a sampler gets for batch `index`: mixed from (seed, index) by numpy's SeedSequence,
    so runs with neighbouring seeds never share a batch (as `seed + index` would)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


class ImageSource:
    """Base: `name` (for messages and cache file names), `length` (images available),
    `batches(n, batch_size)`, and `content_hash()` (None when the content cannot be fingerprinted)."""

    name: str = "images"
    length: int = 0
    has_labels: bool = False

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        raise NotImplementedError

    def content_hash(self) -> str | None:
        return None


class ResizedSource(ImageSource):
    """Another source's images brought to `size` (H, W) by the anti-aliased bilinear resize that
    `data.resolution` applies to training data, so a reference goes through the same resampling
    as the images a model was trained on (and so generates)."""

    def __init__(self, inner: ImageSource, size: tuple[int, int]):
        self.inner, self.size = inner, (int(size[0]), int(size[1]))
        self.name, self.length, self.has_labels = inner.name, inner.length, inner.has_labels

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        from ganforge.data.base import fit_images

        for images, labels in self.inner.batches(n, batch_size):
            yield fit_images(images, self.size, None), labels

    def content_hash(self) -> str | None:
        inner = self.inner.content_hash()
        return None if inner is None else f"{inner}@{self.size[0]}x{self.size[1]}"


# --- arrays ---------------------------------------------------------------------------------------
def _layout(shape: tuple[int, ...], name: str) -> str:
    """'NHW', 'NCHW' or 'NHWC' for an image array shape; anything else is a UserError."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        if shape[1] in (1, 3):
            return "NCHW"
        if shape[3] in (1, 3):
            return "NHWC"
    raise UserError(
        f"{name}: image array of shape {tuple(shape)}; expected [N, H, W], [N, C, H, W] or "
        "[N, H, W, C] with 1 (grey) or 3 (RGB) channels"
    )


def _to_tensor(batch: np.ndarray, layout: str, name: str) -> Tensor:
    """A batch in `layout` -> float [B, C, H, W] in [-1, 1] (uint8 is mapped from [0, 255];
    floats are passed on as they are and range-checked by the extractor)."""
    x = torch.from_numpy(np.array(batch))  # a writable copy of this batch only
    if layout == "NHW":
        x = x.unsqueeze(1)
    elif layout == "NHWC":
        x = x.permute(0, 3, 1, 2)
    if x.dtype == torch.uint8:
        return x.float().div(127.5).sub(1)
    if not x.is_floating_point():
        raise UserError(f"{name}: images of dtype {x.dtype}; store uint8 in [0, 255] or floats in [-1, 1]")
    return x.float()


class ArraySource(ImageSource):
    """An in-memory or memory-mapped array (a data set split, an .npy file)."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray | None, name: str, digest: Callable[[], str] | None = None
    ):
        self.images, self.labels, self.name = images, labels, name
        self.layout = _layout(images.shape, name)
        self.length = len(images)
        self.has_labels = labels is not None
        self._digest = digest

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        for i in range(0, min(n, self.length), batch_size):
            j = min(i + batch_size, n, self.length)
            labels = None if self.labels is None else torch.from_numpy(np.asarray(self.labels[i:j], np.int64))
            yield _to_tensor(np.asarray(self.images[i:j]), self.layout, self.name), labels

    def content_hash(self) -> str | None:
        if self._digest is not None:
            return self._digest()
        h = hashlib.sha256(str((self.images.shape, self.images.dtype.str)).encode())
        h.update(np.ascontiguousarray(self.images).data)
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels, dtype=np.int64).data)
        return h.hexdigest()


def _file_digest(path: Path) -> Callable[[], str]:
    def digest() -> str:
        from ganforge.metrics.extractors import file_sha256

        return file_sha256(path)

    return digest


class NpzSource(ImageSource):
    """An .npz holding `images` (or `x`) and optionally `labels` (or `y`); the image array is read
    in row chunks straight from the (possibly compressed) zip member, never loaded whole."""

    def __init__(self, path: Path):
        self.path, self.name = path, path.name
        try:
            with zipfile.ZipFile(path) as zf:
                members = {Path(m).stem: m for m in zf.namelist() if m.endswith(".npy")}
                self.member = members.get("images") or members.get("x")
                if self.member is None:
                    raise UserError(
                        f"{path}: no 'images' or 'x' array (found: {', '.join(sorted(members)) or 'none'}); "
                        "save with np.savez(path, images=uint8 [N, H, W(, C)])"
                    )
                with zf.open(self.member) as f:
                    self.shape, self.fortran, self.dtype = self._header(f)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise UserError(f"{path}: not a readable .npz file ({e})") from None
        self.layout = _layout(self.shape, path.name)
        self.length = self.shape[0]
        lab_key = next((k for k in ("labels", "y") if k in members), None)
        self.labels = None
        if lab_key is not None:
            with np.load(path, allow_pickle=False) as data:
                self.labels = np.asarray(data[lab_key]).astype(np.int64).reshape(-1)
            if len(self.labels) != self.length:
                raise UserError(f"{path}: {self.length} images but {len(self.labels)} labels")
        self.has_labels = self.labels is not None

    def _header(self, f) -> tuple[tuple[int, ...], bool, np.dtype]:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise UserError(f"{self.path}: unsupported .npy format version {version}")
        if dtype.hasobject:
            raise UserError(f"{self.path}: object arrays are not read (they would need unpickling)")
        return shape, fortran, dtype

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        row = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        total = min(n, self.length)
        with zipfile.ZipFile(self.path) as zf, zf.open(self.member) as f:
            self._header(f)
            if self.fortran:  # column-major rows are not contiguous: read it whole (rare)
                whole = np.lib.format.read_array(f, allow_pickle=False)
            for i in range(0, total, batch_size):
                b = min(batch_size, total - i)
                if self.fortran:
                    arr = whole[i : i + b]
                else:
                    buf = f.read(b * row)
                    if len(buf) != b * row:
                        raise UserError(f"{self.path}: image array is truncated; save it again")
                    arr = np.frombuffer(buf, dtype=self.dtype).reshape((b,) + tuple(self.shape[1:]))
                labels = None if self.labels is None else torch.from_numpy(self.labels[i : i + b])
                yield _to_tensor(arr, self.layout, self.name), labels

    def content_hash(self) -> str:
        return _file_digest(self.path)()


# --- folders --------------------------------------------------------------------------------------
class FolderSource(ImageSource):
    """Image files under a folder (recursively, sorted by relative path). Every image takes the
    first image's kind: grey (PIL modes 1, L, LA, I, I;16, F) or RGB. Sizes must agree within a
    batch (extractors resize to their own input size)."""

    GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}

    def __init__(self, path: Path):
        self.path, self.name = path, path.name or str(path)
        self.files = sorted(
            (p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=lambda p: p.relative_to(path).as_posix(),
        )
        if not self.files:
            raise UserError(f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
        self.length = len(self.files)
        self._mode: str | None = None

    def _read(self, p: Path) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(p) as img:
                if self._mode is None:
                    self._mode = "L" if img.mode in self.GREY_MODES else "RGB"
                return np.asarray(img.convert(self._mode))
        except (UnidentifiedImageError, OSError) as e:
            raise UserError(f"{p}: not a readable image ({e}); remove or replace it") from None

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        files = self.files[:n]
        for i in range(0, len(files), batch_size):
            arrays = [self._read(p) for p in files[i : i + batch_size]]
            sizes = {a.shape[:2] for a in arrays}
            if len(sizes) > 1:
                first = files[i]
                odd = next(p for p, a in zip(files[i:], arrays) if a.shape[:2] != arrays[0].shape[:2])
                raise UserError(
                    f"{self.path}: images differ in size ({first.name} is {arrays[0].shape[1]}x"
                    f"{arrays[0].shape[0]}, {odd.name} is not); resize them to one size"
                )
            arr = np.stack(arrays)
            yield _to_tensor(arr, "NHW" if arr.ndim == 3 else "NHWC", self.name), None

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for p in self.files:
            h.update(p.relative_to(self.path).as_posix().encode() + b"\0")
            h.update(p.read_bytes())
        return h.hexdigest()


# --- samplers -------------------------------------------------------------------------------------
class SamplerSource(ImageSource):
    """`sample(n, seed) -> images [n, C, H, W] in [-1, 1]` or `(images, labels [n])`, called once per
    batch with seed `batch_seed(seed, batch_index)`: results depend on seed and batch size."""

    def __init__(self, sample: Callable, n: int, seed: int = 0, name: str = "generator"):
        self.sample, self.length, self.seed, self.name = sample, n, seed, name
        self.has_labels = False  # known only once the first batch arrives

    def batches(self, n: int, batch_size: int) -> Iterator[Batch]:
        total = min(n, self.length)
        for k, i in enumerate(range(0, total, batch_size)):
            b = min(batch_size, total - i)
            out = self.sample(b, batch_seed(self.seed, k))
            images, labels = out if isinstance(out, (tuple, list)) else (out, None)
            if not isinstance(images, Tensor) or len(images) != b:
                got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
                raise UserError(
                    f"{self.name}: sample({b}, seed) returned {got}; expected a tensor of "
                    f"{b} images [N, C, H, W] (or an (images, labels) pair)"
                )
            if labels is not None:
                labels = torch.as_tensor(labels).reshape(-1).long().cpu()
                if len(labels) != b:
                    raise UserError(f"{self.name}: sampler returned {len(labels)} labels for {b} images")
            yield images.detach(), labels


# --- specs ----------------------------------------------------------------------------------------
def is_run_dir(path) -> bool:
    """A run directory, or one checkpoint folder of a run (checkpoints/step_N: state.json + weights)."""
    p = Path(path)
    return p.is_dir() and ((p / "config.json").exists() or is_checkpoint_dir(p))


def is_checkpoint_dir(path) -> bool:
    p = Path(path)
    return (p / "state.json").is_file() and (p / "model.safetensors").is_file()


def open_images(spec: str | Path) -> ImageSource:
    """A reference or image source from a spec: 'mnist:test', 'fashion-mnist:train', a folder of
    images, an .npz (arrays `images` or `x`, optional `labels` or `y`) or an .npy file."""
    from ganforge.data.idx import SOURCES, load_idx_dataset

    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if path.suffix == ".npz" and path.is_file():
        return NpzSource(path)
    if path.suffix == ".npy" and path.is_file():
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UserError(f"{path}: not a readable .npy file ({e})") from None
        return ArraySource(arr, None, path.name, digest=_file_digest(path))
    m = re.fullmatch(r"([\w.-]+):(\w+)", text)
    if m and m.group(1) in SOURCES:
        name, split = m.groups()
        images, labels = load_idx_dataset(name, split)
        return ArraySource(images, labels, f"{name}-{split}")
    if text in SOURCES:
        raise UserError(f"'{text}': say which split, e.g. '{text}:test' or '{text}:train'")
    if path.suffix in (".npz", ".npy") or path.parent != Path(".") or not m:
        raise UserError(
            f"'{text}' not found: give a data set split ({', '.join(f'{s}:test' for s in SOURCES)}), "
            "a folder of images, or an .npz/.npy file that exists"
        )
    raise UserError(f"unknown data set '{m.group(1)}' in '{text}'; choose one of: {', '.join(SOURCES)}")
