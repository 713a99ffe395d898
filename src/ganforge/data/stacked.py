"""Stacked MNIST (Metz et al. 2017, Unrolled GANs; used by VEEGAN and PacGAN): three MNIST digits
drawn independently at random become the R, G and B channels of one image, so the data has
10 x 10 x 10 = 1,000 equally likely modes. Label = 100 * digit_R + 10 * digit_G + digit_B.

`data.num_points` examples are drawn once, from a generator fixed per split (like the 2-D mixtures),
out of the MNIST split `data.split`. At 28x28 each example is 9.4 KB as float32: 50,000 of them
take 470 MB.
"""

from __future__ import annotations

import torch

from ganforge.data.base import Data, fit_images, uint8_to_float
from ganforge.data.datasets import DATASETS
from ganforge.data.idx import load_idx_dataset
from ganforge.errors import UserError
from ganforge.schema import DataConfig


def stack_digits(
    images: torch.Tensor, labels: torch.Tensor, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 digits [M, H, W] and labels [M] -> (uint8 stacks [n, 3, H, W], mode labels [n])."""
    pick = torch.randint(len(images), (n, 3), generator=generator)  # [n, 3] indices, one per channel
    stacks = images[pick]  # [n, 3, H, W]
    digits = labels[pick]  # [n, 3]
    return stacks, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


@DATASETS.register("stacked-mnist")
def stacked_mnist(cfg: DataConfig) -> Data:
    """Stacked MNIST: 3 random MNIST digits as RGB channels, 1,000 modes (Metz et al. 2017)"""
    if cfg.channels not in (None, 3):
        raise UserError(
            f"data.channels={cfg.channels}: Stacked MNIST is 3-channel by definition; leave data.channels unset"
        )
    if cfg.num_points < 1:
        raise UserError(f"data.num_points={cfg.num_points}: how many stacks to draw, at least 1")
    images, labels = load_idx_dataset("mnist", cfg.split, cfg.root, cfg.download)
    gen = torch.Generator().manual_seed(0 if cfg.split == "train" else 1)
    stacks, modes = stack_digits(torch.as_tensor(images), torch.as_tensor(labels).long(), cfg.num_points, gen)
    x = torch.cat(
        [
            fit_images(uint8_to_float(chunk), cfg.resolution, None)  # [n, 3, H, W] in [-1, 1]
            for chunk in stacks.split(10_000)
        ]
    )
    return Data(x, modes, tuple(f"{i:03d}" for i in range(1000)))
