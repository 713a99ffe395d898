"""Translation networks: the U-Net keeps the input size and refuses one its depth cannot halve, and
the PatchGAN discriminator's receptive field."""

import pytest
import torch

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.pix2pix import PatchDiscriminator, UNetGenerator, receptive_field

from tests_helpers import TRANSLATION_TINY as TINY


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_unet_keeps_the_input_size(size):
    g = UNetGenerator(3, 2, size, width=4).eval()
    assert g.depth == {32: 5, 64: 6, 128: 7, 256: 8}[size]  # down to 1x1
    out = g(torch.rand(2, 3, size, size) * 2 - 1)
    assert out.shape == (2, 2, size, size)
    assert out.abs().max() <= 1


def test_unet_rejects_a_size_not_divisible_by_two_to_the_depth():
    with pytest.raises(UserError, match=r"divisible by 2\^5 = 32, got 48"):
        UNetGenerator(1, 1, 48, depth=5)
    UNetGenerator(1, 1, 48, depth=4)  # 48 = 3 * 16 fits 4 levels
    cfg = load_config(None, ["model.family=pix2pix", "model.unet_depth=4", "data.resolution=40", *TINY])
    with pytest.raises(UserError, match="multiple of 16"):
        MODELS.get("pix2pix").build(cfg.model, (1, 40, 40))


def test_patchgan_receptive_field_is_70_by_default():
    assert receptive_field(PatchDiscriminator(2)) == 70  # n_layers=3, from the layer list
    assert [receptive_field(PatchDiscriminator(2, n_layers=n)) for n in (1, 2, 4)] == [16, 34, 142]
    # and autograd agrees: one interior output logit depends on exactly a 70x70 window of the input
    d = PatchDiscriminator(1, width=4, norm="none").double()
    x = torch.rand(1, 1, 160, 160, dtype=torch.double, requires_grad=True)
    out = d(x)  # [1, h, w]
    out[0, out.shape[1] // 2, out.shape[2] // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70
