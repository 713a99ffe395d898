"""StyleGAN2 networks: equalised learning rate, modulation / demodulation, the generator's shapes,
truncation, style mixing, noise, the conditional mapping and discriminator."""

import pytest
import torch
import torch.nn.functional as F

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.inference.styles import sample_truncated
from ganforge.models.stylegan import (
    EqualConv2d,
    EqualLinear,
    ModulatedConv2d,
    StyleGenerator,
    build_stylegan,
    modulated_conv2d_reference,
)

from conftest import tiny_style_generator as tiny_generator
from tests_helpers import STYLEGAN_TINY as TINY_SG


def test_equalised_lr_scales_weights_at_run_time():
    torch.manual_seed(0)
    lin = EqualLinear(50, 7, bias_init=0.5, lr_mul=0.01)
    x = torch.randn(4, 50)
    ref = F.linear(x, lin.weight * (0.01 / 50**0.5), lin.bias * 0.01)
    torch.testing.assert_close(lin(x), ref)
    assert abs(lin.weight.std().item() * 0.01 - 1.0) < 0.15  # stored N(0, 1 / lr_mul^2)
    torch.testing.assert_close(lin.bias * 0.01, torch.full((7,), 0.5))

    conv = EqualConv2d(6, 4, 3)
    x = torch.randn(2, 6, 8, 8)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight / (6 * 9) ** 0.5, conv.bias, padding=1))
    assert abs(conv.weight.std().item() - 1.0) < 0.2  # stored N(0, 1), not pre-scaled
    with torch.no_grad():  # the scale is applied at run time
        conv.weight.mul_(2.0)
        conv.bias.zero_()
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight / 54**0.5, None, padding=1))


def test_demodulated_conv_keeps_unit_std():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=32)
    x = torch.randn(8, 64, 32, 32)
    w = torch.randn(8, 32) * 3  # styles far from 1, different per sample
    with torch.no_grad():
        out = conv(x, w)[:, :, 1:-1, 1:-1]  # interior: no zero padding
        per_sample = out.flatten(1).std(1)
        assert torch.all((per_sample - 1).abs() < 0.1), per_sample
        conv.demodulate = False  # the same layer without eq. 3 is far off
        raw = conv(x, w)[:, :, 1:-1, 1:-1].flatten(1).std(1)
    assert (raw - 1).abs().max() > 0.5, raw


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("kernel", [3, 1])
def test_fast_modulated_conv_matches_per_sample_weights(up, demodulate, kernel):
    """The layer's path (scale activations, shared weight, scale outputs) against eq. 1-3 written out:
    a modulated, demodulated weight per sample in one grouped convolution, on a fixed seed, to 1e-5."""
    if up and kernel == 1:
        pytest.skip("the generator upsamples with 3x3 kernels only")
    torch.manual_seed(0)
    conv = ModulatedConv2d(12, 8, kernel, w_dim=16, demodulate=demodulate, up=up)
    x, w = torch.randn(5, 12, 8, 8), torch.randn(5, 16) * 2
    with torch.no_grad():
        fast = conv(x, w)
        ref = modulated_conv2d_reference(x, conv.weight * conv.scale, conv.affine(w), demodulate, up)
    assert fast.shape == ref.shape == (5, 8, 16 if up else 8, 16 if up else 8)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=0)
    assert fast.abs().max() > 0.5  # outputs of order 1: the tolerance is not vacuous


def test_modulation_with_unit_styles_is_a_plain_conv():
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 3, 3, w_dim=4, demodulate=False)
    with torch.no_grad():
        conv.affine.weight.zero_()  # s = bias = 1 for every w
    x = torch.randn(2, 5, 6, 6)
    torch.testing.assert_close(conv(x, torch.randn(2, 4)), F.conv2d(x, conv.weight / 45**0.5, padding=1))


def test_generator_shapes_and_num_ws():
    G = tiny_generator()
    assert G.num_ws == 2 * 4 - 2  # 16 px: log2 = 4
    img, ws = G(torch.randn(3, 8), return_ws=True)
    assert img.shape == (3, 1, 16, 16) and ws.shape == (3, G.num_ws, 16)
    with pytest.raises(UserError, match="power-of-two"):
        StyleGenerator(8, 16, 1, 28)


def test_psi_zero_gives_one_image_for_every_z():
    G = tiny_generator()
    with torch.no_grad():
        G.mapping.w_avg.copy_(torch.randn(16))
    z = torch.randn(5, 8)
    a = G(z, psi=0.0)
    for i in range(1, 5):
        torch.testing.assert_close(a[i], a[0])
    b = G(z)  # psi = 1: the images differ
    assert (b[1:] - b[:1]).abs().max() > 1e-3
    c = sample_truncated(G, 4, seed=1, psi=0.0)
    torch.testing.assert_close(c, a[:1].expand(4, -1, -1, -1))  # the image of w_avg itself


def _record_layer_ws(G):
    """Hooks that record the w each modulated layer receives: {w_index: [N, w_dim]}."""
    seen, handles = {}, []
    for m in G.synthesis.modules():
        if isinstance(m, ModulatedConv2d):
            handles.append(
                m.register_forward_hook(lambda mod, args, out: seen.__setitem__(mod.w_index, args[1].clone()))
            )
    return seen, handles


@pytest.mark.parametrize("crossover", [1, 3, 5])
def test_style_mixing_switches_at_the_crossover(crossover):
    G = tiny_generator()
    w1, w2 = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    seen, handles = _record_layer_ws(G)
    G.synthesis(G.mix(G.broadcast(w1), G.broadcast(w2), crossover))
    for h in handles:
        h.remove()
    assert sorted(seen) == list(range(G.num_ws))  # every w is read by some layer
    for i, w in seen.items():
        torch.testing.assert_close(w, w1 if i < crossover else w2, rtol=0, atol=0)


def test_training_forward_mixes_with_one_crossover():
    G = tiny_generator()
    torch.manual_seed(3)
    seen, handles = _record_layer_ws(G)
    _, ws = G(torch.randn(4, 8), mixing=1.0, return_ws=True)
    for h in handles:
        h.remove()
    first = ws[:, 0]
    switched = [not torch.equal(ws[:, i], first) for i in range(G.num_ws)]
    k = switched.index(True)  # mixing=1: always a second w from some layer on
    assert k >= 1 and all(switched[k:]) and not any(switched[:k])
    for i, w in seen.items():
        torch.testing.assert_close(w, ws[:, i], rtol=0, atol=0)


def test_noise_is_random_in_training_and_constant_in_eval():
    G = tiny_generator()
    for layer in G.synthesis.layers:
        layer.noise_strength.data.fill_(0.5)
    z = torch.randn(2, 8)
    torch.testing.assert_close(G(z), G(z))  # eval: const noise
    G.train()
    assert not torch.equal(G(z), G(z))
    torch.testing.assert_close(G(z, noise_mode="none"), G(z, noise_mode="none"))


def test_conditional_mapping_and_discriminator():
    cfg = load_config(None, [*TINY_SG, "model.style_conditional=true"]).model
    nets = build_stylegan(cfg, (1, 16, 16), num_classes=10)
    G, D = nets["G"], nets["D"]
    z = torch.randn(4, 8)
    y = torch.tensor([0, 1, 2, 3])
    assert G(z, y).shape == (4, 1, 16, 16) and D(G(z, y), y).shape == (4,)
    assert not torch.allclose(G.mapping(z, y), G.mapping(z, torch.tensor([4, 5, 6, 7])))
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    with pytest.raises(UserError, match="labelled"):
        build_stylegan(cfg, (1, 16, 16), num_classes=0)


def test_contract_shape_at_32_pixels_with_default_widths(tmp_path):
    # the generic contract runs with small widths; the default widths at 32x32 must work too
    nets = build_stylegan(load_config(None, ["model.family=stylegan"]).model, (1, 32, 32), 10)
    assert nets["G"](torch.randn(2, 100)).shape == (2, 1, 32, 32)
    assert nets["D"](torch.randn(2, 1, 32, 32)).shape == (2,)
    with pytest.raises(UserError, match="resolution"):
        build_stylegan(load_config(None, ["model.family=stylegan"]).model, (1, 28, 28), 10)
    for bad in ("loss.style_mixing=1.5", "loss.pl_interval=0", "model.w_dim=0"):
        with pytest.raises(UserError):
            load_config("stylegan-mnist", [bad])
