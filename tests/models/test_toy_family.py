"""A new family is one file: this test registers a toy family here (one model class, one config
dataclass, the shared adversarial objective) and trains, samples, checkpoints and resumes it
through the command line, with no edit anywhere else in ganforge."""

from dataclasses import dataclass

import pytest
import torch
from torch import Tensor, nn

from ganforge.cli import main
from ganforge.errors import UserError
from ganforge.models.registry import MODELS, register_family
from ganforge.schema import ModelConfig
from ganforge.training.checkpoint import load_latest


@dataclass
class ToyConfig(ModelConfig):
    family: str = "toy"
    z_dim: int = 8
    hidden: int = 16

    def validate(self, cfg) -> None:
        if self.hidden < 1:
            raise UserError(f"model.hidden={self.hidden}: must be >= 1")


class ToyGAN(nn.Module):
    """G: z -> image through one hidden layer; D: image -> logit. One class, two roles."""

    def __init__(self, n_in: int, n_out: int, hidden: int, shape=None):
        super().__init__()
        self.shape = shape
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_out))

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        out = self.net(x.flatten(1))
        return out.tanh().view(len(x), *self.shape) if self.shape else out.squeeze(1)


def build_toy(cfg: ToyConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """A toy family for the one-file test"""
    size = int(torch.tensor(shape).prod())
    return {"G": ToyGAN(cfg.z_dim, size, cfg.hidden, shape), "D": ToyGAN(size, 1, cfg.hidden)}


@pytest.fixture(autouse=True)
def toy_family(monkeypatch):
    """Registered for this file's tests only: the registry is restored after each, so no other test
    sees the toy family."""
    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))
    monkeypatch.setattr(MODELS, "_docs", dict(MODELS._docs))
    register_family("toy", ToyConfig)(build_toy)


COMMON = [
    "model.family=toy",
    "data.name=mnist",
    "data.split=test",
    "data.limit=128",
    "train.batch_size=16",
    "train.progress=false",
    "train.tensorboard=false",
    "train.threads=1",
    "train.log_every=1",
    "train.sample_every=2",
    "train.ckpt_every=2",
]


def weights(run):
    return {name: state for name, state in load_latest(run).weights.items()}


def test_a_family_registered_in_one_file_trains_samples_and_resumes(tmp_path, capsys):
    full, part = tmp_path / "full", tmp_path / "part"
    main(["train", *COMMON, "train.steps=4", "--out", str(full)])
    main(["train", *COMMON, "train.steps=2", "--out", str(part)])
    main(["train", "--resume", "train.steps=4", "--out", str(part)])
    assert load_latest(part).step == 4
    for name, state in weights(full).items():  # resumed == uninterrupted, bit for bit
        for key, tensor in state.items():
            assert torch.equal(tensor, weights(part)[name][key]), (name, key)
    main(["sample", str(part), "--n", "9", "--out", str(tmp_path / "grid.png")])
    assert (tmp_path / "grid.png").stat().st_size > 0
    main(["info", str(part)])
    assert "family:      toy" in capsys.readouterr().out


def test_the_toy_family_has_its_own_options(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["train", *COMMON, "model.g_width=8", "--dry-run"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main(["train", *COMMON, "model.hidden=0", "--dry-run"])
