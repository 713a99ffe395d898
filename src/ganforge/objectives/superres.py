"""Super-resolution objective (Ledig et al. 2017): SRResNet's content loss, then SRGAN's content +
perceptual + adversarial losses.

Batches hold high-resolution crops in "x" (uint8 [N, 3, S, S] from `photos-sr`, or floats in
[-1, 1]). Each step draws one of the 8 symmetries of the square per crop from a generator seeded by
(train.seed, step) -- a pure function of the step, so exact resume keeps it -- and makes the
low-resolution input with the benchmark's degradation (`data.photos.bicubic_down`: antialiased
bicubic, rounded to uint8).

    stage srresnet   one phase, G: content_weight * content(G(lr), hr); no D and no D optimiser
    stage srgan      G phase: content_weight * content + perceptual_weight * perceptual
                     + adv_weight * GAN(D(G(lr))); then D phase (needs_data=False) on the G phase's
                     real and detached fake crops (as translation does: one G forward per step)

The perceptual loss compares features of a fixed VGG19 (Simonyan & Zisserman 2015) at
loss.feature_layer (conv5_4 after its ReLU: Ledig et al.'s VGG54): MSE(phi(sr), phi(hr)) divided
by mean(phi(hr)^2) of the batch, so its weight means the same for any feature network (Ledig et al.
instead rescale ImageNet-VGG features by 1 / 12.75). ImageNet VGG19 weights cannot be downloaded
here, so the default feature network (loss.feature_net=vgg19-random) is VGG19 with random weights,
fixed by loss.feature_seed and narrowed by loss.feature_width: random convolutional features are a
known texture descriptor (Ustyuzhaninov et al. 2017, "What does it take to generate natural
textures?"; He et al. 2016's random-weight style transfer). With a local copy of torchvision's
`vgg19` state dict (.pth read with `torch.load(weights_only=True)`, or .safetensors):
loss.feature_net=vgg19 loss.vgg_weights=FILE gives the paper's loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.data.photos import bicubic_down, bicubic_up, dihedral
from ganforge.errors import UserError
from ganforge.io import tiles
from ganforge.losses import LOSSES
from ganforge.objectives.adversarial import AdversarialObjective
from ganforge.objectives.base import OptimizerSpec, Phase, StepState
from ganforge.schema import LossConfig
from ganforge.training.checkpoint import load_latest

# torchvision's vgg19 "features": channels of each conv, "M" a 2x2 max pool (Simonyan & Zisserman, config E)
VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class SuperResLoss(LossConfig):
    content: str = "mse"  # pixel loss: mse (Ledig et al.'s SRResNet) | l1 (EDSR, Lim et al. 2017: converges faster)
    content_weight: float = 1.0  # weight of the pixel loss
    # --- stage srgan only -------------------------------------------------------------------------------
    adv_weight: float = 1e-3  # weight of the adversarial term in G's loss (Ledig et al.: 1e-3)
    perceptual_weight: float = 1.0  # weight of the relative feature MSE (module docstring); 0: off
    feature_net: str = "vgg19-random"  # vgg19-random: VGG19 with fixed random weights | vgg19: loss.vgg_weights
    vgg_weights: str | None = None  # a local torchvision vgg19 state dict (.pth / .safetensors), feature_net=vgg19
    feature_layer: str = "conv5_4"  # VGG19 layer, after its ReLU (Ledig et al.: conv5_4 = VGG54; conv2_2 = VGG22)
    feature_width: float = 0.25  # vgg19-random: channels x this (1.0: full VGG19; 0.25 is 16x cheaper)
    feature_seed: int = 0  # vgg19-random: the seed of its weights

    SRGAN_KEYS = ("adv_weight", "perceptual_weight", "feature_net", "vgg_weights", "feature_layer", "feature_width")

    def validate(self, cfg) -> None:
        LOSSES.get(self.name)
        if self.content not in ("mse", "l1"):
            raise UserError(f"loss.content={self.content}: choose mse or l1")
        for key in ("content_weight", "adv_weight", "perceptual_weight"):
            if getattr(self, key) < 0:
                raise UserError(f"loss.{key}={getattr(self, key)}: a loss weight must be >= 0 (0 turns the term off)")
        layer_index(self.feature_layer)
        if self.feature_net not in ("vgg19-random", "vgg19"):
            raise UserError(
                f"loss.feature_net={self.feature_net}: choose vgg19-random or vgg19 (with loss.vgg_weights)"
            )
        if self.feature_net == "vgg19":
            if not self.vgg_weights:
                raise UserError("loss.feature_net=vgg19 needs loss.vgg_weights=FILE, torchvision's vgg19 state dict")
            if not Path(self.vgg_weights).expanduser().is_file():
                raise UserError(f"loss.vgg_weights={self.vgg_weights}: no such file")
        elif self.vgg_weights:
            raise UserError("loss.vgg_weights is read with loss.feature_net=vgg19 only; add it or remove vgg_weights")
        if not 0 < self.feature_width <= 1:
            raise UserError(f"loss.feature_width={self.feature_width}: a fraction in (0, 1]")
        if cfg.model.stage == "srresnet":
            default = SuperResLoss()
            for key in self.SRGAN_KEYS:
                if getattr(self, key) != getattr(default, key):
                    raise UserError(
                        f"loss.{key} has no effect in model.stage=srresnet (content loss only); "
                        "remove it or set model.stage=srgan"
                    )


def layer_index(name: str) -> int:
    """Index in VGG19's `features` just after the ReLU of conv{block}_{i} (e.g. conv5_4 -> 36)."""
    m = re.fullmatch(r"(?:conv|relu)(\d)_(\d)", name)
    convs = [2, 2, 4, 4, 4]
    if not m or not 1 <= int(m.group(1)) <= 5 or not 1 <= int(m.group(2)) <= convs[int(m.group(1)) - 1]:
        raise UserError(f"loss.feature_layer={name}: a VGG19 layer such as conv5_4 (VGG54) or conv2_2 (VGG22)")
    block, i = int(m.group(1)), int(m.group(2))
    index = 0
    for b in range(1, block + 1):
        for j in range(1, convs[b - 1] + 1):
            index += 2  # conv, relu
            if (b, j) == (block, i):
                return index
        index += 1  # max pool
    raise AssertionError("unreachable")


def vgg19_features(width: float = 1.0, upto: int = 36) -> nn.Sequential:
    """torchvision's vgg19().features[:upto] (same indices, so its state dict loads), channels x width."""
    layers: list[nn.Module] = []
    ch = 3
    for v in VGG19:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            c = max(1, round(v * width))
            layers += [nn.Conv2d(ch, c, 3, 1, 1), nn.ReLU(inplace=True)]
            ch = c
    return nn.Sequential(*layers[:upto])


def load_feature_net(cfg: SuperResLoss) -> nn.Module:
    """The perceptual loss's fixed feature network (module docstring), in eval mode, frozen."""
    upto = layer_index(cfg.feature_layer)
    if cfg.feature_net == "vgg19":
        net = vgg19_features(1.0, upto)
        path = Path(cfg.vgg_weights).expanduser()
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path))
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)  # never unpickles code
        except Exception as e:  # noqa: BLE001  (any unreadable file is the user's to replace)
            raise UserError(f"loss.vgg_weights={path}: not a readable state dict ({e})") from None
        state = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
        wanted = net.state_dict().keys()
        try:
            net.load_state_dict({k: state[k] for k in wanted})
        except (KeyError, RuntimeError) as e:
            raise UserError(
                f"loss.vgg_weights={path}: not torchvision's vgg19 weights ({str(e).splitlines()[0]})"
            ) from None
    else:
        gen = torch.Generator().manual_seed(cfg.feature_seed)
        net = vgg19_features(cfg.feature_width, upto)
        for m in net.modules():
            if isinstance(m, nn.Conv2d):  # He et al. 2015 init: activations keep their scale through the ReLUs
                fan_in = m.in_channels * 9
                m.weight.data = torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5
                m.bias.data.zero_()
    return net.eval().requires_grad_(False)


def content_loss(kind: str, sr: Tensor, hr: Tensor) -> Tensor:
    return (sr - hr).abs().mean() if kind == "l1" else (sr - hr).square().mean()  # mean |d| or mean d^2


def to_unit_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] or float [-1, 1] images -> float32 [-1, 1]."""
    return x.float().div(127.5).sub(1.0) if x.dtype == torch.uint8 else x.float()


def to_uint8_images(x: Tensor) -> Tensor:
    """float [-1, 1] (or uint8) images -> uint8 [0, 255], rounded."""
    if x.dtype == torch.uint8:
        return x
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def degrade(hr: Tensor, scale: int) -> Tensor:
    """The low-resolution input of a high-resolution batch (uint8 or [-1, 1]): float [-1, 1], 1/scale the size."""
    return to_unit_range(bicubic_down(to_uint8_images(hr), scale))


class SuperResObjective(AdversarialObjective):
    """See the module docstring."""

    Loss = SuperResLoss
    train_keys: frozenset[str] = frozenset()
    ema_network = "G"
    shares_fake = False

    def __init__(self, cfg, networks: dict[str, nn.Module]):
        super().__init__(cfg, networks)
        self.scale = cfg.model.scale
        self.features: nn.Module | None = None  # built on first use (stage srgan with perceptual_weight > 0)
        if cfg.model.init_from:
            self.init_generator(cfg.model.init_from)

    @property
    def adversarial(self) -> bool:
        return self.cfg.model.stage == "srgan"

    def init_generator(self, source: str) -> None:
        """G's weights from another run of this family (model.init_from): its EMA G when it kept one.
        Read through the checkpoint loader (safetensors + JSON; nothing is unpickled)."""
        ckpt = load_latest(Path(source).expanduser(), with_optim=False)
        model = ckpt.config.get("model", {})
        if model.get("family") != "srgan":
            raise UserError(
                f"model.init_from={source}: a {model.get('family')} run, not an srgan one; "
                "give the run directory of an srgan (model.stage=srresnet) run"
            )
        mine = self.cfg.model
        for key in ("scale", "g_width", "resnet_blocks", "norm", "head_kernel", "bicubic_skip"):
            if key in model and model[key] != getattr(mine, key):
                raise UserError(
                    f"model.init_from={source}: its G has model.{key}={model[key]}, this run "
                    f"{getattr(mine, key)}; set model.{key}={model[key]}"
                )
        key = "G_ema" if "G_ema" in ckpt.weights else "G"
        G = self.networks["G"]
        G = getattr(G, "module", G)
        try:
            G.load_state_dict(ckpt.weights[key])
        except (KeyError, RuntimeError) as e:
            raise UserError(f"model.init_from={source}: its G does not fit ({str(e).splitlines()[0]})") from None

    def optimizers(self) -> dict[str, OptimizerSpec]:
        if not self.adversarial:  # SRResNet: no D, no D optimiser
            return {"G": OptimizerSpec(("G",), "g_optim")}
        return super().optimizers()

    def phases(self) -> list[Phase]:
        phases = [Phase("G", self.g_step, "G")]
        if self.adversarial:
            phases.append(Phase("D", self.d_step, "D", needs_data=False))
        return phases

    # --- the batch ------------------------------------------------------------------------------------
    def pair(self, batch: dict[str, Tensor], step: int) -> tuple[Tensor, Tensor]:
        """(lr [N, C, S/scale, S/scale], hr [N, C, S, S]), floats in [-1, 1], symmetries drawn from (seed, step)."""
        hr = batch["x"]
        if hr.ndim != 4 or hr.shape[-1] != hr.shape[-2] or hr.shape[-1] % self.scale:
            raise UserError(
                f"model.family=srgan trains on square crops with sides a multiple of {self.scale}, e.g. "
                f"data.name=photos-sr; got a batch of {list(hr.shape)}"
            )
        gen = torch.Generator().manual_seed(self.cfg.train.seed * 1_000_003 + step)
        hr = dihedral(hr, torch.randint(0, 8, (len(hr),), generator=gen).to(hr.device))
        return degrade(hr, self.scale), to_unit_range(hr)

    def perceptual(self, sr: Tensor, hr: Tensor) -> Tensor:
        if self.features is None:
            self.features = load_feature_net(self.cfg.loss).to(sr.device)
        mean = torch.tensor(IMAGENET_MEAN, device=sr.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=sr.device).view(1, 3, 1, 1)

        # the feature network is not a trained network, so Fabric's wrapper (which autocasts the others)
        # never sees it: run it in bf16 here too when the run trains in bf16 (about 2x faster on CPU)
        bf16 = self.cfg.train.precision == "bf16"

        def phi(x: Tensor) -> Tensor:
            with torch.autocast(sr.device.type, dtype=torch.bfloat16, enabled=bf16):
                return self.features(((x.float() + 1) / 2 - mean) / std).float()

        with torch.no_grad():
            target = phi(hr)
        return F.mse_loss(phi(sr), target) / target.square().mean().clamp_min(1e-12)

    # --- the phases -------------------------------------------------------------------------------------
    def g_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        w = self.cfg.loss
        lr, hr = self.pair(batch, state.step)
        sr = self.networks["G"](lr)  # [N, C, S, S]
        content = content_loss(w.content, sr, hr)
        loss = w.content_weight * content
        logs = {w.content: content.item()}
        if self.adversarial:
            if w.perceptual_weight > 0:
                perc = self.perceptual(sr, hr)
                loss = loss + w.perceptual_weight * perc
                logs["perceptual"] = perc.item()
            adv = self.adv.g(
                fake=self.networks["D"](sr),
                real=self.networks["D"](hr).detach() if getattr(self.adv, "g_needs_real", False) else None,
            )
            loss = loss + w.adv_weight * adv
            logs["adv_G"] = adv.item()
            state.carry.update(hr=hr, sr=sr.detach())
        logs["loss_G"] = loss.item()
        return loss, logs

    def d_step(self, batch: dict[str, Tensor], state: StepState) -> tuple[Tensor, dict[str, float]]:
        D, c = self.networks["D"], state.carry
        d_real, d_fake = D(c["hr"]), D(c["sr"])
        loss = self.adv.d(real=d_real, fake=d_fake)
        return loss, {"loss_D": loss.item(), "D_real": d_real.mean().item(), "D_fake": d_fake.mean().item()}

    # --- previews -------------------------------------------------------------------------------------
    def fixed_inputs(self, data, n: int, seed: int) -> dict[str, Tensor]:
        """A fixed, seeded choice of high-resolution crops and their low-resolution inputs."""
        x = data.x
        if x.ndim != 4 or x.shape[-1] % self.scale:
            raise UserError(
                f"model.family=srgan needs square image crops with sides a multiple of {self.scale} "
                f"(data.name=photos-sr); data.name={self.cfg.data.name} gives {list(x.shape[1:])}"
            )
        # whole `bicubic | output | truth` triplets per grid row: 3 examples (n < 12) or 12, 2 per row
        k = min(12 if n >= 12 else 3, len(x))
        idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 7919))[:k]
        hr = x[idx]
        return {"lr": degrade(hr, self.scale), "hr": to_unit_range(hr)}

    @torch.no_grad()
    def preview(self, networks: dict[str, nn.Module], fixed: dict[str, Tensor]) -> Tensor:
        """Rows of `bicubic | G's output | ground truth` at the high resolution."""
        lr = fixed["lr"]
        sr = networks["G"](lr).float().clamp(-1, 1)
        bicubic = bicubic_up(lr, self.scale).clamp(-1, 1)
        return tiles([bicubic, sr, fixed["hr"]])
