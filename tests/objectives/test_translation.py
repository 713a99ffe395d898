"""What training pix2pix and CycleGAN does: the pool of past fakes, the cycle loss, jitter as a
function of the step, exact resume with a full pool and the lr decay, the pure L1 baseline's phases,
and the two-domain data a translation family needs."""

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.objectives.translation import ImagePool, cycle_loss
from ganforge.training.loop import Trainer

from tests_helpers import TRANSLATION_TINY as TINY
from tests_helpers import tiny_translation as tiny


def test_image_pool_returns_a_past_image_about_half_the_time():
    torch.manual_seed(0)
    pool = ImagePool(50)
    first = torch.arange(50.0).view(50, 1, 1, 1)
    torch.testing.assert_close(pool.query(first), first)  # filling: every image passes through
    assert len(pool) == 50
    fresh = 1000 + torch.arange(2000.0).view(2000, 1, 1, 1)
    out = torch.cat([pool.query(fresh[i : i + 10]) for i in range(0, 2000, 10)])
    past = (out != fresh).flatten().float().mean().item()
    assert abs(past - 0.5) < 0.05, past
    assert len(pool) == 50
    assert ImagePool(0).query(fresh[:3]) is not None and torch.equal(ImagePool(0).query(fresh[:3]), fresh[:3])


def test_cycle_loss_is_zero_for_identity_mappings():
    a, b = torch.rand(4, 1, 8, 8) * 2 - 1, torch.rand(4, 3, 8, 8) * 2 - 1
    loss, made = cycle_loss(a, b, nn.Identity(), nn.Identity())
    assert loss.item() == 0.0
    torch.testing.assert_close(made["rec_a"], a)
    half = lambda x: 0.5 * x  # noqa: E731  not invertible by itself
    loss, _ = cycle_loss(a, a, half, half)
    torch.testing.assert_close(loss, 2 * (0.75 * a).abs().mean())


def test_cyclegan_resume_is_exact_with_a_full_pool(tmp_path):
    over = ["train.pool_size=4", "train.ckpt_every=2", "train.lr_decay_start=0.25", *tiny("cyclegan")]
    cfg = load_config("cyclegan-edges", ["train.steps=4", *over])
    straight = Trainer(cfg, tmp_path / "a")
    straight.fit()
    half = Trainer(cfg, tmp_path / "b")  # the same run, stopped after 2 steps
    half.train_step(), half.train_step()
    half.save()
    assert len(half.objective.pools["B"]) == 4
    resumed = Trainer(cfg, tmp_path / "b", resume=True)
    torch.testing.assert_close(resumed.objective.pools["B"].images, half.objective.pools["B"].images)
    resumed.fit()
    for name in straight.nets:
        torch.testing.assert_close(resumed.nets[name].state_dict(), straight.nets[name].state_dict(), rtol=0, atol=0)
    # the linear decay reached the optimisers: full lr at step 1, then (4 - step) / (4 - 1)
    assert [straight.objective.lr_scale(s) for s in range(4)] == [1.0, 1.0, 2 / 3, 1 / 3]
    assert straight.opts["G"].param_groups[0]["lr"] == pytest.approx(2e-4 / 3)


def test_pure_l1_baseline_has_no_discriminator_phase(tmp_path):
    cfg = load_config("pix2pix-edges-l1", ["train.steps=1", *TINY])
    trainer = Trainer(cfg, tmp_path / "run")
    assert [p.name for p in trainer.objective.phases()] == ["G"]
    before = {k: v.clone() for k, v in trainer.nets["D"].state_dict().items()}
    logs = trainer.train_step()
    assert "loss_D" not in logs and logs["loss_G"] == pytest.approx(100 * logs["l1"])
    torch.testing.assert_close(trainer.nets["D"].state_dict(), before)


def test_translation_family_needs_two_domains(tmp_path):
    cfg = load_config(None, ["model.family=pix2pix", "data.name=mnist", *TINY])
    with pytest.raises(UserError, match="needs two-domain data"):
        Trainer(cfg, tmp_path / "run")


def test_jitter_in_training_is_a_function_of_the_step(tmp_path):
    cfg = load_config(
        "pix2pix-edges", ["train.steps=1", "data.resolution=32", "data.load_size=36", "data.flip=true", *TINY]
    )
    trainer = Trainer(cfg, tmp_path / "run")
    batch = trainer.next_batch()
    a1, b1 = trainer.objective._pair(batch, 5, paired=True)
    a2, b2 = trainer.objective._pair(batch, 5, paired=True)
    torch.testing.assert_close(a1, a2)  # same step, same crops: resume-safe
    assert not torch.equal(a1, batch["x"])
    assert not torch.equal(a1, trainer.objective._pair(batch, 6, paired=True)[0])
    logs = trainer.train_step()
    assert np.isfinite(logs["loss_G"]) and np.isfinite(logs["loss_D"])
