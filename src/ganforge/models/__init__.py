"""Model families. `MODELS[name]` is a registered `Family`: its config dataclass, its networks'
builder (`build(cfg.model, shape, num_classes)` -> {"G": ..., "D": ...}), the objective that trains
them and what it can do. Networks are plain modules: G(z, y=None) -> sample, D(x, y=None) -> logits
[N]; what a training step does lives in `ganforge.objectives`.

Every module of this package registers its families on import, and this package imports them all,
so a new family is one new file here. Families from other packages register through the
`ganforge.families` entry-point group (each entry point names a module to import).
"""

import importlib
import pkgutil
from importlib.metadata import entry_points

from ganforge.models.registry import MODELS, Family, register_family

SHARED = {"registry", "layers"}  # modules that hold no family


def _load_families() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name not in SHARED:
            importlib.import_module(f"{__name__}.{info.name}")
    for ep in entry_points(group="ganforge.families"):
        importlib.import_module(ep.value)


_load_families()

__all__ = ["MODELS", "Family", "register_family"]
