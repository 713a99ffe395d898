"""The Python API (ganforge.api): `ganforge.load` from a run directory, its checkpoints/ folder or one
checkpoint folder, `GanModel.sample` reproducible from its seed alone, a translation model's `sample`
a user error, and what a GanModel tells about itself."""

import pytest
import torch

import ganforge
from ganforge.api import GanModel, load
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.models import MODELS
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

SHAPE = (1, 32, 32)


def train_tiny(run, family: str = "dcgan", extra=(), steps: int = 3) -> Trainer:
    tensors = MODELS.get(family).example_data(SHAPE)
    data = Data(tensors.pop("x"))
    data.extra.update({k: v for k, v in tensors.items() if k != "y"})
    cfg = tiny_trainer_config(family, ["train.ckpt_every=1", "train.keep_ckpts=5", *extra], steps=steps)
    trainer = Trainer(cfg, run, data=data)
    trainer.fit()
    return trainer


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    """A 3-step tiny DCGAN with an EMA generator and a checkpoint after every step."""
    run = tmp_path_factory.mktemp("api") / "run"
    return run, train_tiny(run, extra=["train.ema=0.9"])


def test_run_dir_checkpoints_folder_and_one_checkpoint_load_the_same_weights(dcgan_run):
    run, _ = dcgan_run
    newest = sorted((run / "checkpoints").glob("step_*"))[-1]
    models = [ganforge.load(run), ganforge.load(run / "checkpoints"), ganforge.load(newest)]
    assert all(isinstance(m, GanModel) for m in models)  # the package's load is the API's
    assert [m.step for m in models] == [3, 3, 3]
    for other in models[1:]:
        assert other.networks.keys() == models[0].networks.keys() == {"G", "D"}
        for name, net in models[0].networks.items():
            torch.testing.assert_close(other.networks[name].state_dict(), net.state_dict(), rtol=0, atol=0)
    older = ganforge.load(run / "checkpoints" / "step_00000001")  # a checkpoint folder is read as it is
    assert older.step == 1
    assert not torch.equal(older.networks["D"].net[0].weight, models[0].networks["D"].net[0].weight)


def test_sample_is_reproducible_from_the_seed_and_independent_of_batch_size(dcgan_run):
    model = load(dcgan_run[0])
    rng = torch.get_rng_state()
    a = model.sample(7, seed=3)
    assert a.shape == (7, *SHAPE) and torch.isfinite(a).all()
    torch.testing.assert_close(model.sample(7, seed=3), a, rtol=0, atol=0)
    for batch_size in (1, 2, 5):
        torch.testing.assert_close(model.sample(7, seed=3, batch_size=batch_size), a)
    assert not torch.allclose(model.sample(7, seed=4), a)
    assert torch.equal(torch.get_rng_state(), rng)  # sampling never moves the global RNG


def test_a_translation_models_sample_is_a_user_error(tmp_path):
    train_tiny(tmp_path / "run", "pix2pix", steps=1)
    model = load(tmp_path / "run")
    assert model.family.translates
    with pytest.raises(UserError, match=r"pix2pix model translates images and does not sample .*ganforge translate"):
        model.sample(2)
    assert model.translate(torch.zeros(2, *SHAPE)).shape == (2, *SHAPE)  # what it does instead


def test_gan_model_tells_what_it_is(dcgan_run, tmp_path):
    run, trainer = dcgan_run
    model = load(run)
    assert isinstance(model, GanModel) and isinstance(model, LoadedModel)
    assert model.config.to_dict() == trainer.cfg.to_dict()
    assert model.family is MODELS.get("dcgan") and model.family.name == model.config.model.family == "dcgan"
    assert model.step == 3 and model.data_shape == SHAPE and model.num_classes == 0
    assert model.uses_ema == ["G"]  # G is the EMA generator, D the live one
    torch.testing.assert_close(model.generator.state_dict(), trainer.ema.model.state_dict(), rtol=0, atol=0)
    torch.testing.assert_close(model.networks["D"].state_dict(), trainer.nets["D"].state_dict(), rtol=0, atol=0)
    assert model.run_dir == run and model.z_dim == trainer.cfg.model.z_dim and not model.conditional
    assert all(not net.training for net in model.networks.values())
    train_tiny(tmp_path / "plain", extra=["train.ema=none"], steps=1)
    assert load(tmp_path / "plain").uses_ema == []


def test_ema_false_loads_the_live_generator(dcgan_run):
    run, trainer = dcgan_run
    live = load(run, ema=False)
    assert live.uses_ema == []
    torch.testing.assert_close(live.generator.state_dict(), trainer.nets["G"].state_dict(), rtol=0, atol=0)
    ema = load(run).generator.state_dict()
    assert any(not torch.equal(ema[k], v) for k, v in live.generator.state_dict().items())  # two different G
    with pytest.raises(UserError, match="zoo entries hold only the EMA weights"):
        load("zoo:dcgan-mnist", ema=False)
    assert ganforge.load(run, ema=False).uses_ema == []  # the package-level entry point passes it on
