"""train.augment reaches D's input in every family whose objective reads it: D sees augmented real
images in its own phase and augmented fakes in G's phase (DiffAugment, and ADA once its p > 0)."""

import pytest
import torch

from ganforge.data import Data
from ganforge.models import MODELS
from ganforge.objectives import StepState
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config

AUGMENTING = [f for f in MODELS.keys() if "augment" in MODELS.get(f).objective.train_keys]


def test_the_image_families_augment():
    assert len(AUGMENTING) >= 6
    assert all(not MODELS.get(f).translates for f in AUGMENTING)


@pytest.mark.parametrize("mode", ["diffaugment", "ada"])
@pytest.mark.parametrize("family", AUGMENTING)
def test_d_sees_augmented_images(family, mode, tmp_path):
    tensors = MODELS.get(family).example_data((1, 32, 32))
    data = Data(tensors["x"], tensors["y"], tuple(str(i) for i in range(10)))
    extra = ["train.augment_policy=translation,cutout", "train.augment=" + mode]
    if mode == "ada":
        extra.append("train.augment_p=1.0")  # ADA's starting p: every transform applied
    trainer = Trainer(tiny_trainer_config(family, extra), tmp_path / "run", data=data)
    seen, made = [], []
    trainer.nets["D"].register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    trainer.nets["G"].register_forward_hook(lambda m, args, out: made.append(out.detach().clone()))
    batch = {"x": data.x[:16], "y": data.y[:16]}
    trainer.objective.d_step(batch, StepState(0))
    assert seen[0].shape == batch["x"].shape and not torch.equal(seen[0], batch["x"])  # real, augmented
    seen.clear(), made.clear()
    trainer.objective.g_step(batch, StepState(0))
    assert len(made) == 1 and len(seen) >= 1
    assert seen[0].shape == made[0].shape and not torch.equal(seen[0], made[0])  # fake, augmented
