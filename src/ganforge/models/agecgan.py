"""Age-cGAN (Antipov et al. 2017): conditional attribute editing with identity kept. Three networks:

    G(z, y) -> images [N, C, H, W]     y: the group [N] int64 of an ordered attribute (age groups; on
                                       MNIST the stroke-thickness bucket), the DCGAN backbone with
                                       y by conditional BatchNorm (model.cond_g=concat: the paper's
                                       one-hot joined to z)
    D(x, y) -> logits [N]              projection D (model.cond_d=concat: the paper's label maps)
    E(x) -> z [N, z_dim]               the encoder, trained on G's samples (objectives/ageing.py)

Editing (ganforge.inference.ageing): z0 = E(x); z* = argmin_z ||F(x) - F(G(z, y0))||^2 starting at
z0 (the identity-preserving optimisation, sec. 3.3; F = model.identity, a feature extractor: ganforge's
LeNet for digits, in place of the paper's face recogniser); then G(z*, target group).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ganforge.errors import UserError
from ganforge.models.conditional import (
    CondDCGANGenerator,
    ConditionalDiscriminator,
    ConditioningOptions,
    check_conditional,
    dcgan_trunk,
)
from ganforge.models.ganomaly import Encoder
from ganforge.models.registry import register_family
from ganforge.objectives.ageing import AgeCGANObjective
from ganforge.schema import ModelConfig


@dataclass
class AgeCGANConfig(ConditioningOptions, ModelConfig):
    family: str = "agecgan"
    z_dim: int = 100  # the paper: 100
    g_width: int = 64  # DCGAN widths (models/dcgan.py)
    d_width: int = 64
    e_width: int = 64  # the encoder's first conv (x2 per level), DCGAN-D-shaped as GANomaly's
    # the identity features of the latent optimisation: a registered extractor (lenet-mnist for digits,
    # lenet-fashion for clothes; the paper uses a face recogniser, which ganforge does not ship)
    identity: str = "lenet-mnist"  # checked when an edit runs (the extractors live above models/)

    def validate(self, cfg) -> None:
        self.check_conditioning()
        if self.cond_d == "acgan":
            raise UserError("model.cond_d=acgan: Age-cGAN's D takes the group by projection or concat")
        for key in ("z_dim", "g_width", "d_width", "e_width"):
            if getattr(self, key) < 1:
                raise UserError(f"model.{key}={getattr(self, key)}: must be >= 1")


@register_family("agecgan", AgeCGANConfig, AgeCGANObjective, edits=True)
def build_agecgan(cfg: AgeCGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """Age-cGAN (Antipov et al. 2017): G(z, group), D(x, group) and an encoder x -> z; 'ganforge age' edits"""
    check_conditional("agecgan", shape, num_classes)
    c, res = shape[0], shape[1]
    extra = cfg.embed_dim if cfg.cond_d == "concat" else 0
    trunk, feat = dcgan_trunk(c + extra, res, cfg.d_width, "batch", 0)
    return {
        "G": CondDCGANGenerator(cfg.z_dim, c, res, num_classes, cfg.g_width, "batch", cfg.cond_g, cfg.embed_dim),
        "D": ConditionalDiscriminator(trunk, feat, num_classes, cfg.cond_d, cfg.embed_dim, init="dcgan"),
        "E": Encoder(c, res, cfg.z_dim, cfg.e_width, "batch"),
    }
