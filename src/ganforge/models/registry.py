"""The model-family registry. A family is one registered object: its name, its networks' builder,
the objective that trains them, and what it can do (its capabilities), so that the API, the CLI and
the inference layer ask the family instead of branching on its name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from torch import nn

from ganforge.registry import Registry


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[..., dict[str, nn.Module]]   # build(cfg.model, shape, num_classes) -> {"G": ..., "D": ...}
    objective: Any = "generation"                # the objective that trains the networks
    directions: Mapping[str, str] = field(default_factory=dict)   # translation: direction -> network ({}: G maps noise)
    truncation: str | None = "z"                 # where the truncation trick works: "z" (|z_i| <= psi), "w" (StyleGAN), None
    styles: bool = False                         # per-layer styles: style mixing and projection into W
    conditional: bool | Callable[[Any], bool] = False   # G takes class labels; a callable reads cfg.model
    doc: str = ""

    def is_conditional(self, model_cfg) -> bool:
        """Whether G takes class labels under this model config."""
        return bool(self.conditional(model_cfg) if callable(self.conditional) else self.conditional)

    @property
    def translates(self) -> bool:
        return bool(self.directions)


MODELS: Registry[Family] = Registry("model family")
FAMILIES = MODELS


def register_family(name: str, objective: Any = "generation", **capabilities):
    """Decorator: `@register_family("dcgan")` over a builder function registers it as a family."""
    def add(build):
        MODELS.register(name, Family(name=name, build=build, objective=objective, doc=(build.__doc__ or "").strip(),
                                     **capabilities), doc=build.__doc__ or "")
        return build
    return add


def build_networks(cfg, data_shape: tuple[int, ...], num_classes: int) -> dict[str, nn.Module]:
    """The networks of cfg.model.family for data of `data_shape` with `num_classes` classes."""
    return MODELS.get(cfg.model.family).build(cfg.model, data_shape, num_classes)
