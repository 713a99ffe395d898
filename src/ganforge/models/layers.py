"""Blocks shared by several families."""

from __future__ import annotations

from torch import nn


def norm2d(kind: str, channels: int) -> nn.Module:
    """'batch' -> BatchNorm2d, 'instance' -> InstanceNorm2d without affine parameters or running
    statistics (as pix2pix and CycleGAN use it; Ulyanov et al. 2016), 'none' -> identity (e.g. for
    WGAN-GP critics, where BN breaks the penalty)."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels)
    return nn.BatchNorm2d(channels) if kind == "batch" else nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2016: conv weights ~ N(0, 0.02), BN scale ~ N(1, 0.02), BN shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
