"""Feature extractors: a network plus the preprocessing it expects, in the `EXTRACTORS` registry.

An extractor takes images [N, C, H, W] as floats in [-1, 1] (ganforge's convention), of any size,
with 1 (grey) or 3 (RGB) channels, and returns `Features`: a feature vector per image (for FID,
KID, precision/recall, density/coverage) and, where the network is a classifier, class logits
(for the Inception Score, mode counting and class accuracy).

Registered entries are factories `(device="cpu", weights=None) -> FeatureExtractor`; nothing is
loaded until one is called. Any `torch.nn.Module` becomes an extractor through `ModuleExtractor`
(or by passing it as `extractor=` to `ganforge.metrics.evaluate`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.registry import Registry

WEIGHTS_DIR = Path(__file__).parent / "weights"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + INCEPTION_FILE
PREPROCESS_VERSION = "1"  # bump when preprocessing changes: it is part of cache keys
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, what PIL's convert("L") uses


@dataclass(frozen=True)
class Features:
    features: Tensor  # [N, D] float32, on the CPU
    logits: Tensor | None  # [N, classes] float32, or None for a feature-only network


# --- input checks and conversions ----------------------------------------------------------------
def check_images(x, who: str = "images") -> Tensor:
    """Validate ganforge images: a float tensor [N, C, H, W] in [-1, 1] with C in {1, 3}."""
    if not isinstance(x, Tensor):
        raise UserError(f"{who}: expected a torch.Tensor [N, C, H, W], got {type(x).__name__}")
    if x.ndim != 4:
        raise UserError(
            f"{who}: expected shape [N, C, H, W], got {tuple(x.shape)}"
            + ("; add a channel axis with x.unsqueeze(1)" if x.ndim == 3 else "")
        )
    if x.shape[0] == 0:
        raise UserError(f"{who}: empty batch (0 images)")
    if x.shape[1] not in (1, 3):
        hint = "; move channels first with x.permute(0, 3, 1, 2)" if x.shape[-1] in (1, 3) else ""
        raise UserError(
            f"{who}: {x.shape[1]} channels in shape {tuple(x.shape)}; extractors take 1 "
            f"(grey) or 3 (RGB) channels, channels first{hint}"
        )
    if not x.is_floating_point():
        raise UserError(f"{who}: dtype {x.dtype}; pass floats in [-1, 1] (uint8 images: x.float() / 127.5 - 1)")
    lo, hi = float(x.min()), float(x.max())
    if not (torch.isfinite(x).all()):
        raise UserError(f"{who}: NaN or infinite pixel values; the generator diverged or the data is damaged")
    if lo < -1.001 or hi > 1.001:
        hint = (
            " (looks like [0, 255]: use x / 127.5 - 1)"
            if hi > 2
            else " (use x * 2 - 1 for [0, 1] images)"
            if lo >= 0
            else ""
        )
        raise UserError(f"{who}: pixel values span [{lo:.3g}, {hi:.3g}]; images must be in [-1, 1]{hint}")
    return x.float().clamp(-1, 1)


def to_channels(x: Tensor, channels: int) -> Tensor:
    """[N, 1|3, H, W] -> [N, channels, H, W]: grey repeated to RGB, RGB to grey by BT.601 luma."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)  # linear, so applying it in [-1, 1] is exact


def resize(x: Tensor, size: int, antialias: bool) -> Tensor:
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)


# --- extractors ------------------------------------------------------------------------------------
class FeatureExtractor:
    """Wraps `net(x) -> features | (features, logits)` with its input preparation.

    size: square input side the net expects (None: any size); channels: 1 or 3 (None: as given);
    antialias: anti-aliased bilinear resize (off for inception-fid, to match the reference ports);
    cache_id: identifies net + weights + preprocessing for the reference-statistics cache (None:
    statistics are not cached, e.g. for a user's module whose weights we cannot fingerprint)."""

    def __init__(
        self,
        net: nn.Module | Callable,
        *,
        name: str,
        size: int | None = None,
        channels: int | None = None,
        antialias: bool = True,
        cache_id: str | None = None,
        device: str | torch.device = "cpu",
    ):
        self.name, self.size, self.channels, self.antialias = name, size, channels, antialias
        self.cache_id = cache_id
        self.device = torch.device(device)
        if isinstance(net, nn.Module):
            net = net.to(self.device).eval().requires_grad_(False)
        self.net = net

    def prepare(self, images: Tensor) -> Tensor:
        x = check_images(images, f"{self.name} input")
        if self.channels is not None:
            x = to_channels(x, self.channels)
        if self.size is not None:
            x = resize(x, self.size, self.antialias)
        return x

    @torch.inference_mode()
    def __call__(self, images: Tensor) -> Features:
        x = self.prepare(images).to(self.device)
        out = self.net(x)
        feats, logits = out if isinstance(out, (tuple, list)) else (out, None)
        if not isinstance(feats, Tensor) or feats.ndim < 2 or feats.shape[0] != x.shape[0]:
            raise UserError(
                f"extractor '{self.name}' must return features [N, D] (or a (features, "
                f"logits) pair) for N = {x.shape[0]} images"
            )
        feats = feats.flatten(1).float().cpu()  # [N, D] (pooled maps flattened)
        if logits is not None:
            logits = logits.flatten(1).float().cpu()
        return Features(feats, logits)

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.name!r}, size={self.size}, channels={self.channels}, device={self.device})"


def ModuleExtractor(
    module: nn.Module,
    *,
    name: str = "custom",
    size: int | None = None,
    channels: int | None = None,
    antialias: bool = True,
    cache_id: str | None = None,
    device: str = "cpu",
) -> FeatureExtractor:
    """Any module as an extractor: `module(x)` gets validated images in [-1, 1] (resized to `size`
    and converted to `channels` when given) and returns features [N, D] or (features, logits).
    Give a `cache_id` that changes with the weights to cache reference statistics."""
    if not isinstance(module, nn.Module):
        raise UserError(f"expected a torch.nn.Module, got {type(module).__name__}")
    return FeatureExtractor(
        module, name=name, size=size, channels=channels, antialias=antialias, cache_id=cache_id, device=device
    )


EXTRACTORS: Registry[Callable[..., FeatureExtractor]] = Registry("feature extractor")


@functools.lru_cache(maxsize=8)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    st = path.stat()
    return _file_sha256(str(path), st.st_mtime_ns, st.st_size)


def get_extractor(extractor, device: str = "cpu", weights: str | Path | None = None) -> FeatureExtractor:
    """A registered name, a FeatureExtractor (returned as is) or an nn.Module (wrapped)."""
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if isinstance(extractor, nn.Module):
        return ModuleExtractor(extractor, device=device)
    if isinstance(extractor, str):
        return EXTRACTORS.get(extractor)(device=device, weights=weights)
    raise UserError(
        f"extractor must be a name ({', '.join(EXTRACTORS.keys())}), a FeatureExtractor "
        f"or a torch.nn.Module, got {type(extractor).__name__}"
    )


def differentiable_features(extractor) -> Callable[[Tensor], Tensor]:
    """A function images [N, C, H, W] -> features [N, D] with gradients, from a registered extractor
    name, a FeatureExtractor or an nn.Module. The extractor's own __call__ validates and runs without
    gradients; this applies the same preparation (clamp to [-1, 1], channels, resize) differentiably."""
    ext = get_extractor(extractor)
    net = ext.net

    def features(x: Tensor) -> Tensor:
        x = x.clamp(-1, 1)
        if ext.channels is not None:
            x = to_channels(x, ext.channels)
        if ext.size is not None:
            x = resize(x, ext.size, ext.antialias)
        out = net(x.to(ext.device))
        return (out[0] if isinstance(out, (tuple, list)) else out).flatten(1)

    return features


def extractor_for_data(data_name: str) -> str:
    """ganforge's LeNet trained on a model's data: lenet-fashion for Fashion-MNIST, else lenet-mnist."""
    return "lenet-fashion" if "fashion" in data_name else "lenet-mnist"


# --- lenet-mnist / lenet-fashion -----------------------------------------------------------------
def _lenet(dataset: str) -> Callable[..., FeatureExtractor]:
    name = f"lenet-{dataset}"

    def make(device: str = "cpu", weights: str | Path | None = None) -> FeatureExtractor:
        from safetensors.torch import load_file

        from ganforge.metrics.lenet import LeNet

        path = Path(weights).expanduser() if weights else WEIGHTS_DIR / f"{name}.safetensors"
        if not path.is_file():
            raise UserError(
                f"{name}: weight file {path} not found; reinstall ganforge or recreate it "
                "with `python benchmarks/train_classifiers.py`"
            )
        net = LeNet()
        try:
            net.load_state_dict(load_file(str(path)))
        except Exception as e:  # safetensors and torch raise several types for a bad file
            raise UserError(f"{name}: {path} is not a LeNet safetensors file ({str(e).splitlines()[0]})") from None
        return FeatureExtractor(
            net,
            name=name,
            size=28,
            channels=1,
            antialias=True,
            device=device,
            cache_id=f"{name}/p{PREPROCESS_VERSION}/{file_sha256(path)[:16]}",
        )

    make.__doc__ = (
        f"ganforge's LeNet trained on {dataset} (128-d pre-ReLU fc features, 10 classes); "
        "input converted to grey and resized to 28x28"
    )
    return make


EXTRACTORS.register("lenet-mnist", _lenet("mnist"))
EXTRACTORS.register("lenet-fashion", _lenet("fashion"))


# --- inception-fid --------------------------------------------------------------------------------
def cache_dir() -> Path:
    """$GANFORGE_CACHE, else ~/.cache/ganforge."""
    env = os.environ.get("GANFORGE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganforge"


def find_inception_weights(weights: str | Path | None = None) -> Path:
    """The weight file from the argument, else $GANFORGE_INCEPTION_WEIGHTS, else
    <cache>/weights/pt_inception-2015-12-05-6726825d.pth; none of them -> one UserError."""
    given = weights or os.environ.get("GANFORGE_INCEPTION_WEIGHTS")
    default = cache_dir() / "weights" / INCEPTION_FILE
    path = Path(given).expanduser() if given else default
    if not path.is_file():
        where = ("given path" if weights else "GANFORGE_INCEPTION_WEIGHTS") if given else "default location"
        raise UserError(
            f"inception-fid needs {INCEPTION_FILE} (from {INCEPTION_URL}); not found at "
            f"{path} ({where}): put it at {default}, or set GANFORGE_INCEPTION_WEIGHTS / "
            "pass --inception-weights with its path"
        )
    return path


def load_inception_state(path: Path) -> dict[str, Tensor]:
    """The pytorch-fid state dict, read with weights_only=True (tensors only, no arbitrary pickles)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as e:
        raise UserError(
            f"inception-fid: cannot read {path} as a PyTorch weight file "
            f"({str(e).splitlines()[0]}); download {INCEPTION_FILE} again"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise UserError(
            f"inception-fid: {path} does not hold a state dict of tensors; use {INCEPTION_FILE} from pytorch-fid"
        )
    return state


def _inception(device: str = "cpu", weights: str | Path | None = None) -> FeatureExtractor:
    """FID InceptionV3 (pytorch-fid port of the TF 2015-12-05 graph): 2048-d pool features, 1008
    logits; input repeated to RGB and resized to 299x299, bilinear without antialiasing."""
    from ganforge.metrics.inception import FIDInceptionV3

    path = find_inception_weights(weights)
    state = load_inception_state(path)
    net = FIDInceptionV3()
    expected = net.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}  # absent from older saves
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        )
        raise UserError(
            f"inception-fid: {path} is not the pytorch-fid InceptionV3 state dict ({detail}); use {INCEPTION_FILE}"
        )
    net.load_state_dict(state, strict=False)
    digest = file_sha256(path)
    if path.name.startswith("pt_inception-2015-12-05-") and not digest.startswith(path.stem.rsplit("-", 1)[-1]):
        warnings.warn(
            f"inception-fid: {path.name} does not match its name's checksum prefix; FID "
            "values will not be comparable with published ones",
            stacklevel=2,
        )
    # The Inception Score uses softmax(pool3 . W) without the fc bias, as the original improved-GAN
    # code and torch-fidelity do; FID uses the 2048-d pool features.
    return FeatureExtractor(
        _UnbiasedLogits(net),
        name="inception-fid",
        size=299,
        channels=3,
        antialias=False,
        device=device,
        cache_id=f"inception-fid/p{PREPROCESS_VERSION}/{digest[:16]}",
    )


class _UnbiasedLogits(nn.Module):
    """(features [N, 2048], features @ fc.weight^T [N, 1008]) of a FIDInceptionV3."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        feats, _ = self.net(x)
        return feats, feats @ self.net.fc.weight.T


EXTRACTORS.register("inception-fid", _inception)
