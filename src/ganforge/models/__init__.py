"""Model families. `MODELS[name](cfg, shape, num_classes)` returns the family's networks by name
({"G": ..., "D": ...} and any extras). Networks are plain modules: G(z, y=None) -> sample,
D(x, y=None) -> logits [N]; what a training step does lives in `ganforge.objectives`."""

from ganforge.models.registry import MODELS

# built-in families register themselves on import (nothing else happens at import time)
from ganforge.models import mlp as _mlp  # noqa: F401,E402
from ganforge.models import dcgan as _dcgan  # noqa: F401,E402
from ganforge.models import pix2pix as _pix2pix  # noqa: F401,E402
from ganforge.models import cyclegan as _cyclegan  # noqa: F401,E402
from ganforge.models import resnet as _resnet  # noqa: F401,E402
from ganforge.models import conditional as _conditional  # noqa: F401,E402
from ganforge.models import biggan as _biggan  # noqa: F401,E402
from ganforge.models import stylegan as _stylegan  # noqa: F401,E402

__all__ = ["MODELS"]
