"""The inference layer: functions over a model loaded from a checkpoint (`LoadedModel`), asking its
family what it can do (`model.family`: directions, truncation space, styles, conditional).

    model.py           LoadedModel, load_model(path)
    sampling.py        latents, truncation in Z, labels, generate / sample, per-class grids, synthetic data sets
    interpolation.py   slerp strips in Z, lines in W
    styles.py          truncation in W, style mixing, projection into W (GAN inversion)
    translation.py     image-to-image translation of tensors and files, comparison grids
    inpainting.py      holes in images filled by an inpainting family, whole or in overlapping tiles
    export.py          the generator's sampling graph as an ONNX or TorchScript file, checked against PyTorch
    restoration.py     super-resolution of arrays, tensors and files in overlapping tiles (bounded memory)

`ganforge.api` wraps these as the verbs of `ganforge.load(path)`; perceptual path length and PSNR
are metrics (`ganforge.metrics.path_length`, `ganforge.metrics.image`). The package imports none of
its modules here, so `ganforge.metrics` can load a run through `inference.model` without pulling in
the modules that use metrics.
"""
