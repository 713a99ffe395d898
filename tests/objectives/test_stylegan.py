"""What training StyleGAN2 does: the lazy R1 and path-length phases on their intervals, R1 in every
D step when not lazy, and the path-length mean and w_avg across save, load and resume."""

import numpy as np
import torch

from ganforge.api import load
from ganforge.config import load_config
from ganforge.inference.styles import sample_truncated
from ganforge.training.loop import Trainer

from tests_helpers import STYLEGAN_TINY as TINY_SG
from tests_helpers import style_data as tiny_data


def test_lazy_regularisers_run_only_on_their_interval(tmp_path):
    cfg = load_config(
        None,
        [*TINY_SG, "train.steps=9", "loss.r1=1.0", "loss.reg_interval=4", "loss.pl_weight=1.0", "loss.pl_interval=3"],
    )
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_data())
    names = {p.name: p.interval for p in trainer.objective.phases()}
    assert names == {"D": 1, "G": 1, "Dreg": 4, "Greg": 3}
    for step in range(9):
        logs = trainer.train_step()
        assert ("reg_r1" in logs) == (step % 4 == 0), (step, logs)
        assert ("reg_pl" in logs) == (step % 3 == 0), (step, logs)
        assert all(np.isfinite(v) for v in logs.values())
    assert trainer.objective.pl_mean.item() > 0  # the running target moved
    assert trainer.nets["G"].mapping.w_avg.abs().sum() > 0  # w_avg followed training


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
    torch.testing.assert_close(model.generator.mapping.w_avg, trainer.nets["G"].mapping.w_avg)  # buffers follow G
    a = model.sample(3, seed=5)
    torch.testing.assert_close(a, model.sample(3, seed=5, batch_size=1))
    torch.testing.assert_close(a, sample_truncated(model, 3, seed=5, psi=1.0))
    t = model.sample(3, seed=5, truncation=0.0)  # psi in W through the API
    torch.testing.assert_close(t[1], t[0])
    resumed = Trainer(
        load_config(None, [*TINY_SG, "train.steps=4", "loss.pl_weight=1.0", "loss.pl_interval=1"]),
        tmp_path / "run",
        resume=True,
        data=tiny_data(),
    )
    torch.testing.assert_close(resumed.objective.pl_mean, trainer.objective.pl_mean)
