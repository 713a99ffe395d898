"""The srgan family (models/srgan.py, objectives/superres.py): SRResNet shapes, one SRResNet step
(content loss only, no D), one SRGAN step from an SRResNet run (model.init_from), the perceptual
loss's feature networks, and its options' errors."""

import pytest
import torch

from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.models.srgan import SRResNet, VGGDiscriminator, example_photos
from ganforge.objectives.superres import layer_index, load_feature_net, vgg19_features
from ganforge.training.checkpoint import load_latest
from ganforge.training.loop import Trainer

from conftest import QUIET

TINY_SR = [
    "model.family=srgan",
    "model.g_width=8",
    "model.resnet_blocks=1",
    "model.d_width=4",
    "train.batch_size=4",
    *QUIET,
]


def photos(n=8, size=32):
    return Data(example_photos((3, size, size), n)["x"])


def train(run, steps=1, extra=()):
    cfg = load_config(None, [*TINY_SR, f"train.steps={steps}", *extra])
    trainer = Trainer(cfg, run, data=photos())
    trainer.fit()
    return trainer


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_upscales_by_its_factor(scale):
    G = SRResNet(3, scale, width=8, blocks=2, norm="batch", kernel=9)
    assert G(torch.randn(2, 3, 5, 7)).shape == (2, 3, 5 * scale, 7 * scale)


def test_bicubic_skip_starts_from_bicubic():
    G = SRResNet(3, 4, width=4, blocks=1, norm="none", kernel=3, bicubic_skip=True)
    torch.nn.init.zeros_(G.tail.weight)
    torch.nn.init.zeros_(G.tail.bias)
    x = torch.rand(1, 3, 6, 6) * 2 - 1
    want = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", antialias=True, align_corners=False)
    torch.testing.assert_close(G(x), want)


def test_vgg_discriminator_gives_one_logit_per_crop():
    D = VGGDiscriminator(3, 32, width=4)
    assert D(torch.randn(3, 3, 32, 32)).shape == (3,)
    with pytest.raises(UserError, match="multiple of 16"):
        VGGDiscriminator(3, 40)


def test_one_srresnet_step_has_no_discriminator(tmp_path):
    trainer = train(tmp_path / "run", steps=2)
    assert set(trainer.nets) == {"G"} and set(trainer.opts) == {"G"}
    assert [p.name for p in trainer.objective.phases()] == ["G"]
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert '"mse"' in rows[-1]  # the content loss, mse by default


@pytest.mark.parametrize("discriminator", ["vgg", "patch"])
def test_one_srgan_step_from_an_srresnet_run(tmp_path, discriminator):
    train(tmp_path / "srresnet", steps=2)
    start = load_latest(tmp_path / "srresnet").weights["G_ema"]
    cfg = load_config(
        None,
        [
            *TINY_SR,
            "train.steps=1",
            "model.stage=srgan",
            f"model.discriminator={discriminator}",
            "model.d_layers=2",
            f"model.init_from={tmp_path / 'srresnet'}",
            "loss.feature_layer=conv2_2",
        ],
    )
    trainer = Trainer(cfg, tmp_path / "srgan", data=photos())
    torch.testing.assert_close(trainer.nets["G"].state_dict(), start, rtol=0, atol=0)  # G starts as SRResNet's EMA G
    assert set(trainer.nets) == {"G", "D"} and [p.name for p in trainer.objective.phases()] == ["G", "D"]
    logs = trainer.train_step()
    assert {"mse", "perceptual", "adv_G", "loss_G", "loss_D"} <= logs.keys()
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    assert not torch.equal(trainer.nets["G"].state_dict()["tail.weight"], start["tail.weight"])  # G learned


def test_init_from_refuses_another_family_or_another_shape(tmp_path):
    from tests_helpers import labelled_data, tiny_trainer_config

    train(tmp_path / "srresnet")
    Trainer(tiny_trainer_config("dcgan"), tmp_path / "dcgan", data=labelled_data(16)).fit()
    for source, extra, message in [
        ("srresnet", ["model.g_width=16"], "its G has model.g_width=8, this run 16"),
        ("dcgan", [], "a dcgan run, not an srgan one"),
    ]:
        cfg = load_config(None, [*TINY_SR, *extra, f"model.init_from={tmp_path / source}"])
        with pytest.raises(UserError, match=message):
            Trainer(cfg, tmp_path / "b", data=photos())
        assert not (tmp_path / "b").exists()  # nothing written for a bad input


def test_vgg19_layout_matches_torchvision():
    """The feature network's layers carry torchvision's names and shapes, so its vgg19 weights load."""
    from torchvision.models import vgg19

    with torch.device("meta"):  # no weights allocated, nothing downloaded
        ref = vgg19().features[:36].state_dict()
    ours = vgg19_features(1.0, 36).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in ref.items()}
    assert layer_index("conv5_4") == 36 and layer_index("conv2_2") == 9 and layer_index("relu1_1") == 2


def test_a_local_vgg19_weight_file_is_loaded_without_unpickling(tmp_path):
    from ganforge.objectives.superres import SuperResLoss

    torch.manual_seed(0)
    net = vgg19_features(1.0, 9)
    state = {f"features.{k}": v for k, v in net.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the rest of torchvision's file is ignored
    torch.save(state, tmp_path / "vgg19.pth")
    cfg = SuperResLoss(feature_net="vgg19", vgg_weights=str(tmp_path / "vgg19.pth"), feature_layer="conv2_2")
    loaded = load_feature_net(cfg)
    torch.testing.assert_close(loaded.state_dict(), net.state_dict())
    (tmp_path / "bad.pth").write_bytes(b"not a state dict")
    with pytest.raises(UserError, match="not a readable state dict"):
        load_feature_net(SuperResLoss(feature_net="vgg19", vgg_weights=str(tmp_path / "bad.pth")))


def test_random_feature_network_is_fixed_by_its_seed():
    from ganforge.objectives.superres import SuperResLoss

    a = load_feature_net(SuperResLoss(feature_layer="conv2_2"))
    b = load_feature_net(SuperResLoss(feature_layer="conv2_2"))
    c = load_feature_net(SuperResLoss(feature_layer="conv2_2", feature_seed=1))
    torch.testing.assert_close(a.state_dict(), b.state_dict())
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.stage=gan"], "model.stage=gan: choose srresnet or srgan"),
        (["model.scale=3"], "model.scale=3: choose 2, 4 or 8"),
        (["data.resolution=30"], "multiple of model.scale=4"),
        (["loss.perceptual_weight=2"], "no effect in model.stage=srresnet"),
        (["model.stage=srgan", "loss.feature_net=vgg19"], "needs loss.vgg_weights"),
        (["model.stage=srgan", "loss.feature_layer=conv6_1"], "a VGG19 layer such as conv5_4"),
        (["loss.content=l2"], "choose mse or l1"),
    ],
)
def test_bad_options_are_one_line(overrides, message):
    with pytest.raises(UserError, match=message):
        load_config(None, [*TINY_SR, *overrides])


def test_resume_is_exact(tmp_path):
    """The crops' symmetries are drawn from (seed, step) and the pool is indexed by BatchStream, so 2 + 2
    resumed steps give the weights of 4 straight ones."""
    straight = train(tmp_path / "a", steps=4).nets["G"].state_dict()
    cfg = load_config(None, [*TINY_SR, "train.steps=2", "train.ckpt_every=2"])
    Trainer(cfg, tmp_path / "b", data=photos()).fit()
    cfg4 = load_config(None, [*TINY_SR, "train.steps=4"])
    resumed = Trainer(cfg4, tmp_path / "b", resume=True, data=photos())
    resumed.fit()
    torch.testing.assert_close(resumed.nets["G"].state_dict(), straight, rtol=0, atol=0)
