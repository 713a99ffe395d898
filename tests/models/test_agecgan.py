"""Age-cGAN (models/agecgan.py, objectives/ageing.py, inference/ageing.py): one training step of G, D
and the encoder; the encoder waits for loss.encoder_start; the encoder + identity-preserving
optimisation round trip reconstructs better than the encoder alone on a fixed seed; groups by index
or name, range-checked."""

import pytest
import torch

from ganforge.api import load
from ganforge.data import Data
from ganforge.errors import UserError
from ganforge.inference.ageing import edit, group_index
from ganforge.objectives.ageing import latent_error
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

GROUPS = ("thinnest", "thin", "medium", "thick", "thickest")


def grouped(n: int = 32, seed: int = 0) -> Data:
    """n random 32 px images in 5 ordered groups."""
    gen = torch.Generator().manual_seed(seed)
    return Data(torch.rand(n, 1, 32, 32, generator=gen) * 2 - 1, torch.randint(0, 5, (n,), generator=gen), GROUPS)


def config(extra=(), steps=1):
    return tiny_trainer_config("agecgan", ["model.e_width=8", *extra], steps=steps)


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_latent_error_is_the_mean_squared_euclidean_distance():
    a, b = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert latent_error(a, b).item() == pytest.approx((5 + 25) / 2)


def test_one_step_trains_g_d_and_the_encoder_on_gs_samples(tmp_path):
    trainer = Trainer(config(["loss.encoder_start=0"]), tmp_path / "run", data=grouped())
    assert trainer.ema is None  # E inverts G as trained
    before = {k: snapshot(v) for k, v in trainer.nets.items()}
    logs = trainer.train_step()
    assert {"loss_D", "loss_G", "loss_E"} <= set(logs) and logs["loss_E"] > 0
    for name, net in trainer.nets.items():
        assert any(not torch.equal(before[name][k], v) for k, v in net.state_dict().items()), name


def test_the_encoder_waits_for_its_start(tmp_path):
    trainer = Trainer(config(["loss.encoder_start=0.5"], steps=4), tmp_path / "run", data=grouped())
    e0 = snapshot(trainer.nets["E"])
    logs = trainer.train_step()  # step 0 of 4: before 0.5 * 4
    assert "loss_E" not in logs
    assert all(torch.equal(e0[k], v) for k, v in trainer.nets["E"].state_dict().items())
    trainer.step = 2
    assert "loss_E" in trainer.train_step()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("age") / "run"
    Trainer(
        config(["loss.encoder_start=0", "g_optim.lr=2e-3", "d_optim.lr=2e-3"], steps=20), run, data=grouped(64)
    ).fit()
    return run


def test_latent_optimisation_improves_the_round_trip_on_a_fixed_seed(tiny_run):
    model = load(tiny_run)
    with torch.no_grad():  # images this G can draw, from latents the encoder has to find
        x = model.networks["G"](torch.randn(6, 16, generator=torch.Generator().manual_seed(3)), torch.full((6,), 2))
    plain = edit(model, x, "thick", source="medium", steps=0)
    torch.manual_seed(0)
    refined = edit(model, x, "thick", source="medium", steps=40)
    torch.testing.assert_close(plain.identity_distance, plain.encoder_distance)  # nothing refined
    torch.testing.assert_close(refined.encoder_distance, plain.encoder_distance)  # the same start
    assert (refined.identity_distance <= refined.encoder_distance).all()
    assert refined.identity_distance.mean() < 0.8 * refined.encoder_distance.mean()  # a real improvement
    assert refined.outputs.shape == (6, 1, 1, 32, 32) and refined.targets == [3]
    assert refined.source.tolist() == [2] * 6
    assert edit(model, x, 1, steps=0).source.shape == (6,)  # no source given: the nearest group
    strip = edit(model, x[:2], None, source="thin", steps=5)
    assert strip.outputs.shape == (2, 5, 1, 32, 32) and strip.source.tolist() == [1, 1]
    # the same seed, the same result
    torch.manual_seed(0)
    again = edit(model, x, "thick", source="medium", steps=40)
    torch.testing.assert_close(again.outputs, refined.outputs)


def test_groups_by_index_or_name_and_out_of_range(tiny_run):
    model = load(tiny_run)
    assert group_index(model, "thickest") == 4 and group_index(model, "2") == 2 and group_index(model, 0) == 0
    with pytest.raises(UserError, match="group 5 is out of range: this model has 5 groups, 0 to 4"):
        group_index(model, 5)
    with pytest.raises(UserError, match="unknown group 'old'"):
        group_index(model, "old")
    with pytest.raises(UserError, match="this model edits"):
        edit(model, torch.zeros(1, 1, 28, 28), 1)
