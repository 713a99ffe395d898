"""Data sets: every registered builder returns a `Data` (tensors in memory) for the loop."""

from ganforge.data.datasets import DATASETS, Data, BatchStream, build_dataset

__all__ = ["DATASETS", "Data", "BatchStream", "build_dataset"]
