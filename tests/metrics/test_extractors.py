"""Feature extractors: the inception-fid state-dict contract, the shipped LeNets, input checks."""

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.data.idx import load_idx_dataset
from ganforge.errors import UserError
from ganforge.metrics import EXTRACTORS, ModuleExtractor, get_extractor
from ganforge.metrics.extractors import INCEPTION_FILE, check_images


class NotATensor:  # a pickled object weights_only=True must refuse
    pass


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A state dict with pytorch-fid's key names and shapes (those of torchvision's Inception3
    with 1008 classes and no aux head, which pytorch-fid subclasses), filled with random values."""
    import torchvision

    torch.manual_seed(0)
    tv = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    state = {}
    for key, value in tv.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue  # the 2019 file predates this buffer
        if key.endswith("running_var"):
            state[key] = torch.rand_like(value) + 0.5
        elif value.is_floating_point():
            state[key] = torch.randn_like(value) * (0.5 / max(1, value[0].numel()) ** 0.5)
        else:
            state[key] = value
    path = tmp_path_factory.mktemp("weights") / "inception-random.pth"
    torch.save(state, path)
    return path, state


def test_inception_fid_loads_standard_keys_and_gives_2048_features_1008_logits(inception_file):
    path, state = inception_file
    ext = EXTRACTORS.get("inception-fid")(weights=path)
    net = ext.net.net
    torch.testing.assert_close(net.fc.weight, state["fc.weight"])
    torch.testing.assert_close(net.Mixed_7c.branch_pool.bn.running_var, state["Mixed_7c.branch_pool.bn.running_var"])
    images = torch.rand(2, 1, 28, 28) * 2 - 1  # grey, small: repeated and resized
    out = ext(images)
    assert out.features.shape == (2, 2048) and out.logits.shape == (2, 1008)
    assert torch.isfinite(out.features).all() and (out.features >= 0).all()  # post-ReLU average pool
    # IS logits are pool3 . W without the bias, as in the original Inception Score code
    torch.testing.assert_close(out.logits, out.features @ state["fc.weight"].T, rtol=1e-4, atol=1e-4)
    assert ext.prepare(images).shape == (2, 3, 299, 299)


def test_inception_weights_from_the_environment(inception_file, monkeypatch):
    monkeypatch.setenv("GANFORGE_INCEPTION_WEIGHTS", str(inception_file[0]))
    assert get_extractor("inception-fid").cache_id.startswith("inception-fid/")


def test_missing_inception_weights_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GANFORGE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    with pytest.raises(UserError) as e:
        get_extractor("inception-fid")
    msg = str(e.value)
    assert INCEPTION_FILE in msg and str(tmp_path / "weights") in msg and "\n" not in msg


def test_wrong_or_unsafe_inception_files_are_refused(tmp_path, inception_file):
    partial = dict(inception_file[1])
    del partial["fc.weight"]
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(UserError, match="missing: fc.weight"):
        get_extractor("inception-fid", weights=tmp_path / "partial.pth")
    torch.save({"fc.weight": NotATensor()}, tmp_path / "pickle.pth")
    with pytest.raises(UserError, match="cannot read"):
        get_extractor("inception-fid", weights=tmp_path / "pickle.pth")


@pytest.mark.parametrize("name", ["lenet-mnist", "lenet-fashion"])
def test_lenet_weights_ship_with_the_package(name):
    ext = get_extractor(name)
    out = ext(torch.zeros(3, 1, 28, 28))
    assert out.features.shape == (3, 128) and out.logits.shape == (3, 10)


def test_lenet_mnist_classifies_real_test_images():
    images, labels = load_idx_dataset("mnist", "test")  # the embedded test split
    idx = np.random.default_rng(0).choice(len(labels), 1000, replace=False)  # the files are not shuffled
    x = torch.from_numpy(images[idx]).float().div(127.5).sub(1).unsqueeze(1)
    pred = get_extractor("lenet-mnist")(x).logits.argmax(1).numpy()
    assert (pred == labels[idx]).mean() >= 0.97  # 99.04% on all 10,000


def test_lenet_fashion_classifies_real_test_images(shared_data, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(shared_data))
    images, labels = load_idx_dataset("fashion-mnist", "test")
    idx = np.random.default_rng(0).choice(len(labels), 1000, replace=False)
    x = torch.from_numpy(images[idx]).float().div(127.5).sub(1).unsqueeze(1)
    pred = get_extractor("lenet-fashion")(x).logits.argmax(1).numpy()
    assert (pred == labels[idx]).mean() >= 0.88  # 91.60% on all 10,000 (sd 0.9% at n=1000)


def test_lenet_accepts_rgb_and_other_sizes():
    ext = get_extractor("lenet-mnist")
    images, _ = load_idx_dataset("mnist", "test")
    grey = torch.from_numpy(images[:8]).float().div(127.5).sub(1).unsqueeze(1)
    rgb = grey.expand(-1, 3, -1, -1)
    torch.testing.assert_close(ext(rgb).features, ext(grey).features, rtol=1e-5, atol=1e-5)
    big = nn.functional.interpolate(grey, size=56, mode="nearest")
    assert ext.prepare(big).shape == (8, 1, 28, 28)
    agree = (ext(big).logits.argmax(1) == ext(grey).logits.argmax(1)).float().mean()
    assert agree >= 0.75


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (torch.zeros(2, 28, 28), "x.unsqueeze(1)"),
        (torch.zeros(2, 28, 28, 3), "x.permute(0, 3, 1, 2)"),
        (torch.zeros(2, 4, 28, 28), "4 channels"),
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), "x.float() / 127.5 - 1"),
        (torch.full((2, 1, 28, 28), 255.0), "x / 127.5 - 1"),
        (torch.full((2, 1, 28, 28), float("nan")), "NaN"),
        (torch.zeros(0, 1, 28, 28), "empty"),
        (np.zeros((2, 1, 28, 28)), "torch.Tensor"),
    ],
)
def test_bad_images_are_user_errors(bad, fragment):
    with pytest.raises(UserError) as e:
        check_images(bad)
    assert fragment in str(e.value)


def test_any_module_is_an_extractor():
    class Pool(nn.Module):  # features only: mean of 4x4 blocks
        def forward(self, x):
            return nn.functional.avg_pool2d(x, 4)

    ext = ModuleExtractor(Pool(), size=16, channels=1)
    out = ext(torch.rand(5, 3, 32, 32) * 2 - 1)
    assert out.features.shape == (5, 16) and out.logits is None and ext.cache_id is None
    assert get_extractor(Pool()).name == "custom"
    with pytest.raises(UserError, match="unknown feature extractor 'lenet-mnst'.*lenet-mnist"):
        get_extractor("lenet-mnst")
