"""StyleGAN2: equalised learning rate, modulation / demodulation, truncation, style mixing, lazy
regularisation phases, checkpoints, projection, perceptual path length, CLI."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ganforge.api import load
from ganforge.cli import main
from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.models.stylegan import (EqualConv2d, EqualLinear, ModulatedConv2d, StyleGenerator,
                                      build_stylegan)
from ganforge.inference.styles import sample_truncated
from ganforge.training.loop import Trainer

TINY_SG = ["model.family=stylegan", "model.z_dim=8", "model.w_dim=16", "model.mapping_layers=2",
           "model.g_width=4", "model.d_width=4", "model.style_max_channels=16", "train.batch_size=8",
           "train.progress=false", "train.tensorboard=false", "train.threads=1", "train.log_every=1",
           "train.sample_every=0", "train.ckpt_every=0", "train.num_samples=4"]


def tiny_generator(seed: int = 0, **kw) -> StyleGenerator:
    torch.manual_seed(seed)
    args = dict(z_dim=8, w_dim=16, channels=1, resolution=16, width=4, max_channels=16, mapping_layers=2)
    return StyleGenerator(**{**args, **kw}).eval()


def tiny_data(n: int = 32, res: int = 16) -> Data:
    gen = torch.Generator().manual_seed(0)
    return Data(torch.rand(n, 1, res, res, generator=gen) * 2 - 1, torch.randint(0, 10, (n,), generator=gen),
                tuple(str(i) for i in range(10)))


class MeanPool(nn.Module):
    """A stand-in feature network for tests (no weight file needed): 4x4 average-pooled pixels."""

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1)


# --- layers ---------------------------------------------------------------------------------------
def test_equalised_lr_scales_weights_at_run_time():
    torch.manual_seed(0)
    lin = EqualLinear(50, 7, bias_init=0.5, lr_mul=0.01)
    x = torch.randn(4, 50)
    ref = F.linear(x, lin.weight * (0.01 / 50 ** 0.5), lin.bias * 0.01)
    torch.testing.assert_close(lin(x), ref)
    assert abs(lin.weight.std().item() * 0.01 - 1.0) < 0.15        # stored N(0, 1 / lr_mul^2)
    torch.testing.assert_close(lin.bias * 0.01, torch.full((7,), 0.5))

    conv = EqualConv2d(6, 4, 3)
    x = torch.randn(2, 6, 8, 8)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight / (6 * 9) ** 0.5, conv.bias, padding=1))
    assert abs(conv.weight.std().item() - 1.0) < 0.2               # stored N(0, 1), not pre-scaled
    with torch.no_grad():                                          # the scale is applied at run time
        conv.weight.mul_(2.0)
        conv.bias.zero_()
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight / 54 ** 0.5, None, padding=1))


def test_demodulated_conv_keeps_unit_std():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 64, 3, w_dim=32)
    x = torch.randn(8, 64, 32, 32)
    w = torch.randn(8, 32) * 3                                     # styles far from 1, different per sample
    with torch.no_grad():
        out = conv(x, w)[:, :, 1:-1, 1:-1]                         # interior: no zero padding
        per_sample = out.flatten(1).std(1)
        assert torch.all((per_sample - 1).abs() < 0.1), per_sample
        conv.demodulate = False                                    # the same layer without eq. 3 is far off
        raw = conv(x, w)[:, :, 1:-1, 1:-1].flatten(1).std(1)
    assert (raw - 1).abs().max() > 0.5, raw


def test_modulation_with_unit_styles_is_a_plain_conv():
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 3, 3, w_dim=4, demodulate=False)
    with torch.no_grad():
        conv.affine.weight.zero_()                                 # s = bias = 1 for every w
    x = torch.randn(2, 5, 6, 6)
    torch.testing.assert_close(conv(x, torch.randn(2, 4)), F.conv2d(x, conv.weight / 45 ** 0.5, padding=1))


# --- generator ------------------------------------------------------------------------------------
def test_generator_shapes_and_num_ws():
    G = tiny_generator()
    assert G.num_ws == 2 * 4 - 2                                   # 16 px: log2 = 4
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
    b = G(z)                                                       # psi = 1: the images differ
    assert (b[1:] - b[:1]).abs().max() > 1e-3
    c = sample_truncated(G, 4, seed=1, psi=0.0)
    torch.testing.assert_close(c, a[:1].expand(4, -1, -1, -1))      # the image of w_avg itself


def _record_layer_ws(G):
    """Hooks that record the w each modulated layer receives: {w_index: [N, w_dim]}."""
    seen, handles = {}, []
    for m in G.synthesis.modules():
        if isinstance(m, ModulatedConv2d):
            handles.append(m.register_forward_hook(lambda mod, args, out: seen.__setitem__(mod.w_index, args[1].clone())))
    return seen, handles


@pytest.mark.parametrize("crossover", [1, 3, 5])
def test_style_mixing_switches_at_the_crossover(crossover):
    G = tiny_generator()
    w1, w2 = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    seen, handles = _record_layer_ws(G)
    G.synthesis(G.mix(G.broadcast(w1), G.broadcast(w2), crossover))
    for h in handles:
        h.remove()
    assert sorted(seen) == list(range(G.num_ws))                   # every w is read by some layer
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
    k = switched.index(True)                                        # mixing=1: always a second w from some layer on
    assert k >= 1 and all(switched[k:]) and not any(switched[:k])
    for i, w in seen.items():
        torch.testing.assert_close(w, ws[:, i], rtol=0, atol=0)


def test_noise_is_random_in_training_and_constant_in_eval():
    G = tiny_generator()
    for layer in G.synthesis.layers:
        layer.noise_strength.data.fill_(0.5)
    z = torch.randn(2, 8)
    torch.testing.assert_close(G(z), G(z))                          # eval: const noise
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


# --- training -------------------------------------------------------------------------------------
def test_lazy_regularisers_run_only_on_their_interval(tmp_path):
    cfg = load_config(None, [*TINY_SG, "train.steps=9", "loss.r1=1.0", "loss.reg_interval=4",
                             "loss.pl_weight=1.0", "loss.pl_interval=3"])
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_data())
    names = {p.name: p.interval for p in trainer.objective.phases()}
    assert names == {"D": 1, "G": 1, "Dreg": 4, "Greg": 3}
    for step in range(9):
        logs = trainer.train_step()
        assert ("reg_r1" in logs) == (step % 4 == 0), (step, logs)
        assert ("reg_pl" in logs) == (step % 3 == 0), (step, logs)
        assert all(np.isfinite(v) for v in logs.values())
    assert trainer.objective.pl_mean.item() > 0                     # the running target moved
    assert trainer.nets["G"].mapping.w_avg.abs().sum() > 0          # w_avg followed training


def test_r1_in_every_d_step_when_not_lazy(tmp_path):
    cfg = load_config(None, [*TINY_SG, "train.steps=2", "loss.r1=1.0", "loss.reg_interval=1"])
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_data())
    assert [p.name for p in trainer.objective.phases()] == ["D", "G"]
    assert all("reg_r1" in trainer.train_step() for _ in range(2))


def test_save_load_round_trip_and_resume_state(tmp_path):
    cfg = load_config(None, [*TINY_SG, "train.steps=3", "loss.pl_weight=1.0", "loss.pl_interval=1"])
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_data())
    trainer.fit()
    model = load(tmp_path / "run")
    assert model.uses_ema == ["G"]
    for name, net in trainer.nets.items():
        ref = trainer.ema.model if name == "G" else net
        torch.testing.assert_close(model.networks[name].state_dict(), ref.state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(model.generator.mapping.w_avg, trainer.nets["G"].mapping.w_avg)   # buffers follow G
    a = model.sample(3, seed=5)
    torch.testing.assert_close(a, model.sample(3, seed=5, batch_size=1))
    torch.testing.assert_close(a, sample_truncated(model, 3, seed=5, psi=1.0))
    t = model.sample(3, seed=5, truncation=0.0)                     # psi in W through the API
    torch.testing.assert_close(t[1], t[0])
    resumed = Trainer(load_config(None, [*TINY_SG, "train.steps=4", "loss.pl_weight=1.0", "loss.pl_interval=1"]),
                      tmp_path / "run", resume=True, data=tiny_data())
    torch.testing.assert_close(resumed.objective.pl_mean, trainer.objective.pl_mean)


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


# --- CLI -----------------------------------------------------------------------------------------
def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
        raise SystemExit(0)
    return e.value.code, capsys.readouterr()


def test_project_cli(tmp_path, capsys):
    cfg = load_config(None, [*TINY_SG, "train.steps=1"])
    Trainer(cfg, tmp_path / "run", data=tiny_data()).fit()
    png = tmp_path / "digit.png"
    Image.fromarray((np.random.default_rng(0).random((20, 20)) * 255).astype(np.uint8)).save(png)
    out = tmp_path / "proj"
    code, io = _run(["project", str(tmp_path / "run"), str(png), "--out", str(out), "--steps", "3",
                     "--feature-weight", "0"], capsys)
    assert code == 0, io.err
    arrays = np.load(out / "projected_w.npz")
    assert arrays["w"].shape == (1, 16) and np.isfinite(arrays["w"]).all() and arrays["ws"].shape == (6, 16)
    assert Image.open(out / "reconstruction.png").size[0] >= 16 and (out / "comparison.png").is_file()
    code, io = _run(["project", str(tmp_path / "run"), str(png), "--out", str(out), "--steps", "1"], capsys)
    assert code == 2 and "already exists" in io.err                  # nothing overwritten unasked
    code, io = _run(["project", str(tmp_path / "run"), str(tmp_path / "missing.png")], capsys)
    assert code == 2 and "no such image" in io.err
