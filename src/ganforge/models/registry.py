"""The model-family registry. A family is one registered object: its name, its config dataclass (the
`model` section, with `validate()`), its networks' builder, the objective class that trains them,
and what it can do (its capabilities), so that the config loader, the API, the CLI and the
inference layer ask the family instead of branching on its name.

    @register_family("dcgan", DCGANConfig)                  # objective: the shared adversarial one
    def build_dcgan(cfg: DCGANConfig, shape, num_classes=0) -> {"G": ..., "D": ...}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ganforge.objectives.adversarial import AdversarialObjective
from ganforge.objectives.base import Objective
from ganforge.registry import Registry
from ganforge.schema import ModelConfig


def image_example(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Example data for the contract test: images [n, *shape] in [-1, 1] and 10 balanced-ish labels."""
    gen = torch.Generator().manual_seed(seed)
    return {"x": torch.rand(n, *shape, generator=gen) * 2 - 1, "y": torch.randint(0, 10, (n,), generator=gen)}


def paired_example(shape: tuple[int, ...], n: int = 32, seed: int = 0) -> dict[str, Tensor]:
    """Two-domain example data (A in x, B in x_b) for translation families."""
    out = image_example(shape, n, seed)
    out["x_b"] = torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed + 1)) * 2 - 1
    return out


@dataclass(frozen=True)
class Family:
    name: str
    config: type[ModelConfig]  # the `model` section: the family's options and validate()
    build: Callable[..., dict[str, nn.Module]]  # build(cfg.model, shape, num_classes) -> {"G": ..., "D": ...}
    objective: type[Objective] = AdversarialObjective  # trains the networks; its Loss is the `loss` section
    directions: Mapping[str, str] = field(default_factory=dict)  # translation: direction -> network ({}: G maps noise)
    truncation: str | None = "z"  # where the truncation trick works: "z" (|z_i| <= psi), "w" (StyleGAN), None
    styles: bool = False  # per-layer styles: style mixing and projection into W
    detects: bool = False  # an anomaly detector (GANomaly): scores inputs, does not sample from noise
    example_data: Callable[[tuple[int, ...]], dict[str, Tensor]] = image_example  # for the contract test
    tabular: str | None = None  # table families: "impute" (missing cells) or "synthesize" (new rows)
    restores: str | None = None  # image restoration: "upscale" (super-resolution: G(low-res) -> high-res, model.scale)
    inpaints: bool = False  # fills holes in images (context-encoder, inpaint-gan): G(x_in, mask) -> image
    text: bool = False  # G draws from captions, G(z, tokens) (StackGAN): sampling needs text
    edits: bool = False  # edits an image along an ordered attribute, identity kept (Age-cGAN: 'ganforge age')
    doc: str = ""

    def is_conditional(self, model_cfg: ModelConfig) -> bool:
        """Whether G takes class labels under this model config."""
        return bool(model_cfg.conditional)

    @property
    def can_condition(self) -> bool:
        """Whether some config of this family makes G take class labels."""
        return self.config.can_condition

    @property
    def translates(self) -> bool:
        return bool(self.directions)

    @property
    def generates(self) -> bool:
        """Whether G maps noise to samples (not a translation model, an imputer, a detector, a restorer, an
        inpainter or a text model)."""
        return (
            not self.directions
            and not self.detects
            and self.tabular != "impute"
            and not self.restores
            and not self.inpaints
            and not self.text
        )


MODELS: Registry[Family] = Registry("model family")


def register_family(
    name: str, config: type[ModelConfig], objective: type[Objective] = AdversarialObjective, **capabilities
):
    """Decorator: `@register_family("dcgan", DCGANConfig)` over a builder function registers the family."""

    def add(build):
        doc = (build.__doc__ or "").strip()
        MODELS.register(
            name, Family(name=name, config=config, build=build, objective=objective, doc=doc, **capabilities), doc=doc
        )
        return build

    return add


def build_networks(
    cfg, data_shape: tuple[int, ...], num_classes: int, meta: dict | None = None
) -> dict[str, nn.Module]:
    """The networks of cfg.model.family for data of `data_shape` with `num_classes` classes; a table
    family's builder also gets `meta`, what the data set recorded about its columns (`Data.meta`)."""
    family = MODELS.get(cfg.model.family)
    if family.tabular:
        return family.build(cfg.model, data_shape, num_classes, meta=meta or {})
    return family.build(cfg.model, data_shape, num_classes)
