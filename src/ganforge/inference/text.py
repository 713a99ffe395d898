"""Text-to-image sampling from a text family (`Family.text`: StackGAN). The words a model knows are
those of its training captions, recorded in its checkpoint (`data_meta["vocab"]`); a word outside
them reads as <unk> (a warning names it), never an error. Empty text, or text longer than the model
reads, is a UserError.

    tokens_for(model, text, n)             word ids [n, L]: one caption for all n, or n captions
    sample(model, n, seed, text)           n images for the text, reproducible from seed alone
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from ganforge.data.captions import Tokenizer
from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel, families_that
from ganforge.inference.sampling import generate, require_noise_model, truncated_latents


def tokenizer(model: LoadedModel) -> Tokenizer:
    if not model.family.text:
        able = ", ".join(families_that(lambda f: f.text))
        raise UserError(f"this {model.family.name} model takes no text; drop --text (text families: {able})")
    return Tokenizer.from_meta(model.data_meta)


def tokens_for(model: LoadedModel, text: str | Sequence[str], n: int) -> Tensor:
    """Word ids [n, L] (int64): `text` for all n, or a sequence of n captions, one per sample."""
    tok = tokenizer(model)
    texts = [text] * n if isinstance(text, str) else list(text)
    if len(texts) != n:
        raise UserError(f"{len(texts)} captions given for {n} samples; give one caption, or one per sample")
    unknown = sorted({w for t in texts if isinstance(t, str) for w in tok.unknown(t)})
    if unknown:
        warnings.warn(
            f"unknown word(s) {', '.join(unknown)}: read as <unk>; this model knows "
            f"{', '.join(w for w in tok.vocab[2:12])}...",
            stacklevel=2,
        )
    return torch.stack([tok.encode(t, "--text") for t in texts])


def sample(
    model: LoadedModel,
    n: int,
    seed: int = 0,
    text: str | Sequence[str] | None = None,
    batch_size: int = 256,
    *,
    y=None,
    truncation: float | None = None,
) -> Tensor:
    """n images [n, C, H, W] in [-1, 1] for `text`, reproducible from `seed` alone."""
    if text is None:
        raise UserError(f"a {model.family.name} model draws images from text: give --text 'a thick seven'")
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    require_noise_model(model)
    if y is not None:
        raise UserError("--class does not apply to a text model: name the class in --text ('a seven')")
    tokens = tokens_for(model, text, n)  # checks the text before any sampling
    z, psi = truncated_latents(model, n, seed, truncation)
    return generate(model, z, tokens, batch_size, psi=psi)
