"""Data sets: every registered builder returns a `Data` (tensors in memory) for the loop."""

from ganforge.data.datasets import DATASETS, Data, BatchStream, build_dataset
from ganforge.data import paired as _paired  # noqa: F401,E402  (registers the translation data sets)

__all__ = ["DATASETS", "Data", "BatchStream", "build_dataset"]
