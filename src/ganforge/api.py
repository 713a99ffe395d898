"""The Python API: `ganforge.load(path)` -> a `GanModel` that samples, built from a checkpoint
directory alone (weights + the config recorded in state.json), never from the training script."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganforge.config import Config, from_saved
from ganforge.errors import UserError
from ganforge.training.checkpoint import Checkpoint, load_latest
from ganforge.training.loop import build_networks


class GanModel:
    def __init__(self, ckpt: Checkpoint, device: str = "cpu"):
        self.checkpoint = ckpt
        self.config: Config = from_saved(ckpt.config)
        self.step = ckpt.step
        st = ckpt.state
        self.data_shape = tuple(st["data_shape"])
        self.num_classes = int(st.get("num_classes", 0))
        self.classes = tuple(st.get("classes", ()))
        self.kind = st.get("data_kind", "image")
        self.device = torch.device(device)
        # for sampling, a network's EMA copy (saved as "<name>_ema") replaces the live weights
        self.networks = build_networks(self.config, self.data_shape, self.num_classes)
        self.uses_ema = []
        for name, net in self.networks.items():
            key = f"{name}_ema" if f"{name}_ema" in ckpt.weights else name
            if key != name:
                self.uses_ema.append(name)
            try:
                net.load_state_dict(ckpt.weights[key])
            except (KeyError, RuntimeError) as e:
                raise UserError(f"{ckpt.path}: weights for '{key}' do not fit the recorded config "
                                f"({str(e).splitlines()[0]}); the checkpoint is damaged") from None
            net.to(self.device).eval().requires_grad_(False)
        self.generator = self.networks.get("G")

    @property
    def run_dir(self) -> Path | None:
        p = self.checkpoint.path.parent.parent
        return p if (p / "config.json").exists() else None

    @property
    def z_dim(self) -> int:
        return self.config.model.z_dim

    def latents(self, n: int, seed: int = 0, truncation: float | None = None) -> Tensor:
        """z [n, z_dim] from `seed`; with `truncation` psi every |z_i| <= psi (ganforge.synth.truncated_normal)."""
        if truncation is not None:
            from ganforge.synth import latents
            return latents(self, n, seed, truncation).to(self.device)
        return torch.randn(n, self.z_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)

    @property
    def conditional(self) -> bool:
        """G takes class labels y (the cdcgan, cresnet and biggan families)."""
        from ganforge.synth import is_conditional
        return is_conditional(self)

    @torch.no_grad()
    def generate(self, z: Tensor, y: Tensor | None = None, batch_size: int = 256, *, psi: float | None = None) -> Tensor:
        """G(z) in batches; images [N, C, H, W] in [-1, 1] or points [N, D]. psi: StyleGAN's truncation in W."""
        out = []
        kw = {} if psi is None else {"psi": psi}
        for i in range(0, len(z), batch_size):
            yb = None if y is None else y[i:i + batch_size].to(self.device)
            out.append(self.generator(z[i:i + batch_size].to(self.device), yb, **kw).float().cpu())
        return torch.cat(out) if out else torch.empty(0, *self.data_shape)

    def sample(self, n: int, seed: int = 0, batch_size: int = 256, *, y=None,
               truncation: float | None = None) -> Tensor:
        """n samples, reproducible from `seed` alone (independent of batch_size). Conditional models:
        y = a class index or name for all samples, n labels, or None for classes 0..K-1 in turn; an
        unconditional model takes no y. truncation psi: the truncation trick (|z_i| <= psi)."""
        if n < 1:
            raise UserError(f"--n must be at least 1, got {n}")
        from ganforge.translate import directions
        if directions(self):
            raise UserError(f"this {self.config.model.family} model translates images and does not sample "
                            "from noise; use 'ganforge translate' (GanModel.translate)")
        from ganforge.synth import labels_for
        labels = labels_for(self, n, y)                  # None for unconditional models
        if truncation is not None and self.config.model.family == "stylegan":   # psi in W: w_avg + psi (w - w_avg)
            from ganforge.stylegan_tools import check_psi
            return self.generate(self.latents(n, seed), labels, batch_size=batch_size, psi=check_psi(truncation))
        return self.generate(self.latents(n, seed, truncation), labels, batch_size=batch_size)

    def translate(self, x: Tensor, direction: str = "AtoB", batch_size: int = 64) -> Tensor:
        """Translate images [N, C, H, W] in [-1, 1] from domain A to B ("AtoB"), or back ("BtoA",
        CycleGAN), with a pix2pix or CycleGAN model; the result is on the CPU (see ganforge.translate)."""
        from ganforge.translate import translate_tensor
        return translate_tensor(self, x, direction, batch_size)


def load(path: str | Path, device: str = "cpu") -> GanModel:
    """A trained model from a run directory, its checkpoints/ folder, or one checkpoint folder."""
    return GanModel(load_latest(Path(path), with_optim=False), device=device)


def to_uint8(images: Tensor) -> np.ndarray:
    """[-1, 1] float [N, C, H, W] -> uint8 [N, H, W, C], the layout image files and .npz use."""
    return images.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
