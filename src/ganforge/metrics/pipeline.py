"""Streaming evaluation: images -> extractor -> running statistics, batch by batch; reference
statistics cached on disk; then each requested metric from the two sides' statistics.

    evaluate(model.sample, ref="mnist:test", metrics=("fid", "kid"), n=10000) -> {"fid": ..., ...}

Per side, what is kept: the feature mean and covariance (running, float64), up to `max_features`
feature rows (a uniform random subset, for KID / precision-recall / density-coverage), per-class
running statistics when labels are known and intra-class FID is asked for, per-split Inception
Score sums and the predicted-class histogram when the extractor is a classifier.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import UserError
from ganforge.io import atomic_write
from ganforge.metrics.classifier import InceptionScoreAccumulator, class_kl
from ganforge.metrics.extractors import FeatureExtractor, cache_dir, get_extractor
from ganforge.metrics.fid import RunningGaussian, frechet_distance, intra_class_fid_from_stats
from ganforge.metrics.manifold import prdc
from ganforge.metrics.mmd import kid
from ganforge.metrics.sources import ImageSource, ResizedSource, SamplerSource, is_run_dir, open_images
from ganforge.registry import Registry
from ganforge.zoo import is_zoo

CACHE_FORMAT = "1"  # bump when the cached arrays change meaning


@dataclass
class Collected:
    """What one side (generated or reference) contributes to the metrics."""

    n: int
    mu: np.ndarray  # [D] float64
    sigma: np.ndarray  # [D, D] float64, unbiased
    features: np.ndarray  # [m, D] float32, m = min(n, max_features)
    class_stats: dict[int, tuple[np.ndarray, np.ndarray]] | None = None  # {label: (mu, sigma)}
    pred_counts: np.ndarray | None = None  # [classes] arg-max histogram (classifiers only)
    inception_score: tuple[float, float] | None = None
    label_accuracy: float | None = None  # classifier agrees with the given label
    has_labels: bool = False
    image_size: tuple[int, int] | None = None  # (H, W) of the images as they came, before the extractor's resize
    memo: dict = field(default_factory=dict, repr=False)  # results shared between metrics


@dataclass(frozen=True)
class Options:
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    is_splits: int = 10
    k_pr: int = 3
    k_dc: int = 5
    seed: int = 0


@dataclass(frozen=True)
class Metric:
    """A metric over two `Collected` sides. needs: 'logits' (a classifier extractor), 'labels'
    (generated labels), 'ref_labels' (reference labels), 'classes' (per-class statistics)."""

    outputs: tuple[str, ...]
    compute: Callable[[Collected, Collected, Options], dict[str, float]]
    needs: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""


METRICS: Registry[Metric] = Registry("metric")


def _kid(g: Collected, r: Collected, o: Options) -> dict[str, float]:
    mean, std = kid(g.features, r.features, o.kid_subsets, o.kid_subset_size, seed=o.seed)
    return {"kid": mean, "kid_std": std}


def _prdc(g: Collected, r: Collected, o: Options) -> dict[str, float]:
    """precision/recall and density/coverage share one pass over the distances."""
    if "prdc" not in g.memo:
        g.memo["prdc"] = prdc(r.features, g.features, k_pr=o.k_pr, k_dc=o.k_dc)
    return g.memo["prdc"]


def _pr(g: Collected, r: Collected, o: Options) -> dict[str, float]:
    out = _prdc(g, r, o)
    return {"precision": out["precision"], "recall": out["recall"]}


def _dc(g: Collected, r: Collected, o: Options) -> dict[str, float]:
    out = _prdc(g, r, o)
    return {"density": out["density"], "coverage": out["coverage"]}


def _modes(g: Collected, r: Collected, o: Options) -> dict[str, float]:
    return {"modes": float((g.pred_counts > 0).sum()), "class_kl": class_kl(g.pred_counts, r.pred_counts)}


for _name, _metric in {
    "fid": Metric(
        ("fid",),
        lambda g, r, o: {"fid": frechet_distance(g.mu, g.sigma, r.mu, r.sigma)},
        doc="Frechet distance between feature Gaussians",
    ),
    "kid": Metric(("kid", "kid_std"), _kid, doc="Kernel Inception Distance: unbiased MMD^2, cubic kernel, subsets"),
    "is": Metric(
        ("is", "is_std"),
        lambda g, r, o: dict(zip(("is", "is_std"), g.inception_score)),
        frozenset({"logits"}),
        doc="Inception Score of the generated samples (10 splits)",
    ),
    "pr": Metric(("precision", "recall"), _pr, doc="Improved precision and recall (k=3)"),
    "dc": Metric(("density", "coverage"), _dc, doc="Density and coverage (k=5)"),
    "ifid": Metric(
        ("ifid",),
        lambda g, r, o: {"ifid": intra_class_fid_from_stats(g.class_stats, r.class_stats)},
        frozenset({"labels", "ref_labels", "classes"}),
        doc="Intra-class FID (mean over classes)",
    ),
    "modes": Metric(
        ("modes", "class_kl"),
        _modes,
        frozenset({"logits"}),
        doc="Classes predicted at least once, and KL of the class histogram to the reference's",
    ),
    "acc": Metric(
        ("acc",),
        lambda g, r, o: {"acc": g.label_accuracy},
        frozenset({"logits", "labels"}),
        doc="Fraction of samples the classifier assigns to their conditioning label",
    ),
}.items():
    METRICS.register(_name, _metric, doc=_metric.doc)


# --- collection -----------------------------------------------------------------------------------
def collect(
    source: ImageSource,
    extractor: FeatureExtractor,
    n: int | None = None,
    *,
    batch_size: int = 250,
    max_features: int = 10000,
    classes: bool = False,
    seed: int = 0,
    is_splits: int = 10,
    progress: bool = True,
    desc: str = "",
) -> Collected:
    """Stream `n` images (None: all) of `source` through `extractor` into a `Collected`."""
    from tqdm.auto import tqdm

    total = source.length if n is None else min(n, source.length)
    if total < 2:
        raise UserError(f"{source.name}: {total} images; at least 2 are needed")
    # rows kept for KID / PR / DC: a uniform random subset fixed in advance, so that the kept rows
    # do not depend on the order of the source (a folder sorted by class, say)
    keep = np.ones(total, bool)
    if total > max_features:
        keep[:] = False
        keep[np.random.default_rng(seed).choice(total, max_features, replace=False)] = True
    gauss: RunningGaussian | None = None
    per_class: dict[int, RunningGaussian] = {}
    kept: list[np.ndarray] = []
    isc = InceptionScoreAccumulator(total, is_splits) if total >= is_splits else None
    pred_counts: np.ndarray | None = None
    correct, labelled, has_logits, seen, image_size = 0, 0, None, 0, None
    bar = tqdm(total=total, unit="img", desc=desc or source.name, disable=not progress, leave=False)
    try:
        for images, labels in source.batches(total, batch_size):
            image_size = image_size or (int(images.shape[-2]), int(images.shape[-1]))
            out = extractor(images)
            f = out.features.double().numpy()  # [B, D]
            if gauss is None:
                gauss = RunningGaussian(f.shape[1])
                has_logits = out.logits is not None
            gauss.update(f)
            kept.append(f[keep[seen : seen + len(f)]].astype(np.float32))
            if out.logits is not None:
                probs = torch.softmax(out.logits.double(), dim=1).numpy()  # [B, classes]
                if isc is not None:
                    isc.update(probs)
                pred = probs.argmax(axis=1)
                counts = np.bincount(pred, minlength=probs.shape[1])
                pred_counts = counts if pred_counts is None else pred_counts + counts
                if labels is not None:
                    correct += int((pred == labels.numpy()).sum())
                    labelled += len(pred)
            if labels is not None and classes:
                y = labels.numpy()
                for c in np.unique(y):
                    per_class.setdefault(int(c), RunningGaussian(f.shape[1])).update(f[y == c])
            seen += len(f)
            bar.update(len(f))
    finally:
        bar.close()
    if seen < total:
        raise UserError(f"{source.name}: produced {seen} images, expected {total}")
    mu, sigma = gauss.stats(source.name)
    return Collected(
        n=seen,
        mu=mu,
        sigma=sigma,
        features=np.concatenate(kept),
        class_stats={c: g.stats(f"{source.name} class {c}") for c, g in sorted(per_class.items())}
        if per_class
        else None,
        pred_counts=pred_counts,
        inception_score=isc.result() if (has_logits and isc is not None) else None,
        label_accuracy=correct / labelled if labelled else None,
        has_labels=labelled > 0 or bool(per_class),
        image_size=image_size,
    )


# --- reference cache ------------------------------------------------------------------------------
def stats_cache_dir() -> Path:
    """$GANFORGE_CACHE/stats, else ~/.cache/ganforge/stats."""
    return cache_dir() / "stats"


def _save(path: Path, c: Collected) -> None:
    arrays = {
        "n": np.int64(c.n),
        "mu": c.mu,
        "sigma": c.sigma,
        "features": c.features,
        "has_labels": np.bool_(c.has_labels),
    }
    if c.class_stats:
        keys = sorted(c.class_stats)
        arrays |= {
            "class_labels": np.array(keys),
            "class_mu": np.stack([c.class_stats[k][0] for k in keys]),
            "class_sigma": np.stack([c.class_stats[k][1] for k in keys]),
        }
    if c.pred_counts is not None:
        arrays["pred_counts"] = c.pred_counts
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))


def _load(path: Path) -> Collected:
    with np.load(path, allow_pickle=False) as z:
        class_stats = None
        if "class_labels" in z:
            class_stats = {int(k): (m, s) for k, m, s in zip(z["class_labels"], z["class_mu"], z["class_sigma"])}
        return Collected(
            n=int(z["n"]),
            mu=z["mu"],
            sigma=z["sigma"],
            features=z["features"],
            class_stats=class_stats,
            pred_counts=z["pred_counts"] if "pred_counts" in z else None,
            has_labels=bool(z["has_labels"]),
        )


def reference_stats(
    ref: str | Path | ImageSource,
    extractor: FeatureExtractor,
    *,
    batch_size: int = 250,
    max_features: int = 10000,
    classes: bool = False,
    cache: bool = True,
    progress: bool = True,
    size: tuple[int, int] | None = None,
) -> Collected:
    """Statistics of a whole reference (every image of it), from the cache when they were computed
    before for the same content, extractor (weights and preprocessing) and options.

    size: (H, W) to bring the reference images to first (`ResizedSource`), as `evaluate` does with
    the generated images' size; None: as they are."""
    source = ref if isinstance(ref, ImageSource) else open_images(ref)
    if size is not None:
        source = ResizedSource(source, size)
    path = None
    if cache and extractor.cache_id is not None:
        content = source.content_hash()
        if content is not None:
            key = json.dumps([CACHE_FORMAT, content, extractor.cache_id, max_features, classes and source.has_labels])
            digest = hashlib.sha256(key.encode()).hexdigest()[:20]
            slug = re.sub(r"[^\w.-]+", "_", f"{source.name}-{extractor.name}")
            path = stats_cache_dir() / f"{slug}-{digest}.npz"
            if path.is_file():
                try:
                    return _load(path)
                except (OSError, ValueError, KeyError, EOFError) as e:
                    warnings.warn(f"reference cache {path} is unreadable ({e}); recomputing it", stacklevel=2)
    stats = collect(
        source,
        extractor,
        None,
        batch_size=batch_size,
        max_features=max_features,
        classes=classes,
        progress=progress,
        desc=f"reference {source.name}",
    )
    if path is not None:
        _save(path, stats)
    return stats


# --- entry point ----------------------------------------------------------------------------------
def parse_metrics(metrics: str | Iterable[str]) -> list[str]:
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    if not names:
        raise UserError(f"no metrics given; choose from: {', '.join(METRICS.keys())}")
    for name in names:
        METRICS.get(name)  # unknown -> UserError naming the nearest
    return list(dict.fromkeys(names))


def model_sampler(model) -> Callable:
    """A sampler for a loaded model (`ganforge.load`, `ganforge.inference.load_model`): its images,
    and for a class-conditional model its labels too, balanced (label of row i = i % classes; see
    `ganforge.inference.sampling.sampler`). Any other object: its `sample(n, seed=)`."""
    from ganforge.inference.model import LoadedModel
    from ganforge.inference.sampling import sampler

    if isinstance(model, LoadedModel):
        return sampler(model)
    return lambda b, s: model.sample(b, seed=s)


def open_source(source, n: int, seed: int = 0, device: str = "cpu") -> ImageSource:
    """A sampler callable, an ImageSource, a run directory or "zoo:NAME" (loaded by the inference
    layer and sampled through `model_sampler`), or an image folder / .npz / .npy path."""
    if isinstance(source, ImageSource):
        return source
    if callable(source):
        return SamplerSource(source, n, seed, name=getattr(source, "__qualname__", "sampler"))
    if isinstance(source, (str, Path)):
        if is_run_dir(source) or is_zoo(source):
            from ganforge.inference.model import load_model

            name = str(source) if is_zoo(source) else Path(source).name
            return SamplerSource(model_sampler(load_model(source, device=device)), n, seed, name=name)
        text = str(source)
        if not Path(text).expanduser().exists():
            raise UserError(f"{text}: no such run directory, image folder or .npz/.npy file")
        return open_images(text)
    raise UserError(f"source must be a sampler callable, a run directory or an image path, got {type(source).__name__}")


def evaluate(
    source,
    ref: str | Path | ImageSource = "mnist:test",
    metrics: str | Iterable[str] = ("fid", "kid", "is", "pr", "dc"),
    n: int = 10000,
    extractor: str | FeatureExtractor | torch.nn.Module = "lenet-mnist",
    batch_size: int = 250,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    *,
    extractor_weights: str | Path | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    max_features: int = 10000,
    cache: bool = True,
    match_size: bool = True,
) -> dict[str, float]:
    """Evaluate `n` generated images against a reference; returns {output name: value}.

    source: `sample(n, seed) -> [n, C, H, W] in [-1, 1]` (or `(images, labels)` for intra-class
        FID and class accuracy), called per batch with seed `batch_seed(seed, batch_index)`;
        or a run directory, an image folder, an .npz or .npy path (its first n images).
    ref: 'mnist:test', 'fashion-mnist:train', ..., a folder, .npz or .npy: all of its images.
    metrics: names from METRICS (fid, kid, is, pr, dc, ifid, modes, acc), or 'fid,kid'.
    extractor: a registered name, a FeatureExtractor, or any nn.Module (see extractors.py);
        extractor_weights overrides its weight file (inception-fid: pt_inception-2015-12-05-*.pth).
    max_features: feature rows kept per side for KID, precision/recall, density/coverage.
    match_size: bring the reference images to the generated images' height and width (anti-aliased
        bilinear, as data.resolution resizes training data) before feature extraction; False: each
        side as it is, resized only by the extractor.
    Outputs: fid, kid + kid_std, is + is_std, precision + recall, density + coverage, ifid,
    modes + class_kl, acc."""
    names = parse_metrics(metrics)
    for what, value, low in (("n", n, 2), ("batch_size", batch_size, 1), ("max_features", max_features, 2)):
        if not isinstance(value, int) or value < low:
            raise UserError(f"{what} must be an integer >= {low}, got {value!r}")
    needs = set().union(*(METRICS.get(m).needs for m in names))
    if "kid" in names and min(n, max_features) < kid_subset_size:
        raise UserError(
            f"KID uses subsets of {kid_subset_size} samples but only {min(n, max_features)} would be "
            f"kept; evaluate at least {kid_subset_size} samples (--n) or lower the KID subset size"
        )
    opts = Options(kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed)
    ext = get_extractor(extractor, device=device, weights=extractor_weights)
    src = open_source(source, n, seed, device)
    if src.length < n:
        warnings.warn(f"{src.name} holds {src.length} images; evaluating {src.length} instead of {n}", stacklevel=2)
    classes = "classes" in needs

    # the reference's checks come before sampling, from its source: the rows it keeps and its labels
    ref_src = ref if isinstance(ref, ImageSource) else open_images(ref)
    if "kid" in names and min(ref_src.length, max_features) < kid_subset_size:
        raise UserError(
            f"KID: the reference has {min(ref_src.length, max_features)} samples, fewer than the subset "
            f"size {kid_subset_size}; use a larger reference or lower the KID subset size"
        )
    if "ref_labels" in needs and not ref_src.has_labels:
        raise UserError(
            f"{', '.join(m for m in names if 'ref_labels' in METRICS.get(m).needs)} needs a labelled "
            "reference (a data set split, or an .npz with a 'labels' array)"
        )
    gen = collect(
        src,
        ext,
        n,
        batch_size=batch_size,
        max_features=max_features,
        classes=classes,
        seed=seed,
        progress=progress,
        desc=f"generated {src.name}",
    )
    # the reference goes through the same resampling as the model's training data: brought to the
    # generated images' size first (a 32x32 model of 28x28 MNIST is compared with the test digits
    # resized to 32x32), then both sides through the extractor's own resize
    ref_stats = reference_stats(
        ref_src,
        ext,
        batch_size=batch_size,
        max_features=max_features,
        classes=classes,
        cache=cache,
        progress=progress,
        size=gen.image_size if match_size else None,
    )
    if "logits" in needs and gen.pred_counts is None:
        raise UserError(
            f"extractor '{ext.name}' gives no class logits; "
            f"{', '.join(m for m in names if 'logits' in METRICS.get(m).needs)} need a classifier "
            "(lenet-mnist, lenet-fashion, inception-fid)"
        )
    if "labels" in needs and not gen.has_labels:
        raise UserError(
            f"{', '.join(m for m in names if 'labels' in METRICS.get(m).needs)} need generated labels: "
            "a sampler returning (images, labels), or an .npz with a 'labels' array"
        )
    if "is" in names and gen.inception_score is None:
        raise UserError(f"the Inception Score needs at least {opts.is_splits} samples, got {gen.n}")
    results: dict[str, float] = {}
    for name in names:
        results.update({k: float(v) for k, v in METRICS.get(name).compute(gen, ref_stats, opts).items()})
    return results
