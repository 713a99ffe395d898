"""The Python API: `ganforge.load(path)` -> a `GanModel`, built from a checkpoint directory alone
(weights + the config recorded in state.json), never from the training script; `ganforge.load(
"zoo:NAME")` builds one from the zoo shipped in the package (ganforge.zoo). Its verbs are the
inference layer's functions (`ganforge.inference`); what a model can do comes from its family."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from torch import Tensor

from ganforge.errors import UserError
from ganforge.inference import sampling, translation
from ganforge.inference.export import Exported
from ganforge.inference.export import export as export_file
from ganforge.inference.model import LoadedModel
from ganforge.io import to_uint8

if TYPE_CHECKING:
    import pandas as pd


class GanModel(LoadedModel):
    """A loaded model (config, family, networks, data_shape, num_classes, classes, kind, step, device,
    checkpoint, uses_ema, generator, run_dir, z_dim, conditional) with the verbs of its family."""

    def latents(self, n: int, seed: int = 0, truncation: float | None = None) -> Tensor:
        """z [n, z_dim] from `seed`, on the model's device; with `truncation` psi every |z_i| <= psi
        (ganforge.inference.sampling.truncated_normal)."""
        return sampling.latents(self, n, seed, truncation).to(self.device)

    def generate(
        self, z: Tensor, y: Tensor | None = None, batch_size: int = 256, *, psi: float | None = None, text=None
    ) -> Tensor:
        """G(z) in batches; images [N, C, H, W] in [-1, 1] or points [N, D]. psi: truncation in W
        (families with per-layer styles). text: a text family's caption for all z, or one per z."""
        if text is not None or self.family.text:
            from ganforge.inference import text as text_inference

            if text is None:
                raise UserError(f"a {self.family.name} model draws images from text: pass text='a thick seven'")
            y = text_inference.tokens_for(self, text, len(z))
        return sampling.generate(self, z, y, batch_size, psi=psi)

    def sample(
        self, n: int, seed: int = 0, batch_size: int = 256, *, y=None, truncation: float | None = None, text=None
    ) -> Tensor:
        """n samples, reproducible from `seed` alone (independent of batch_size). Conditional models:
        y = a class index or name for all samples, n labels, or None for classes 0..K-1 in turn; an
        unconditional model takes no y. truncation: the truncation trick where the family applies it
        (|z_i| <= psi in Z; StyleGAN: w_avg + psi (w - w_avg) in W). text: for a text family (StackGAN),
        a caption for all n samples or n captions ("a thick, slanted seven")."""
        if text is not None or self.family.text:
            from ganforge.inference import text as text_inference

            return text_inference.sample(self, n, seed, text, batch_size, y=y, truncation=truncation)
        return sampling.sample(self, n, seed, batch_size, y=y, truncation=truncation)

    def translate(self, x: Tensor, direction: str = "AtoB", batch_size: int = 64) -> Tensor:
        """Translate images [N, C, H, W] in [-1, 1] from domain A to B ("AtoB"), or back ("BtoA")
        where the family has that direction; the result is on the CPU (ganforge.inference.translation)."""
        return translation.translate_tensor(self, x, direction, batch_size)

    def detect(self, images: Tensor, batch_size: int = 256) -> Tensor:
        """Anomaly scores [N] of images [N, C, H, W] in [-1, 1] from a detector family (GANomaly):
        the latent distance, scaled so the training set spans [0, 1], not clamped
        (ganforge.inference.anomaly)."""
        from ganforge.inference import anomaly

        return anomaly.scores(self, images, batch_size)

    def upscale(self, image, tile: int | None = 128, margin: int | None = None):
        """Super-resolution (srgan family): a uint8 image [h, w, 3] (or a PIL image) -> uint8
        [h s, w s, 3]; a tensor [N, C, h, w] or [C, h, w] in [-1, 1] -> [N, C, h s, w s] in [-1, 1]
        on the CPU. Large images go through G in overlapping tiles of `tile` input pixels (None:
        whole); margin None: G's receptive field, so tiles join without seams
        (ganforge.inference.restoration)."""
        from ganforge.inference import restoration

        if isinstance(image, Tensor):
            return restoration.upscale_tensor(self, image, tile, margin)
        return restoration.upscale(self, image, tile, margin)

    def inpaint(self, image: Tensor, mask: Tensor, tile: int | None = 256) -> Tensor:
        """Fill the hole of image [C, H, W] or [N, C, H, W] in [-1, 1]; mask [H, W] .. [N, 1, H, W], 1 =
        missing. The input is kept outside the hole. Fully convolutional families (inpaint-gan) take any
        size, in tiles of `tile` pixels beyond it (None: whole); the context encoder its training size
        (ganforge.inference.inpainting)."""
        from ganforge.inference import inpainting

        return inpainting.inpaint(self, image, mask, tile)

    def age(self, images: Tensor, to=None, *, source=None, steps: int = 100, lr: float = 0.05):
        """Images [N, C, H, W] in [-1, 1] edited to group `to` (an index or name; a list; None: every
        group) with their identity kept, by an editing family (Age-cGAN): the encoder's z, refined by
        the identity-preserving optimisation for `steps` Adam steps (0: the encoder's z alone), then
        G(z, group). Returns an `ganforge.inference.ageing.Edit` (outputs [N, T, C, H, W], ...)."""
        from ganforge.inference import ageing

        return ageing.edit(self, images, to, source=source, steps=steps, lr=lr)

    def export(
        self,
        path: str | Path,
        format: str = "onnx",
        *,
        direction: str | None = None,
        opset: int | None = None,
        overwrite: bool = False,
    ) -> Exported:
        """Write the generator's sampling graph as an ONNX or TorchScript file (inputs z, y, psi where the
        family has them; a translation model's `direction` network with input x), run the file on seeded
        inputs and compare with this model: the file takes `path`'s place only within 1e-4
        (ganforge.inference.export). An existing `path` is kept unless `overwrite`."""
        return export_file(self, path, format, direction=direction, opset=opset, overwrite=overwrite)

    def impute(self, table: pd.DataFrame | str | Path, seed: int = 0) -> pd.DataFrame:
        """A table with the training table's columns (a DataFrame or a CSV path) with every missing
        cell filled (GAIN models); observed cells are returned as they were, in the model's dtypes."""
        from ganforge.inference import tables

        return tables.impute(self, table, seed)

    def sample_table(
        self, n: int, seed: int = 0, where: dict[str, str] | None = None, conditions: str = "data"
    ) -> pd.DataFrame:
        """n synthetic rows with the training table's columns, categories and dtypes (CTGAN models);
        where={"column": "category"}: only rows of that category, G conditioned on it; conditions="log":
        G's conditional vectors drawn by log-frequency, as in training (rare categories more often)."""
        from ganforge.inference import tables

        return tables.synthesize(self, n, seed, where, conditions=conditions)


def load(path: str | Path, device: str = "cpu", ema: bool = True) -> GanModel:
    """A trained model from a run directory, its checkpoints/ folder, or one checkpoint folder; or
    from the zoo shipped with ganforge: "zoo:NAME" (`ganforge zoo` lists them). Where the run kept
    an EMA generator, that is what is loaded; ema=False loads the live weights instead."""
    return GanModel.from_path(path, device, ema)


__all__ = ["GanModel", "load", "to_uint8"]
