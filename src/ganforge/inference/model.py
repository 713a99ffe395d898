"""A trained model as the inference layer reads it: the config, the registered family (what it can
do), the networks in eval mode and what the checkpoint recorded about the data. Built from a
checkpoint directory alone (weights + the config in state.json), never from the training script."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config, from_saved
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.models.registry import Family, build_networks
from ganforge.training.checkpoint import Checkpoint, load_latest
from ganforge.zoo import Entry, is_zoo, read_weights
from ganforge.zoo import entry as zoo_entry


@dataclass(eq=False)  # compared and hashed by identity, as networks are
class LoadedModel:
    config: Config
    family: Family  # MODELS[config.model.family]: its capabilities
    networks: dict[str, nn.Module]  # eval mode, no gradients, on `device`
    data_shape: tuple[int, ...]  # [C, H, W] of the images (domain A for translation), or [D] for points
    num_classes: int = 0  # classes of the training data (G takes them only when `conditional`)
    classes: tuple[str, ...] = ()  # their names, when the data set had names
    kind: str = "image"  # image | points | table
    data_meta: dict = field(default_factory=dict)  # what the data set recorded (tables: the column transforms)
    step: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    checkpoint: Checkpoint | None = None
    uses_ema: list[str] = field(default_factory=list)  # networks whose EMA copy was loaded
    zoo: Entry | None = None  # the zoo entry it came from (ganforge.zoo); then `checkpoint` is None

    @classmethod
    def from_networks(
        cls,
        config: Config,
        networks: dict[str, nn.Module],
        data_shape: tuple[int, ...],
        num_classes: int = 0,
        classes: tuple[str, ...] = (),
        kind: str = "image",
        device: str | torch.device = "cpu",
        **fields,
    ) -> LoadedModel:
        """A model over networks already built (and loaded): moved to `device`, eval mode, frozen."""
        device = torch.device(device)
        for net in networks.values():
            net.to(device).eval().requires_grad_(False)
        return cls(
            config=config,
            family=MODELS.get(config.model.family),
            networks=dict(networks),
            data_shape=tuple(data_shape),
            num_classes=int(num_classes),
            classes=tuple(classes),
            kind=kind,
            device=device,
            **fields,
        )

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint, device: str | torch.device = "cpu", ema: bool = True) -> LoadedModel:
        """The networks of the recorded config with the checkpoint's weights; for each network its
        EMA copy (saved as "<name>_ema") replaces the live weights when there is one, unless ema=False."""
        config = from_saved(ckpt.config)
        st = ckpt.state
        data_shape = tuple(st["data_shape"])
        num_classes = int(st.get("num_classes", 0))
        meta = st.get("data_meta") or {}
        networks = build_networks(config, data_shape, num_classes, meta)
        uses_ema = []
        for name, net in networks.items():
            key = f"{name}_ema" if ema and f"{name}_ema" in ckpt.weights else name
            if key != name:
                uses_ema.append(name)
            try:
                net.load_state_dict(ckpt.weights[key])
            except (KeyError, RuntimeError) as e:
                raise UserError(
                    f"{ckpt.path}: weights for '{key}' do not fit the recorded config "
                    f"({str(e).splitlines()[0]}); the checkpoint is damaged"
                ) from None
        return cls.from_networks(
            config,
            networks,
            data_shape,
            num_classes,
            tuple(st.get("classes", ())),
            st.get("data_kind", "image"),
            device,
            step=ckpt.step,
            checkpoint=ckpt,
            uses_ema=uses_ema,
            data_meta=meta,
        )

    @classmethod
    def from_zoo(cls, name: str, device: str | torch.device = "cpu", root: Path | None = None) -> LoadedModel:
        """A zoo entry ("dcgan-mnist" or "zoo:dcgan-mnist"): the networks its manifest records (the
        generator(s) only, no D), built from its config, with weights whose sha256 matched the manifest."""
        e = zoo_entry(name, root)
        info = e.info
        weights = read_weights(e)  # hash checked first
        config = from_saved(info["config"])
        built = build_networks(config, tuple(info["data_shape"]), int(info["num_classes"]))
        networks = {}
        for net, state in weights.items():
            try:
                built[net].load_state_dict(state)
            except (KeyError, RuntimeError) as err:
                raise UserError(
                    f"zoo model '{e.name}': weights for '{net}' do not fit its config "
                    f"({str(err).splitlines()[0]}); reinstall ganforge"
                ) from None
            networks[net] = built[net]
        return cls.from_networks(
            config,
            networks,
            tuple(info["data_shape"]),
            info["num_classes"],
            tuple(info.get("classes", ())),
            info.get("data_kind", "image"),
            device,
            step=int(info["step"]),
            uses_ema=[net for net, source in info["networks"].items() if source.endswith("_ema")],
            zoo=e,
        )

    @classmethod
    def from_path(cls, path: str | Path, device: str | torch.device = "cpu", ema: bool = True) -> LoadedModel:
        """The latest readable checkpoint of a run directory, its checkpoints/ folder, or one checkpoint
        folder; or a zoo entry, "zoo:NAME". ema=False: the live weights, not their EMA copies."""
        if is_zoo(path):
            if not ema:
                raise UserError(f"{path}: zoo entries hold only the EMA weights; load a run for the live ones")
            return cls.from_zoo(str(path), device)
        return cls.from_checkpoint(load_latest(Path(path), with_optim=False), device=device, ema=ema)

    @property
    def generator(self) -> nn.Module | None:
        """The network that makes samples ("G"; for translation, the A -> B network)."""
        return self.networks.get("G")

    @property
    def run_dir(self) -> Path | None:
        if self.checkpoint is None:
            return None
        p = self.checkpoint.path.parent.parent
        return p if (p / "config.json").exists() else None

    @property
    def z_dim(self) -> int:
        if not hasattr(self.config.model, "z_dim"):
            raise UserError(f"a {self.family.name} model has no latent space: it maps an input, not noise")
        return self.config.model.z_dim

    @property
    def conditional(self) -> bool:
        """G takes class labels y (the family says when: cdcgan always, stylegan with style_conditional, ...)."""
        return self.family.is_conditional(self.config.model)


def load_model(path: str | Path, device: str | torch.device = "cpu", ema: bool = True) -> LoadedModel:
    """The latest readable checkpoint of a run directory, its checkpoints/ folder, or one checkpoint
    folder; or a zoo entry, "zoo:NAME". ema=False: the live weights, not their EMA copies."""
    return LoadedModel.from_path(path, device, ema)


def families_that(can) -> list[str]:
    """The registered families for which can(family) holds, for messages that say which can do something."""
    return [name for name, family in MODELS.items() if can(family)]


__all__ = ["LoadedModel", "families_that", "load_model"]
