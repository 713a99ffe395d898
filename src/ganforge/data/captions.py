"""Captioned images and ordered attribute groups: the data of text-to-image (StackGAN) and of
conditional attribute editing (Age-cGAN).

No captioned or age-labelled image set can be downloaded here, so the built-in sets are made from
MNIST / Fashion-MNIST with conditions that can be *measured* on any image, real or generated:

    measure(images)             [N, H, W] in [0, 1] -> {"thickness", "slant", "size", "brightness", "x", "y"}
    mnist-captions              digits with captions "a thick, slanted seven" from the label and the
    fashion-captions            measured attributes, bucketed by the data's terciles; several phrasings
    mnist-thickness             the "age" of a digit: its stroke-thickness bucket (5 quantile buckets)
    captions                    user data: (image, caption) pairs in a CSV or JSON-lines file
    utkface                     user data: UTKFace's `[age]_[gender]_[race]_[date].jpg` names -> age groups

Captions travel as token ids: `Data.extra["tokens"]` [N, K, L] int64 (K captions per image, padded
with 0), and the vocabulary built from the training captions in `Data.meta["vocab"]`, which every
checkpoint records so that a loaded model reads text with the words it was trained on
(`Tokenizer.from_meta`). Words outside the vocabulary become <unk>, never an error.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.folders import list_images, read_image
from ganforge.data.idx import SOURCES, load_idx_dataset
from ganforge.errors import UserError
from ganforge.schema import DataConfig

PAD, UNK = "<pad>", "<unk>"
MAX_WORDS = 32  # the longest caption (in words) a data set may hold; longer text is refused, not cut
TEXT_LEN = 16  # words a model reads at least (a data set's longest caption if longer): room for users' text


# --- attribute measures ----------------------------------------------------------------------------
MEASURES = ("thickness", "slant", "size", "brightness", "x", "y")
INK = 0.5  # a pixel (in [0, 1], ink bright on dark) belongs to the stroke at or above this


def _as_unit(images) -> np.ndarray:
    """[N, H, W] or [N, 1, H, W], uint8, or floats in [0, 1] or [-1, 1] (a tensor from the data sets) ->
    float64 [N, H, W] in [0, 1]. A float input is taken as [-1, 1] when it has negative values."""
    a = images.detach().cpu().numpy() if isinstance(images, Tensor) else np.asarray(images)
    if a.ndim == 4:
        if a.shape[1] != 1:
            a = a.mean(1, keepdims=True)  # grey: the measures read one channel
        a = a[:, 0]
    if a.ndim == 2:
        a = a[None]
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    a = a.astype(np.float64)
    return (a + 1) / 2 if a.min() < 0 else a


def stroke_thickness(images) -> np.ndarray:
    """Mean stroke width in pixels [N]: ink area / skeleton length (a stroke of width w and length L
    covers about w L pixels and skeletonises to L). 0 for an empty image."""
    from skimage.morphology import skeletonize

    a = _as_unit(images) >= INK
    out = np.zeros(len(a))
    for i, mask in enumerate(a):
        area = mask.sum()
        if area:
            out[i] = area / max(1, skeletonize(mask).sum())
    return out


def moments(images) -> dict[str, np.ndarray]:
    """Intensity-weighted centre (x, y) and second central moments (mu20, mu11, mu02) per image [N]."""
    a = _as_unit(images)
    n, h, w = a.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    m = a.sum((1, 2)).clip(1e-9)
    cx, cy = (a * xs).sum((1, 2)) / m, (a * ys).sum((1, 2)) / m
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    return {
        "x": cx,
        "y": cy,
        "mu20": (a * dx * dx).sum((1, 2)) / m,
        "mu11": (a * dx * dy).sum((1, 2)) / m,
        "mu02": (a * dy * dy).sum((1, 2)) / m,
    }


def slant(images) -> np.ndarray:
    """Slant in degrees [N] from the second moments: the shear x = s * (-y) that best explains the
    covariance, s = -mu11 / mu02 (y grows downwards, so a stroke leaning right has mu11 < 0);
    atan(s) in degrees, positive leaning right, 0 upright (the deskewing of LeCun et al.)."""
    m = moments(images)
    return np.degrees(np.arctan(-m["mu11"] / m["mu02"].clip(1e-9)))


def ink_box(images) -> np.ndarray:
    """Bounding box of the ink [N, 4]: top, bottom, left, right (inclusive pixel indices); -1 when empty."""
    a = _as_unit(images) >= INK
    rows, cols = a.any(2), a.any(1)  # [N, H], [N, W]
    out = np.full((len(a), 4), -1, dtype=np.int64)
    for i in range(len(a)):
        r, c = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
        if len(r):
            out[i] = (r[0], r[-1], c[0], c[-1])
    return out


def size(images) -> np.ndarray:
    """sqrt(height * width) of the ink's bounding box, in pixels [N]; 0 for an empty image."""
    b = ink_box(images)
    h, w = b[:, 1] - b[:, 0] + 1, b[:, 3] - b[:, 2] + 1
    return np.where(b[:, 0] < 0, 0.0, np.sqrt(h * w))


def brightness(images, floor: float = 0.1) -> np.ndarray:
    """Mean intensity in [0, 1] of the object's pixels (those above `floor`), [N]; 0 for an empty image."""
    a = _as_unit(images)
    obj = a > floor
    return np.where(obj.any((1, 2)), (a * obj).sum((1, 2)) / obj.sum((1, 2)).clip(1), 0.0)


def measure(images) -> dict[str, np.ndarray]:
    """Every attribute of `images` (see `_as_unit` for the accepted forms): arrays [N] keyed by MEASURES;
    x, y: the intensity centre in pixels from the top-left corner."""
    m = moments(images)
    return {
        "thickness": stroke_thickness(images),
        "slant": slant(images),
        "size": size(images),
        "brightness": brightness(images),
        "x": m["x"],
        "y": m["y"],
    }


def measure_tensor(images) -> Tensor:
    """measure() as float32 [N, len(MEASURES)], columns in MEASURES order (what Data.extra["attrs"] holds)."""
    m = measure(images)
    return torch.from_numpy(np.stack([m[k] for k in MEASURES], 1)).float()


# --- words for the attributes ----------------------------------------------------------------------
@dataclass(frozen=True)
class Attribute:
    name: str  # a key of MEASURES
    low: str  # the word for the bottom tercile
    high: str  # the word for the top tercile


ATTRIBUTES = {
    "thickness": Attribute("thickness", "thin", "thick"),
    "slant": Attribute("slant", "upright", "slanted"),
    "size": Attribute("size", "small", "large"),
    "brightness": Attribute("brightness", "dark", "bright"),
}
# the attributes captions name, per built-in data set (MNIST's ink is saturated: no brightness words;
# clothes have no strokes to slant or thicken)
CAPTIONED = {"mnist": ("thickness", "slant", "size"), "fashion-mnist": ("size", "brightness")}
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PHRASINGS = (
    "a {adj} {noun}",
    "{noun}, {adj}",
    "a picture of a {adj} {noun}",
    "this {noun} is {adj}",
)


def nouns(name: str) -> tuple[str, ...]:
    """What a caption calls each class: number words for digits, the class name in lower case for clothes
    (its first name where the class has two: "t-shirt/top" -> "t-shirt")."""
    if name == "mnist":
        return NUMBERS
    return tuple(c.lower().split("/")[0] for c in SOURCES[name].classes)


def tercile_edges(values: np.ndarray, labels: np.ndarray, k: int) -> list[list[float]]:
    """Per class: [33rd, 50th, 67th percentile] of a measure over the training data, [k][3]. Per class,
    because "a thick one" means thick for a one (a one's bounding box is always narrow), and so the
    words stay independent of the class."""
    return [np.quantile(values[labels == c], [1 / 3, 0.5, 2 / 3]).tolist() for c in range(k)]


def join_adjectives(words: list[str]) -> str:
    return ", ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def make_captions(
    labels: np.ndarray,
    values: dict[str, np.ndarray],
    edges: dict[str, list[list[float]]],
    noun_of: tuple[str, ...],
    k: int,
    seed: int,
) -> list[list[str]]:
    """k captions per image: the first names every attribute outside its class's middle tercile (the
    fullest description), the others a seeded random subset of them in another phrasing; an attribute
    in the middle tercile is never named, so every named word holds clearly."""
    rng = np.random.default_rng(seed)
    out = []
    for i, label in enumerate(labels):
        words = []
        for name, per_class in edges.items():
            (lo, _, hi), v, attr = per_class[int(label)], values[name][i], ATTRIBUTES[name]
            if v <= lo:
                words.append(attr.low)
            elif v >= hi:
                words.append(attr.high)
        caps = []
        for j in range(k):
            chosen = words if j == 0 else [w for w in words if rng.random() < 0.6]
            form = PHRASINGS[0] if j == 0 else PHRASINGS[int(rng.integers(len(PHRASINGS)))]
            noun = noun_of[int(label)]
            text = form.format(adj=join_adjectives(chosen), noun=noun) if chosen else f"a {noun}"
            text = re.sub(r"\ba (?=[aeiou])", "an ", text)  # "an upright one", "an eight"
            caps.append(re.sub(r"\s+", " ", text).strip())
        out.append(caps)
    return out


def claims(text: str) -> dict[str, str]:
    """The attributes a caption names and which end: {"thickness": "high", "slant": "low", ...}."""
    words = set(split_words(text))
    out = {}
    for name, attr in ATTRIBUTES.items():
        if attr.high in words:
            out[name] = "high"
        elif attr.low in words:
            out[name] = "low"
    return out


def named_class(text: str, noun_of: tuple[str, ...]) -> int | None:
    """The class a caption names (the first class noun in it), or None."""
    words = split_words(text)
    for w in words:
        if w in noun_of:
            return noun_of.index(w)
    return None


# --- tokeniser -------------------------------------------------------------------------------------
def split_words(text: str) -> list[str]:
    """Lower-case words (letters, digits, inner hyphens); punctuation is dropped."""
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


class Tokenizer:
    """Word-level: ids 0 = <pad>, 1 = <unk>, then the vocabulary built from the training captions."""

    def __init__(self, words: list[str], max_len: int):
        self.vocab = [PAD, UNK] + [w for w in words if w not in (PAD, UNK)]
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.max_len = max_len

    @classmethod
    def build(cls, captions: list[list[str]]) -> Tokenizer:
        words, longest = set(), 1
        for caps in captions:
            for c in caps:
                ws = split_words(c)
                words.update(ws)
                longest = max(longest, len(ws))
        return cls(sorted(words), longest)

    @classmethod
    def from_meta(cls, meta: dict) -> Tokenizer:
        if "vocab" not in meta:
            raise UserError("this model was not trained on captions (its checkpoint records no vocabulary)")
        return cls(list(meta["vocab"]), int(meta["max_len"]))

    def meta(self) -> dict:
        return {"vocab": self.vocab, "max_len": self.max_len}

    def encode(self, text: str, where: str = "text") -> Tensor:
        """One caption -> ids [max_len] (int64, 0-padded). Unknown words -> <unk>; an empty text, or one
        longer than max_len words, is a UserError."""
        if not isinstance(text, str):
            raise UserError(f"{where}: give the caption as text, not {type(text).__name__}")
        words = split_words(text)
        if not words:
            raise UserError(f"{where} {text!r} has no words; describe the image, e.g. 'a thick seven'")
        if len(words) > self.max_len:
            raise UserError(f"{where} has {len(words)} words; this model reads at most {self.max_len}: shorten it")
        ids = [self.index.get(w, 1) for w in words]
        return torch.tensor(ids + [0] * (self.max_len - len(ids)), dtype=torch.int64)

    def encode_all(self, captions: list[list[str]]) -> Tensor:
        """[N] lists of K captions -> [N, K, max_len]."""
        return torch.stack([torch.stack([self.encode(c) for c in caps]) for caps in captions])

    def decode(self, ids: Tensor) -> str:
        return " ".join(self.vocab[int(i)] for i in ids if int(i) != 0)

    def unknown(self, text: str) -> list[str]:
        """The words of `text` this vocabulary does not have (they read as <unk>)."""
        return [w for w in split_words(text) if w not in self.index]


# --- built-in captioned data sets ------------------------------------------------------------------
CAPTIONS_PER_IMAGE = 4


@functools.lru_cache(maxsize=4)
def measured_split(name: str, split: str, root: str | None, download: bool = False) -> tuple:
    """(images uint8 [N, 28, 28], labels [N], measure(images)) of an IDX split, kept for the process:
    measuring MNIST's 60,000 digits takes some seconds (the skeletons), and a test split's captions
    need the training split's edges too."""
    images, labels = load_idx_dataset(name, split, root, download)
    return images, labels, measure(images)


def _train_edges(name: str, cfg: DataConfig, attrs: tuple[str, ...]) -> dict:
    """Tercile edges from the *training* split, so a test caption means what a training caption means."""
    _, labels, values = measured_split(name, "train", cfg.root, cfg.download)
    return {a: tercile_edges(values[a], labels, len(SOURCES[name].classes)) for a in attrs}


def captioned_idx(name: str, cfg: DataConfig) -> Data:
    images, labels, values = measured_split(name, cfg.split, cfg.root, cfg.download)  # 28x28 originals
    attrs = CAPTIONED[name]
    edges = _train_edges(name, cfg, attrs)
    noun_of = nouns(name)
    caps = make_captions(labels, values, edges, noun_of, CAPTIONS_PER_IMAGE, seed=0)
    tok = Tokenizer.build(caps)  # the vocabulary of this split's captions
    tok.max_len = max(tok.max_len, TEXT_LEN)
    x = fit_images(uint8_to_float(images), cfg.resolution, cfg.channels)
    extra = {
        "tokens": tok.encode_all(caps),  # [N, K, L]
        "attrs": torch.from_numpy(np.stack([values[k] for k in MEASURES], 1)).float(),  # [N, len(MEASURES)]
    }
    meta = tok.meta() | {
        "captioned": name,
        "nouns": list(noun_of),
        "edges": edges,  # {attribute: [per class [q33, q50, q67]]}
    }
    return Data(x, torch.from_numpy(labels), SOURCES[name].classes, "image", extra, meta)


def _captioned_builder(name: str):
    def build(cfg: DataConfig) -> Data:
        return captioned_idx(name, cfg)

    build.__doc__ = (
        f"{name} with {CAPTIONS_PER_IMAGE} generated captions per image (label + measured "
        f"{', '.join(CAPTIONED[name])}), for text-to-image"
    )
    return build


def caption_texts(data: Data, which: int = 0) -> list[str]:
    """Caption `which` of every example of a captioned Data, as text."""
    tok = Tokenizer.from_meta(data.meta)
    return [tok.decode(t[which]) for t in data.extra["tokens"]]


# --- user captions: a CSV or JSON-lines file beside an image folder --------------------------------
def read_caption_file(path: Path) -> list[tuple[int, str, str]]:
    """(line number, image path as written, caption) rows of a .csv (header with `image` and `caption`
    columns) or .jsonl file (objects with "image" and "caption" or "captions": [...])."""
    if not path.is_file():
        raise UserError(f"caption file {path} does not exist; set data.path to a .csv or .jsonl file")
    rows: list[tuple[int, str, str]] = []
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not {"image", "caption"} <= set(reader.fieldnames):
            raise UserError(f"{path}: the first line must name the columns 'image' and 'caption'")
        for i, r in enumerate(reader, start=2):
            rows.append((i, (r["image"] or "").strip(), (r["caption"] or "").strip()))
    elif suffix in (".jsonl", ".json"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise UserError(f"{path} line {i}: not JSON ({e.msg}); one object per line") from None
            if not isinstance(obj, dict) or "image" not in obj or not ("caption" in obj or "captions" in obj):
                raise UserError(f'{path} line {i}: give {{"image": ..., "caption": ...}} (or "captions": [...])')
            caps = obj["captions"] if "captions" in obj else [obj["caption"]]
            if not isinstance(caps, list):
                raise UserError(f'{path} line {i}: "captions" must be a list of texts')
            rows += [(i, str(obj["image"]).strip(), str(c).strip()) for c in caps]
    else:
        raise UserError(f"{path}: give captions as a .csv or .jsonl file")
    if not rows:
        raise UserError(f"{path} holds no captions")
    return rows


def load_captions(path: Path, root: Path | None, resolution: int | None, channels: int | None) -> Data:
    """(image, caption) pairs -> Data with extra["tokens"] [N, K, L] (K = the most captions of any image;
    an image with fewer repeats its own). Image paths are relative to the caption file's folder, or
    to `root` when given. A caption file naming a missing image, or an empty / overlong caption, is a
    UserError naming the line."""
    rows = read_caption_file(path)
    base = root if root is not None else path.parent
    by_image: dict[str, list[str]] = {}
    for line, name, caption in rows:
        where = f"{path} line {line}"
        if not name:
            raise UserError(f"{where}: no image named; every row needs an image path")
        words = split_words(caption)
        if not words:
            raise UserError(f"{where}: the caption of {name} is empty; give it words or remove the line")
        if len(words) > MAX_WORDS:
            raise UserError(f"{where}: a caption of {len(words)} words; shorten it to at most {MAX_WORDS}")
        file = base / name
        if not file.is_file():
            raise UserError(f"{where} names {file}, which does not exist; fix the path or remove the line")
        by_image.setdefault(name, []).append(caption)
    names = list(by_image)
    if channels is None:
        channels = read_image(base / names[0], None, None).shape[2]
    arrays = [read_image(base / n, resolution, channels) for n in names]
    if len({a.shape for a in arrays}) > 1:
        raise UserError(f"{path}: the images have different sizes; set data.resolution")
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)  # [N, C, H, W]
    k = max(len(c) for c in by_image.values())
    caps = [[by_image[n][j % len(by_image[n])] for j in range(k)] for n in names]
    tok = Tokenizer.build(caps)
    tok.max_len = max(tok.max_len, TEXT_LEN)
    meta = tok.meta() | {"captioned": "captions"}
    return Data(x, None, (), "image", {"tokens": tok.encode_all(caps)}, meta)


# --- ordered attribute groups: Age-cGAN's data ------------------------------------------------------
THICKNESS_GROUPS = ("thinnest", "thin", "medium", "thick", "thickest")


def quantile_buckets(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bucket index of each value: the number of edges it is >= to ([N] int64, 0 .. len(edges))."""
    return np.searchsorted(np.asarray(edges), values, side="right").astype(np.int64)


def thickness_edges(values: np.ndarray, groups: int = len(THICKNESS_GROUPS)) -> np.ndarray:
    """The groups - 1 inner quantiles of the measured thickness (equal-count buckets)."""
    return np.quantile(values, np.arange(1, groups) / groups)


def mnist_thickness(cfg: DataConfig) -> Data:
    """MNIST whose "age" is the stroke-thickness bucket: y = bucket (0 thinnest .. 4 thickest, by the
    training split's quintiles), extra["digit"] the digit, extra["thickness"] the measure."""
    images, labels, values = measured_split("mnist", cfg.split, cfg.root, cfg.download)
    t = values["thickness"]
    edges = thickness_edges(measured_split("mnist", "train", cfg.root, cfg.download)[2]["thickness"])
    y = torch.from_numpy(quantile_buckets(t, edges))
    x = fit_images(uint8_to_float(images), cfg.resolution, cfg.channels)
    extra = {"digit": torch.from_numpy(labels.astype(np.int64)), "thickness": torch.from_numpy(t).float()}
    meta = {"groups": list(THICKNESS_GROUPS), "attribute": "thickness", "edges": edges.tolist()}
    return Data(x, y, THICKNESS_GROUPS, "image", extra, meta)


# --- UTKFace ----------------------------------------------------------------------------------------
UTK_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_(\d{8,17})\.jpg(\.chip\.jpg)?$", re.IGNORECASE)
DEFAULT_AGE_EDGES = (19, 30, 40, 50, 60)  # Age-cGAN's groups: 0-18, 19-29, 30-39, 40-49, 50-59, 60+


@dataclass(frozen=True)
class FaceName:
    age: int
    gender: int  # 0 male, 1 female (UTKFace's convention)
    race: int  # 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others


def parse_utkface(name: str) -> FaceName:
    """`[age]_[gender]_[race]_[date&time].jpg` -> FaceName; ValueError naming what is wrong."""
    m = UTK_NAME.match(name)
    if m is None:
        raise ValueError(f"{name!r} is not [age]_[gender 0|1]_[race 0-4]_[date].jpg")
    age = int(m[1])
    if not 0 <= age <= 120:
        raise ValueError(f"{name!r}: age {age} is out of 0..120")
    return FaceName(age, int(m[2]), int(m[3]))


def age_groups(edges) -> tuple[str, ...]:
    """Names of the groups cut at `edges` (the first age of each group after the first): "0-18", ..., "60+"."""
    edges = list(edges)
    lows = [0, *edges]
    return tuple(f"{lo}-{hi - 1}" for lo, hi in zip(lows, edges)) + (f"{lows[-1]}+",)


def check_age_edges(edges) -> list[int]:
    edges = list(DEFAULT_AGE_EDGES if edges is None else edges)
    if not edges or any(int(e) != e or e < 1 for e in edges) or sorted(set(edges)) != edges:
        raise UserError(f"data.age_edges={edges}: give increasing whole ages, e.g. [19, 30, 40, 50, 60]")
    return [int(e) for e in edges]


def load_utkface(folder: Path, edges, resolution: int | None, channels: int | None) -> Data:
    """Face images named by UTKFace's convention -> y = age group (by `edges`); extra["age"], "gender",
    "race". Files whose names do not parse are skipped, and the count is reported in a warning."""
    edges = check_age_edges(edges)
    good, skipped = [], []
    for p in list_images(folder):
        try:
            good.append((p, parse_utkface(p.name)))
        except ValueError:
            skipped.append(p.name)
    if skipped:
        warnings.warn(
            f"{folder}: skipped {len(skipped)} file(s) not named [age]_[gender]_[race]_[date].jpg (e.g. {skipped[0]})",
            stacklevel=2,
        )
    if not good:
        raise UserError(f"{folder}: no file is named [age]_[gender]_[race]_[date].jpg (UTKFace's convention)")
    arrays = [read_image(p, resolution, channels or 3) for p, _ in good]  # an unreadable file: UserError
    if len({a.shape for a in arrays}) > 1:
        raise UserError(f"{folder}: the faces have different sizes; set data.resolution")
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    ages = np.array([f.age for _, f in good])
    y = torch.from_numpy(quantile_buckets(ages, edges))
    extra = {
        "age": torch.from_numpy(ages.astype(np.int64)),
        "gender": torch.tensor([f.gender for _, f in good]),
        "race": torch.tensor([f.race for _, f in good]),
    }
    names = age_groups(edges)
    return Data(x, y, names, "image", extra, {"groups": list(names), "attribute": "age", "edges": edges})


# --- scoring generated images against their captions -------------------------------------------------
def attribute_agreement(images: Tensor, texts: list[str], meta: dict, size: int = 28) -> dict[str, list[int]]:
    """Whether each attribute a caption names holds on the image drawn for it: {attribute: [agree, named]}.
    Images [N, C, H, W] in [-1, 1] are resized to the measured originals' `size` first; an attribute holds
    when its measure lies on the named side of the named class's training median (meta["edges"], as
    the captions' terciles were cut). Captions naming no class are not scored."""
    x = fit_images(images.float().cpu(), size, 1)
    values = measure(x)
    noun_of = tuple(meta["nouns"])
    out: dict[str, list[int]] = {a: [0, 0] for a in meta["edges"]}
    for i, text in enumerate(texts):
        c = named_class(text, noun_of)
        if c is None:
            continue
        for attr, side in claims(text).items():
            if attr not in meta["edges"]:
                continue
            median = meta["edges"][attr][c][1]
            out[attr][0] += int(values[attr][i] > median if side == "high" else values[attr][i] < median)
            out[attr][1] += 1
    return out
