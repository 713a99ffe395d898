"""The DATASETS registry's toy mixtures (ring8, grid25) and BatchStream, the batch order as a pure
function of the position (and of the rank under DDP)."""

import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import BatchStream, build_dataset
from ganforge.data.datasets import MIXTURES


@pytest.mark.parametrize("name, k, sigma", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_toy_mixtures(name, k, sigma):
    mix = MIXTURES[name]()
    assert mix.modes.shape == (k, 2) and mix.sigma == sigma
    pts = mix.sample(20000, torch.Generator().manual_seed(0))
    d = torch.cdist(pts, mix.modes).min(1).values / sigma
    assert (d < 3).float().mean() > 0.98  # ~98.9% of a 2-D Gaussian lies within 3 sigma
    counts = torch.bincount(torch.cdist(pts, mix.modes).argmin(1), minlength=k)
    assert counts.min() > 20000 / k * 0.8
    if name == "ring8":
        assert torch.allclose(mix.modes.norm(dim=1), torch.ones(8))
    data = build_dataset(DataConfig(name=name))
    assert data.x.shape == (100_000, 2)


def test_batch_stream_is_a_function_of_position():
    a = BatchStream(100, 16, seed=3)
    seq = [a.next() for _ in range(20)]  # crosses epochs (6 batches each)
    b = BatchStream(100, 16, seed=3)
    b.position = 13
    assert torch.equal(b.next(), seq[13])
    epoch0 = torch.cat(seq[:6])
    assert len(set(epoch0.tolist())) == 96  # no repeats inside an epoch
    ranks = [BatchStream(100, 8, seed=3, rank=r, world=2).next() for r in range(2)]
    assert not set(ranks[0].tolist()) & set(ranks[1].tolist())
