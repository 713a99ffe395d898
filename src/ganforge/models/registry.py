"""The model-family registry. A family is its networks' builder plus the name of the objective
(in `ganforge.objectives.OBJECTIVES`) that trains them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from ganforge.registry import Registry


@dataclass(frozen=True)
class Family:
    build: Callable[..., dict[str, nn.Module]]   # build(cfg: ModelConfig, shape, num_classes) -> {"G": ..., "D": ...}
    objective: str = "generation"                # key in ganforge.objectives.OBJECTIVES


MODELS: Registry[Family] = Registry("model family")


def register_family(name: str, objective: str = "generation"):
    """Decorator: `@register_family("dcgan")` over a builder function registers it as a family."""
    def add(build):
        MODELS.register(name, Family(build=build, objective=objective), doc=build.__doc__ or "")
        return build
    return add
