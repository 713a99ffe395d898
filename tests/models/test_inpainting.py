"""The inpainting families (context-encoder, inpaint-gan) and their objective: shapes, the channel-wise
fully connected layer, the losses against hand computations, one training step of each family, masks
drawn per step from (seed, step), and the context needed for tiling."""

import pytest
import torch

from ganforge.config import load_config
from ganforge.data.masks import batch_generator, center_mask, make_masks
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.context_encoder import (
    ChannelWiseFC,
    ContextEncoderConfig,
    build_context_encoder,
)
from ganforge.models.inpaint_gan import InpaintGANConfig, build_inpaint_gan
from ganforge.objectives.inpainting import reconstruction
from ganforge.training.loop import Trainer

from conftest import QUIET
from tests_helpers import labelled_data

TINY = {
    "context-encoder": ["model.family=context-encoder", "model.g_width=4", "model.d_width=4"],
    "inpaint-gan": ["model.family=inpaint-gan", "model.g_width=4", "model.d_width=4", "model.d_layers=2"],
}


def tiny_config(family, *extra, steps=1):
    return load_config(None, [*TINY[family], *QUIET, f"train.steps={steps}", "train.batch_size=8", *extra])


@pytest.mark.parametrize("res", [28, 32])
@pytest.mark.parametrize("bottleneck", ["channel-fc", "conv"])
def test_context_encoder_shapes(res, bottleneck):
    nets = build_context_encoder(ContextEncoderConfig(g_width=4, d_width=4, bottleneck=bottleneck), (1, res, res))
    x = torch.rand(3, 1, res, res) * 2 - 1
    out = nets["G"](x, center_mask(3, res, res))
    assert out.shape == x.shape and out.abs().max() <= 1
    assert nets["D"](x).shape == (3,)
    family = MODELS.get("context-encoder")
    assert family.inpaints and not family.generates and family.truncation is None
    with pytest.raises(UserError, match="inpaints 32x32 images"):
        build_context_encoder(ContextEncoderConfig(g_width=4, d_width=4), (1, 32, 32))["G"](torch.zeros(1, 1, 64, 64))


def test_channel_wise_fc_does_not_mix_channels():
    fc = ChannelWiseFC(3, 2)
    h = torch.randn(2, 3, 2, 2)
    out = fc(h)
    # by hand: per channel c, W[c]^T applied to the 4 flattened positions, then the 1x1 mix
    ref = torch.stack([h[:, c].flatten(1) @ fc.weight[c] + fc.bias[c] for c in range(3)], 1).view(2, 3, 2, 2)
    torch.testing.assert_close(out, fc.mix(ref))
    h2 = h.clone()
    h2[:, 1] += 1.0  # a change in channel 1 reaches the others only through the 1x1 mix
    delta = torch.stack([h2[:, c].flatten(1) @ fc.weight[c] + fc.bias[c] for c in range(3)], 1) - ref.flatten(2)
    assert delta[:, [0, 2]].abs().max() == 0 and delta[:, 1].abs().max() > 0


@pytest.mark.parametrize("gated", [True, False])
def test_inpaint_gan_shapes(gated):
    cfg = InpaintGANConfig(g_width=4, d_width=4, d_layers=2, gated=gated)
    nets = build_inpaint_gan(cfg, (3, 32, 32))
    for h, w in [(32, 32), (48, 40)]:  # fully convolutional: other sizes too
        x = torch.rand(2, 3, h, w) * 2 - 1
        m = make_masks("box", 2, h, w, batch_generator(0, 0))
        assert nets["G"](x, m).shape == x.shape
        assert nets["D"](x, m).shape == (2, h // 4, w // 4)  # one logit per patch
    assert nets["G"].margin % 4 == 0 and nets["G"].margin >= 32
    with pytest.raises(UserError, match="multiples of 4"):
        nets["G"](torch.zeros(1, 3, 30, 32), torch.zeros(1, 1, 30, 32))
    with pytest.raises(UserError, match="multiples of 4"):
        build_inpaint_gan(cfg, (3, 30, 30))
    sn = [n for n, _ in nets["D"].named_parameters() if "parametrizations.weight.original" in n]
    assert len(sn) == 3  # spectral norm on every D layer


def test_reconstruction_against_hand_values():
    x = torch.zeros(1, 1, 2, 2)
    out = torch.tensor([[[[1.0, -2.0], [3.0, 0.5]]]])
    hole = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert reconstruction(out, x, hole, "l1").item() == pytest.approx((1 + 2) / 2)
    assert reconstruction(out, x, hole, "l2").item() == pytest.approx((1 + 4) / 2)
    assert reconstruction(out, x, 1 - hole, "l1").item() == pytest.approx((3 + 0.5) / 2)
    assert reconstruction(out, x, torch.zeros_like(hole), "l1").item() == 0.0  # no pixels: 0, not NaN


@pytest.mark.parametrize("family", ["context-encoder", "inpaint-gan"])
def test_one_training_step(family, tmp_path):
    cfg = tiny_config(family)
    trainer = Trainer(cfg, tmp_path / "run", data=labelled_data(16))
    before = {k: v.clone() for k, v in trainer.nets["G"].state_dict().items()}
    logs = trainer.train_step()
    assert {"rec_hole", "adv_G", "loss_G", "loss_D"} <= logs.keys()
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    after = trainer.nets["G"].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # G was stepped
    if family == "context-encoder":  # the paper's weights: 0.999 L2 on the hole + 0.001 adversarial
        assert cfg.loss.rec == "l2" and cfg.loss.mask == "center" and cfg.loss.valid_weight == 0
        assert logs["loss_G"] == pytest.approx(0.999 * logs["rec_hole"] + 0.001 * logs["adv_G"], rel=1e-5)
    else:
        assert cfg.loss.name == "hinge" and cfg.loss.rec == "l1"
        expected = logs["rec_hole"] + logs["rec_valid"] + 0.01 * logs["adv_G"]
        assert logs["loss_G"] == pytest.approx(expected, rel=1e-5)


def test_reconstruction_only_has_no_discriminator_phase(tmp_path):
    trainer = Trainer(tiny_config("inpaint-gan", "loss.adv_weight=0"), tmp_path / "run", data=labelled_data(16))
    assert [p.name for p in trainer.objective.phases()] == ["G"]
    logs = trainer.train_step()
    assert "loss_D" not in logs and "adv_G" not in logs


def test_the_step_masks_come_from_seed_and_step(tmp_path, monkeypatch):
    seen = []
    trainer = Trainer(tiny_config("inpaint-gan", "train.seed=5", steps=3), tmp_path / "run", data=labelled_data(16))
    real_masks = trainer.objective.masks
    monkeypatch.setattr(trainer.objective, "masks", lambda *a: seen.append(real_masks(*a)) or seen[-1])
    trainer.train_step()
    trainer.train_step()
    assert torch.equal(seen[0], make_masks("box", 8, 32, 32, batch_generator(5, 0)))
    assert torch.equal(seen[1], make_masks("box", 8, 32, 32, batch_generator(5, 1)))


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("loss.mask=circle", "loss.mask=circle"),
        ("loss.rec=l3", "loss.rec=l3"),
        ("loss.adv_weight=-1", "loss.adv_weight=-1"),
        ("model.dilated=9", "model.dilated=9"),
    ],
)
def test_bad_options_are_one_line(override, fragment):
    with pytest.raises(UserError, match=fragment.replace(".", r"\.")):
        tiny_config("inpaint-gan", override)
