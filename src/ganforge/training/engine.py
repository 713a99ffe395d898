"""The thin device / precision / distribution wrapper: Lightning Fabric, so the loop stays plain
PyTorch and multi-GPU or multi-node training is configuration (train.devices, train.num_nodes,
train.strategy), not a rewrite."""

from __future__ import annotations

import logging
import os

from ganforge.errors import UserError
from ganforge.schema import TrainConfig

PRECISIONS = {"32": "32-true", "bf16": "bf16-mixed", "16": "16-mixed"}
# lightning_fabric sets PYTORCH_NVML_BASED_CUDA_CHECK=1 on import; then every Adam step asks NVML (a
# dlopen + init through ctypes) whether CUDA is there, about 1 ms a step. Read the user's own setting
# before that import so a CPU run can put it back.
_NVML_CHECK = os.environ.get("PYTORCH_NVML_BASED_CUDA_CHECK")


class _QuietPrecision(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Automatic Mixed Precision" not in record.getMessage()


def make_fabric(t: TrainConfig):
    import torch
    from lightning_fabric import Fabric

    if t.accelerator == "cuda" and not torch.cuda.is_available():
        raise UserError("train.accelerator=cuda but no CUDA device is visible; use train.accelerator=cpu")
    if t.precision == "16" and t.accelerator == "cpu":
        raise UserError("train.precision=16 needs a GPU; on the CPU use train.precision=bf16 or 32")
    # Fabric announces the precision on stderr; ganforge records it in metrics.jsonl ("setup") instead
    logger = logging.getLogger("lightning_fabric.utilities.rank_zero")
    if not any(isinstance(f, _QuietPrecision) for f in logger.filters):
        logger.addFilter(_QuietPrecision())
    fabric = Fabric(
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=PRECISIONS[t.precision],
    )
    if t.devices * t.num_nodes > 1:
        fabric.launch()
    if fabric.device.type == "cpu" and _NVML_CHECK is None:
        os.environ.pop("PYTORCH_NVML_BASED_CUDA_CHECK", None)
    return fabric
