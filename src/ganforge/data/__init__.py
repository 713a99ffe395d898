"""Data sets: every registered builder returns a `Data` (tensors in memory) for the loop."""

from ganforge.data import inpainting as _inpainting  # noqa: F401,E402  (registers mnist32, fashion-mnist32, photo-crops)
from ganforge.data import paired as _paired  # noqa: F401,E402  (registers the translation data sets)
from ganforge.data import photos as _photos  # noqa: F401,E402  (registers photos-sr)
from ganforge.data import stacked as _stacked  # noqa: F401,E402  (registers stacked-mnist)
from ganforge.data import tables as _tables  # noqa: F401,E402  (registers table, table-modes)
from ganforge.data.base import Data
from ganforge.data.datasets import DATASETS, BatchStream, build_dataset

__all__ = ["DATASETS", "Data", "BatchStream", "build_dataset"]
