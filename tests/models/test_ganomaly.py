"""GANomaly: the networks' shapes, the score as the latent distance, scores scaled to [0, 1] on the
training set (recorded by the run's last checkpoint, or computed for one along the way), and
data.exclude_classes, which holds the anomaly class out of training."""

import pytest
import torch
from torch import nn

from ganforge.api import load
from ganforge.config import load_config
from ganforge.data import build_dataset
from ganforge.errors import UserError
from ganforge.inference.anomaly import default_threshold, score_range
from ganforge.models import MODELS
from ganforge.models.ganomaly import GANomalyConfig, build_ganomaly
from ganforge.objectives.anomaly import latent_distance, raw_scores
from ganforge.schema import DataConfig
from ganforge.training.loop import Trainer

from conftest import QUIET
from tests_helpers import labelled_data

TINY_GANOMALY = ["model.family=ganomaly", "model.z_dim=8", "model.g_width=4", "model.d_width=4"]


@pytest.mark.parametrize("res", [28, 32])
def test_network_shapes(res):
    nets = build_ganomaly(GANomalyConfig(z_dim=8, g_width=4, d_width=4), (1, res, res))
    x = torch.rand(3, 1, res, res) * 2 - 1
    x_hat, z, z_hat = nets["G"](x)
    assert x_hat.shape == x.shape and z.shape == z_hat.shape == (3, 8)
    assert x_hat.abs().max() <= 1  # Tanh out, as the data
    assert nets["D"](x).shape == (3,)
    features = {32: (3, 16, 4, 4), 28: (3, 8, 7, 7)}[res]  # width 4 doubled per level down to the base
    assert nets["D"](x, features=True).shape == features
    family = MODELS.get("ganomaly")
    assert family.detects and not family.generates and family.truncation is None
    assert MODELS.get("dcgan").generates and not MODELS.get("dcgan").detects  # the default keeps other families


def test_no_table_rows():
    with pytest.raises(UserError, match="square images"):
        build_ganomaly(GANomalyConfig(), (5,))


class FixedG(nn.Module):
    """A stand-in G whose input carries its encodings: x = [z | z_hat] per sample."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))  # a device to run on

    def forward(self, x):
        v = x.flatten(1)
        return x, v[:, :2], v[:, 2:]


def test_score_is_the_latent_distance_on_a_hand_case():
    z = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]])
    z_hat = torch.tensor([[1.0, 1.0], [1.0, 0.0], [3.0, -1.0]])
    expected = torch.tensor([1.0, 2.0, 0.0])  # mean((z - z_hat)^2): (1 + 1) / 2, (0 + 4) / 2, 0
    torch.testing.assert_close(latent_distance(z, z_hat), expected)
    x = torch.cat([z, z_hat], 1).view(3, 1, 1, 4)
    torch.testing.assert_close(raw_scores(FixedG(), x, batch_size=2), expected)  # in two batches


def tiny_run(tmp_path, data, steps=2, seed=0):
    cfg = load_config(
        None, [*TINY_GANOMALY, *QUIET, f"train.steps={steps}", "train.batch_size=16", f"train.seed={seed}"]
    )
    Trainer(cfg, tmp_path, data=data).fit()
    return load(tmp_path)


def test_scaled_scores_span_0_to_1_on_the_training_set(tmp_path):
    data = labelled_data(48)
    model = tiny_run(tmp_path / "run", data)
    facts = model.checkpoint.state["objective_state"]  # the last checkpoint records the range
    assert facts["score_min"] <= facts["score_p99"] <= facts["score_max"]
    s = model.detect(data.x)
    assert s.shape == (48,)
    torch.testing.assert_close(s.min().item(), 0.0, atol=1e-6, rtol=0)
    torch.testing.assert_close(s.max().item(), 1.0, atol=1e-6, rtol=0)
    assert 0 <= default_threshold(model) <= 1
    # not clamped: an image unlike the training set may leave [0, 1]; the ranking is the raw distance's
    other = torch.ones(4, 1, 32, 32)
    raw = raw_scores(model.networks["G"], torch.cat([data.x, other]))
    assert torch.equal(model.detect(torch.cat([data.x, other])).argsort(), raw.double().argsort())
    with pytest.raises(UserError, match="do not fit"):
        model.detect(torch.zeros(2, 1, 28, 28))
    # a detector does not sample from noise, nor export a sampling graph
    with pytest.raises(UserError, match="use 'ganforge detect'"):
        model.sample(2)
    with pytest.raises(UserError, match="no sampling graph"):
        model.export(tmp_path / "g.pt", "torchscript")


def test_a_checkpoint_along_the_way_computes_the_range_from_its_data(tmp_path):
    cfg = load_config(
        None,
        [*TINY_GANOMALY, *QUIET, "train.steps=2", "train.batch_size=16", "data.split=test", "data.limit=40"]
        + ["data.resolution=32"],
    )
    Trainer(cfg, tmp_path / "run").fit()
    model = load(tmp_path / "run")
    recorded = dict(model.checkpoint.state.pop("objective_state"))
    assert score_range(model) == pytest.approx(recorded, rel=1e-6)  # recomputed from the data config


def test_exclude_classes_holds_a_class_out(shared_data):
    cfg = DataConfig(name="mnist", split="test", root=str(shared_data), exclude_classes=[3, 5])
    data = build_dataset(cfg)
    assert len(data) == 10000 - 1010 - 892 and not torch.isin(data.y, torch.tensor([3, 5])).any()
    assert data.classes[3] == "3"  # labels keep their meaning
    with pytest.raises(UserError, match="classes 0 to 9, not \\[10\\]"):
        build_dataset(DataConfig(name="mnist", split="test", root=str(shared_data), exclude_classes=[10]))
    with pytest.raises(UserError, match="no class labels"):
        build_dataset(DataConfig(name="ring8", exclude_classes=[0]))
