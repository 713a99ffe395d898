"""The SNGAN-style ResNet family: shapes at the resolutions it supports, spectral norm by default,
one finite step with every registered loss, and a save -> load round trip."""

import pytest
import torch

from ganforge.api import load
from ganforge.config import load_config
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.losses import LOSSES
from ganforge.models import MODELS
from ganforge.models.resnet import resnet_plan
from ganforge.training.loop import Trainer

SMALL = [
    "model.family=resnet",
    "model.z_dim=8",
    "model.g_width=2",
    "model.d_width=4",
    "train.batch_size=4",
    "train.progress=false",
    "train.tensorboard=false",
    "train.sample_every=0",
    "train.threads=1",
]


def images(c=3, res=32, n=8) -> Data:
    return Data(torch.rand(n, c, res, res, generator=torch.Generator().manual_seed(0)) * 2 - 1)


@pytest.mark.parametrize("res, plan", [(32, (4, 3)), (28, (7, 2)), (64, (4, 4)), (48, (6, 3))])
def test_plan(res, plan):
    assert resnet_plan(res) == plan


def test_unsupported_resolution_is_a_user_error():
    with pytest.raises(UserError, match="data.resolution"):
        resnet_plan(9)


@pytest.mark.parametrize("shape", [(1, 32, 32), (3, 32, 32), (1, 28, 28)])
def test_default_config_shapes(shape):
    nets = MODELS.get("resnet").build(load_config(None, ["model.family=resnet"]).model, shape, 0)
    G, D = nets["G"], nets["D"]
    assert G.width == 256  # SNGAN's CIFAR widths at the defaults
    with torch.no_grad():
        x = G(torch.randn(2, 100))
        assert x.shape == (2, *shape) and x.abs().max() <= 1
        assert D(x).shape == (2,)
    assert any("parametrizations" in k for k in D.state_dict())  # spectral norm on by default
    assert not any("parametrizations" in k for k in G.state_dict())


@pytest.mark.parametrize("loss", LOSSES.keys())
def test_one_finite_step_with_every_loss(loss, tmp_path):
    extra = ["loss.gp=10"] if loss == "wasserstein" else []
    trainer = Trainer(
        load_config(None, [*SMALL, f"loss.name={loss}", "train.steps=1", *extra]), tmp_path / "r", data=images()
    )
    logs = trainer.train_step()
    assert logs and all(torch.isfinite(torch.tensor(v)) for v in logs.values()), logs


def test_save_load_round_trip_with_pack_and_mbstd(tmp_path):
    cfg = load_config(None, [*SMALL, "train.steps=2", "model.pack=2", "model.mbstd=2", "model.g_sn=true"])
    trainer = Trainer(cfg, tmp_path / "run", data=images(1))
    trainer.fit()
    model = load(tmp_path / "run")
    torch.testing.assert_close(model.networks["D"].state_dict(), trainer.nets["D"].state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(model.networks["G"].state_dict(), trainer.ema.model.state_dict(), rtol=0, atol=0)
    assert model.sample(3, seed=1).shape == (3, 1, 32, 32)
    assert model.networks["D"](torch.zeros(4, 1, 32, 32)).shape == (2,)  # packs of 2
