"""train.compile: the D and G phases run torch.compile'd forward passes and train as the eager loop
does (to rounding); the penalties' double backward reads the modules themselves."""

import torch

from ganforge.data.base import Data
from ganforge.objectives.adversarial import unwrap
from ganforge.training.loop import Trainer

from tests_helpers import tiny_trainer_config


def train(tmp_path, name, *overrides):
    """(trainer, G's weights before, G's weights after) of 2 steps on fixed data."""
    data = Data(torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    # an eager R1 penalty in D's phase: a double backward through D, outside the compiled forward
    cfg = tiny_trainer_config("dcgan", ["loss.r1=1", *overrides], steps=2)
    trainer = Trainer(cfg, tmp_path / name, data=data)
    before = torch.cat([p.detach().flatten().clone() for p in trainer.nets["G"].parameters()])
    trainer.fit()
    after = torch.cat([p.detach().flatten().clone() for p in trainer.nets["G"].parameters()])
    return trainer, before, after


def test_compiled_training_matches_eager(tmp_path):
    compiled, init_c, after_c = train(tmp_path, "compiled", "train.compile=true")
    assert type(compiled.wrapped["D"]).__name__ == "OptimizedModule"
    assert unwrap(compiled.wrapped["D"]) is compiled.nets["D"]  # penalties read the module itself
    assert compiled.cfg.train.compile is True
    _, init_e, after_e = train(tmp_path, "eager")
    torch.testing.assert_close(init_c, init_e, atol=0, rtol=0)  # the same start
    update = (after_e - init_e).abs()
    assert update.mean() > 1e-5  # the eager run moved G
    # the compiled run took the same steps: Adam's updates agree except where a near-zero gradient's
    # sign rounds the other way (a few percent of the weights, each by at most 2 lr per step)
    differ = (after_c - after_e).abs() > 1e-6
    assert differ.float().mean() < 0.05
    assert (after_c - after_e).abs().mean() < 0.01 * update.mean()
