"""DiffAugment / ADA transforms (ganforge.augment): differentiable, the identity at probability 0,
real translations and cutouts; ADA's controller moves p the right way; bad policies are user errors."""

import pytest
import torch

from ganforge.augment import AUGMENTS, AdaController, Augment, PairedJitter, cutout, parse_policy, translation
from ganforge.errors import UserError


def images(n=4, c=1, h=8, w=8, seed=0, dtype=torch.float32):
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


@pytest.mark.parametrize("name", AUGMENTS.keys())
def test_every_transform_is_the_identity_where_not_applied(name):
    x = images(c=3)
    out = AUGMENTS.get(name)(x, torch.zeros(len(x), dtype=torch.bool))
    torch.testing.assert_close(out, x)


def test_probability_zero_is_the_identity():
    x = images(c=3)
    state = torch.get_rng_state()
    assert Augment("color,translation,cutout,flip", p=0.0)(x) is x
    assert torch.equal(torch.get_rng_state(), state)  # and it draws nothing


@pytest.mark.parametrize("name", ["brightness", "saturation", "contrast", "translation", "cutout"])
def test_transforms_are_differentiable(name):
    fn = AUGMENTS.get(name)
    x = images(n=2, c=3, h=6, w=6, dtype=torch.float64).requires_grad_(True)
    apply = torch.tensor([True, False])

    def f(inp):
        torch.manual_seed(3)  # the same random parameters in every call
        return fn(inp, apply)

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)


def test_diffaugment_passes_gradients_to_the_generator_side():
    torch.manual_seed(0)
    x = images(n=8).requires_grad_(True)
    Augment("color,translation,cutout", p=1.0)(x).square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_translation_is_a_whole_pixel_shift_with_zero_fill():
    torch.manual_seed(1)
    x = images(n=6, h=16, w=16)
    out = translation(x, torch.ones(6, dtype=torch.bool))
    r = 2  # 1/8 of 16 pixels
    padded = torch.nn.functional.pad(x, [r, r, r, r])
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(-r, r + 1)
            for dx in range(-r, r + 1)
            if torch.equal(out[i], padded[i, :, r - dy : r - dy + 16, r - dx : r - dx + 16])
        ]
        assert len(matches) == 1, matches


def test_cutout_zeroes_one_square_of_half_the_size_at_most():
    torch.manual_seed(2)
    x = images(n=16, h=8, w=8) * 0.5 + 0.6  # no zero pixels in the input
    out = cutout(x, torch.ones(16, dtype=torch.bool))
    zeroed = out == 0
    assert zeroed.any()
    assert zeroed.flatten(1).sum(1).max() <= 16  # at most a 4 x 4 square
    kept = ~zeroed
    assert torch.equal(out[kept], x[kept])
    for i in range(16):  # the zeroed pixels form a rectangle
        rows, cols = zeroed[i, 0].nonzero(as_tuple=True)
        if len(rows):
            assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)


def test_ada_p_rises_when_d_is_sure_of_real_images_and_falls_otherwise():
    ada = AdaController(target=0.6, interval=2, kimg=1.0, p=0.5)
    sure = torch.full((10,), 3.0)  # sign(D(real)) = +1 everywhere: r_t = 1 > 0.6
    ada.accumulate(sure)
    ada.step()
    assert ada.p == 0.5  # no update before `interval` D steps
    ada.accumulate(sure)
    ada.step()
    assert abs(ada.p - (0.5 + 20 / 1000)) < 1e-12  # + images / (kimg * 1000)
    assert ada.rt == 1.0
    mixed = torch.tensor([1.0] * 5 + [-1.0] * 5)  # r_t = 0 < 0.6
    for _ in range(2):
        ada.accumulate(mixed)
        ada.step()
    assert abs(ada.p - 0.5) < 1e-12
    low = AdaController(target=0.6, interval=1, kimg=1e-3, p=0.0)
    low.accumulate(-torch.ones(4))
    low.step()
    assert low.p == 0.0  # clipped at 0
    high = AdaController(target=0.6, interval=1, kimg=1e-3, p=1.0)
    high.accumulate(torch.ones(4))
    high.step()
    assert high.p == 1.0  # and at 1


def test_ada_state_round_trip():
    ada = AdaController(interval=4, p=0.25)
    ada.accumulate(torch.tensor([1.0, -1.0, 2.0]))
    ada.step()
    other = AdaController(interval=4)
    other.load(ada.state())
    assert (other.p, other._sum, other._count, other._steps) == (0.25, 1.0, 3, 1)


def test_unknown_transform_is_a_user_error_naming_the_nearest():
    with pytest.raises(UserError, match="did you mean 'cutout'"):
        parse_policy("color,cutuot")
    with pytest.raises(UserError, match="at least one"):
        parse_policy(" , ")


def test_paired_jitter_keeps_the_halves_aligned():
    a = torch.rand(16, 1, 32, 32) * 2 - 1
    b = torch.cat([-a, a], 1)  # B: a pixelwise function of A
    jitter = PairedJitter(32, load_size=40, flip=True)
    ja, jb = jitter([a, b], torch.Generator().manual_seed(3))
    assert ja.shape == a.shape and jb.shape == b.shape
    torch.testing.assert_close(jb, torch.cat([-ja, ja], 1))  # the same crop and flip on both
    again = jitter([a, b], torch.Generator().manual_seed(3))[0]
    torch.testing.assert_close(again, ja)  # reproducible from the seed
    assert not torch.allclose(ja, jitter([a, b], torch.Generator().manual_seed(4))[0])
    # random per example: the examples are not all shifted alike
    up = torch.nn.functional.interpolate(a, size=(40, 40), mode="bilinear", align_corners=False)
    same_as_corner = [
        torch.allclose(ja[i], up[i, :, :32, :32]) or torch.allclose(ja[i], up[i, :, :32, :32].flip(-1))
        for i in range(16)
    ]
    assert not all(same_as_corner)
