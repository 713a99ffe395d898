"""Every adversarial loss equals its formula on hand-computed logits, keeps the one sign convention
(D's logit high for real), and the generation objective feeds relativistic losses D(real) in G's phase."""

import math

import pytest
import torch

from ganforge.config import load_config
from ganforge.losses import LOSSES, AdversarialLoss
from ganforge.training.loop import Trainer

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])
r, f = [2.0, -1.0], [0.5, -3.0]


def sp(x: float) -> float:  # softplus, written out: log(1 + e^x)
    return math.log1p(math.exp(x))


def mean(xs) -> float:
    return sum(xs) / len(xs)


# name -> (D loss, G loss) computed by hand from the formulas in the papers, in plain floats
EXPECTED = {
    # -log sigmoid(r) - log(1 - sigmoid(f)) = softplus(-r) + softplus(f)
    "minimax": (mean([sp(-x) for x in r]) + mean([sp(x) for x in f]), -mean([sp(x) for x in f])),
    "nonsaturating": (mean([sp(-x) for x in r]) + mean([sp(x) for x in f]), mean([sp(-x) for x in f])),
    "lsgan": (
        0.5 * mean([(x - 1) ** 2 for x in r]) + 0.5 * mean([x**2 for x in f]),
        0.5 * mean([(x - 1) ** 2 for x in f]),
    ),
    "hinge": (mean([max(0.0, 1 - x) for x in r]) + mean([max(0.0, 1 + x) for x in f]), -mean(f)),
    "wasserstein": (mean(f) - mean(r), -mean(f)),
    "ragan": (
        mean([sp(-(x - mean(f))) for x in r]) + mean([sp(x - mean(r)) for x in f]),
        mean([sp(-(x - mean(r))) for x in f]) + mean([sp(x - mean(f)) for x in r]),
    ),
}


def test_every_registered_loss_is_checked():
    assert set(LOSSES.keys()) >= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_equals_formula(name):
    loss = LOSSES.get(name)
    d_ref, g_ref = EXPECTED[name]
    torch.testing.assert_close(loss.d(real=REAL, fake=FAKE), torch.tensor(d_ref), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(loss.g(fake=FAKE, real=REAL), torch.tensor(g_ref), rtol=1e-6, atol=1e-6)


def test_hand_values():
    # a few numbers worked on paper, so a formula slip shared by code and EXPECTED still shows up
    assert abs(LOSSES.get("wasserstein").d(real=REAL, fake=FAKE).item() - (-1.25 - 0.5)) < 1e-6
    assert abs(LOSSES.get("hinge").d(real=REAL, fake=FAKE).item() - (1.0 + 0.75)) < 1e-6  # (0 + 2)/2 + (1.5 + 0)/2
    assert abs(LOSSES.get("lsgan").g(fake=FAKE).item() - 0.5 * (0.25 + 16.0) / 2) < 1e-6


@pytest.mark.parametrize("name", LOSSES.keys())
def test_sign_convention(name):
    """D's loss is lower when real logits are high and fake ones low; G's when fake logits are high."""
    loss = LOSSES.get(name)
    hi, lo = torch.full((4,), 3.0), torch.full((4,), -3.0)
    mid = torch.tensor([0.0, 0.5, -0.5, 1.0])
    assert loss.d(real=hi, fake=lo) < loss.d(real=lo, fake=hi)
    assert loss.g(fake=hi, real=mid) < loss.g(fake=lo, real=mid)


def test_ragan_g_needs_real():
    assert LOSSES.get("ragan").g_needs_real
    with pytest.raises(ValueError, match="real"):
        LOSSES.get("ragan").g(fake=FAKE)


def test_objective_passes_real_logits_to_relativistic_g(tmp_path):
    cfg = load_config(
        "ring8-gan",
        [
            "loss.name=ragan",
            "train.steps=1",
            "train.batch_size=8",
            "data.num_points=64",
            "model.hidden=8",
            "model.depth=1",
            "train.progress=false",
            "train.tensorboard=false",
            "train.sample_every=0",
        ],
    )
    trainer = Trainer(cfg, tmp_path / "run")
    seen = []
    base = trainer.objective.adv

    def g(*, fake, real=None):
        seen.append(real)
        return base.g(fake=fake, real=real)

    trainer.objective.adv = AdversarialLoss(d=base.d, g=g, g_needs_real=True)
    trainer.train_step()
    assert len(seen) == 1 and seen[0] is not None and seen[0].shape == (8,)
