"""The contract every registered model family keeps: shapes, one finite training step, and a
save -> load round trip that reproduces every network exactly. Each family brings its own example
data (`Family.example_data`); nothing here names a family."""

import pytest
import torch

from ganforge.api import load
from ganforge.config import load_config
from ganforge.data import Data
from ganforge.models import MODELS
from ganforge.training.loop import Trainer

from conftest import TINY, tiny_model

SHAPE = (1, 32, 32)


def example_data(family: str) -> Data:
    tensors = MODELS.get(family).example_data(SHAPE)
    data = Data(tensors.pop("x"), tensors.pop("y", None), tuple(str(i) for i in range(10)))
    data.extra.update(tensors)
    return data


def tiny_config(family: str, steps: int = 1):
    shared = [o for o in TINY if not o.startswith(("data.", "model."))]
    return load_config(None, [*tiny_model(family), f"train.steps={steps}", *shared, "train.log_every=1"])


@pytest.mark.parametrize("family", MODELS.keys())
def test_family_contract(family, tmp_path):
    data = example_data(family)
    cfg = tiny_config(family)
    trainer = Trainer(cfg, tmp_path / "run", data=data)
    # shapes: G maps noise (or an input image) to data-shaped output; D gives one logit per sample
    fixed = trainer.objective.fixed_inputs(data, 4, 0)
    out = trainer.objective.preview({k: v for k, v in trainer.nets.items()}, fixed)
    assert out.shape[0] >= 4 and torch.isfinite(out).all()
    # one finite training step
    logs = trainer.train_step()
    assert logs and all(torch.isfinite(torch.tensor(v)) for v in logs.values()), logs
    for net in trainer.nets.values():
        assert all(torch.isfinite(p).all() for p in net.parameters())
    trainer.save()
    # save -> load round trip
    model = load(tmp_path / "run")
    for name, net in trainer.nets.items():
        ref = trainer.ema.model if (trainer.ema is not None and name == trainer.ema_name) else net
        torch.testing.assert_close(model.networks[name].state_dict(), ref.state_dict(), rtol=0, atol=0)


@pytest.mark.parametrize("family", [f for f in MODELS.keys() if MODELS.get(f).generates])
def test_generators_sample_reproducibly(family, tmp_path):
    data = example_data(family)
    trainer = Trainer(tiny_config(family), tmp_path / "run", data=data)
    trainer.fit()
    model = load(tmp_path / "run")
    a, b = model.sample(5, seed=3), model.sample(5, seed=3, batch_size=2)
    assert a.shape == (5, *data.shape)  # images [5, 1, 32, 32]; table rows [5, width]
    torch.testing.assert_close(a, b)  # batch size never changes what a seed gives
    assert not torch.equal(a, model.sample(5, seed=4))
