"""Mode-collapse measures (VEEGAN / PacGAN definitions) on hand-made samples, and the Stacked MNIST data set."""

import math

import pytest
import torch

from ganforge.data.datasets import MIXTURES
from ganforge.modes import classify_channels, kl_to_uniform, mixture_scores, stacked_mnist_scores, stacked_mode_ids


def test_kl_to_uniform_hand_values():
    assert abs(kl_to_uniform(torch.tensor([2, 1, 1, 0])) - 0.5 * math.log(2)) < 1e-12  # p = (1/2, 1/4, 1/4, 0)
    assert kl_to_uniform(torch.tensor([5, 5, 5])) == pytest.approx(0.0, abs=1e-12)
    assert abs(kl_to_uniform(torch.tensor([0, 7, 0, 0, 0])) - math.log(5)) < 1e-12
    assert kl_to_uniform(torch.zeros(4)) == math.inf


def test_mixture_scores_hand_case():
    mix = MIXTURES["ring8"]()  # sigma 0.01: HQ within 0.03 of a mode
    m0, m1 = mix.modes[0], mix.modes[1]
    pts = torch.stack(
        [
            m0,
            m0 + torch.tensor([0.02, 0.0]),
            m0 - torch.tensor([0.0, 0.029]),
            m1 + torch.tensor([0.04, 0.0]),
            torch.tensor([0.0, 0.0]),
        ]
    )
    s = mixture_scores(pts, mix.modes, mix.sigma)
    assert s["modes"] == 1.0  # m1's only point is 4 sigma out: not captured
    assert s["hq"] == pytest.approx(3 / 5)
    assert s["reverse_kl"] == pytest.approx(math.log(8))  # every HQ point in one of 8 modes


def test_mixture_scores_on_the_modes_and_on_real_data():
    mix = MIXTURES["grid25"]()
    s = mixture_scores(mix.modes.repeat(4, 1), mix.modes, mix.sigma)
    assert s == {"modes": 25.0, "hq": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    # real samples: P(|N(0, I_2)| < 3) = 1 - exp(-9/2) = 0.98889 of them are HQ
    real = mix.sample(100_000, torch.Generator().manual_seed(0))
    s = mixture_scores(real, mix.modes, mix.sigma)
    assert s["modes"] == 25 and abs(s["hq"] - (1 - math.exp(-4.5))) < 0.002 and s["reverse_kl"] < 1e-3


def test_mixture_scores_diverged_generator():
    mix = MIXTURES["ring8"]()
    s = mixture_scores(torch.full((10, 2), float("nan")), mix.modes, mix.sigma)
    assert s["modes"] == 0 and s["hq"] == 0 and s["reverse_kl"] == math.inf
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        mixture_scores(torch.zeros(10, 3), mix.modes, mix.sigma)


def test_stacked_mode_ids_and_scores():
    digits = torch.tensor([[1, 2, 3], [0, 0, 9], [9, 9, 9]])
    assert stacked_mode_ids(digits).tolist() == [123, 9, 999]
    every = torch.stack([torch.arange(1000) // 100, torch.arange(1000) // 10 % 10, torch.arange(1000) % 10], 1)
    s = stacked_mnist_scores(every.repeat(3, 1))
    assert s["modes"] == 1000 and s["kl"] == pytest.approx(0.0, abs=1e-12)
    assert s["kl_digits"] == pytest.approx(0.0, abs=1e-12)
    s = stacked_mnist_scores(torch.tensor([[4, 5, 6]] * 10))
    assert s["modes"] == 1 and s["kl"] == pytest.approx(math.log(1000))
    assert s["kl_digits"] == pytest.approx(math.log(1000))  # all of it is in the digit frequencies
    s = stacked_mnist_scores(torch.arange(10).repeat(3, 1).T)  # (i, i, i): every digit equally often,
    assert s["modes"] == 10 and s["kl"] == pytest.approx(math.log(100))  # but the channels always agree
    assert s["kl_digits"] == pytest.approx(0.0, abs=1e-12)


def test_classify_channels_reads_each_channel_in_order():
    # a stand-in classifier: an image of constant value v is digit round((v + 1) * 4.5)
    def classify(grey):
        assert grey.shape[1:] == (1, 4, 4)
        d = ((grey.mean((1, 2, 3)) + 1) * 4.5).round().long()
        return torch.nn.functional.one_hot(d, 10).float()

    vals = torch.tensor([[-1.0, 1.0, 1 / 9], [-7 / 9, -1.0, 1.0]])  # digits (0, 9, 5), (1, 0, 9)
    images = vals[:, :, None, None].expand(2, 3, 4, 4)
    assert classify_channels(images, classify, batch_size=1).tolist() == [[0, 9, 5], [1, 0, 9]]


def test_stack_digits_labels_match_channels():
    from ganforge.data.stacked import stack_digits

    images = torch.arange(50, dtype=torch.uint8)[:, None, None].expand(50, 2, 2)  # image i is all i
    labels = torch.arange(50) % 10
    stacks, modes = stack_digits(images, labels, 200, torch.Generator().manual_seed(0))
    assert stacks.shape == (200, 3, 2, 2) and modes.shape == (200,)
    idx = stacks[:, :, 0, 0].long()  # [200, 3] source images
    assert torch.equal(modes, stacked_mode_ids(labels[idx]))
    assert len(set(modes.tolist())) > 100  # the channels are independent


def test_stacked_mnist_dataset_from_the_embedded_split():
    from ganforge.config import load_config
    from ganforge.data import build_dataset
    from ganforge.errors import UserError

    data = build_dataset(load_config(None, ["data.name=stacked-mnist", "data.split=test", "data.num_points=300"]).data)
    assert data.x.shape == (300, 3, 28, 28) and data.num_classes == 1000
    assert data.x.min() >= -1 and data.x.max() <= 1 and int(data.y.max()) < 1000
    with pytest.raises(UserError, match="data.channels"):
        build_dataset(load_config(None, ["data.name=stacked-mnist", "data.split=test", "data.channels=1"]).data)
