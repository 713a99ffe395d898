"""The inference layer: functions over a model loaded from a checkpoint (`LoadedModel`), asking its
family what it can do (`model.family`: directions, truncation space, styles, conditional).

    model.py           LoadedModel, load_model(path)
    sampling.py        latents, truncation in Z, labels, generate / sample, per-class grids, synthetic data sets
    interpolation.py   slerp strips in Z, lines in W
    styles.py          truncation in W, style mixing, projection into W (GAN inversion)
    translation.py     image-to-image translation of tensors and files, comparison grids

`ganforge.api` wraps these as the verbs of `ganforge.load(path)`; perceptual path length and PSNR
are metrics (`ganforge.metrics.path_length`, `ganforge.metrics.image`).
"""

from ganforge.inference.model import LoadedModel, families_that, load_model
from ganforge.inference.sampling import (check_psi, class_grid, class_index, generate, grid_labels, labels_for,
                                         latents, sample, sampler, truncated_latents, truncated_normal,
                                         write_synthetic)
from ganforge.inference.interpolation import interpolate_w, interpolation, slerp_path
from ganforge.inference.styles import (Projection, load_target, project, project_image, sample_truncated,
                                       style_generator, style_mixing_grid)
from ganforge.inference.translation import (comparison_tiles, directions, list_inputs, save_comparison,
                                            translate_files, translate_tensor, translator)

__all__ = [
    "LoadedModel", "Projection", "check_psi", "class_grid", "class_index", "comparison_tiles", "directions",
    "families_that", "generate", "grid_labels", "interpolate_w", "interpolation", "labels_for", "latents",
    "list_inputs", "load_model", "load_target", "project", "project_image", "sample", "sample_truncated", "sampler",
    "save_comparison", "slerp_path", "style_generator", "style_mixing_grid", "translate_files", "translate_tensor",
    "translator", "truncated_latents", "truncated_normal", "write_synthetic",
]
