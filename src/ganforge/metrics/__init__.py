"""Evaluation of generative models: metrics as pure functions over feature arrays
(features -> statistics -> distance), feature extractors in a registry, and a streaming
`evaluate` that compares a sampler, run or image set with a cached reference.

Nothing is loaded at import time: extractor weights are read when an extractor is built.
See docs/metrics.md for definitions, defaults and how the figures compare with other tools.
"""

from ganforge.metrics.classifier import class_kl, inception_score, mode_count
from ganforge.metrics.extractors import EXTRACTORS, FeatureExtractor, Features, ModuleExtractor, get_extractor
from ganforge.metrics.fid import (
    RunningGaussian,
    class_stats,
    fid_from_features,
    frechet_distance,
    gaussian_stats,
    intra_class_fid,
    intra_class_fid_from_stats,
)
from ganforge.metrics.manifold import density_coverage, prdc, precision_recall
from ganforge.metrics.mmd import kid, mmd2_unbiased, polynomial_kernel
from ganforge.metrics.pipeline import METRICS, Collected, collect, evaluate, reference_stats
from ganforge.metrics.sources import open_images

__all__ = [
    "EXTRACTORS",
    "METRICS",
    "Collected",
    "FeatureExtractor",
    "Features",
    "ModuleExtractor",
    "RunningGaussian",
    "class_kl",
    "class_stats",
    "collect",
    "density_coverage",
    "evaluate",
    "fid_from_features",
    "frechet_distance",
    "gaussian_stats",
    "get_extractor",
    "inception_score",
    "intra_class_fid",
    "intra_class_fid_from_stats",
    "kid",
    "mmd2_unbiased",
    "mode_count",
    "open_images",
    "polynomial_kernel",
    "prdc",
    "precision_recall",
    "reference_stats",
]
