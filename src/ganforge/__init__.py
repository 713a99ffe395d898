"""ganforge: Generative Adversarial Networks, trained, evaluated and served the same way."""

from ganforge.version import __version__ as __version__


def load(path, device: str = "cpu", ema: bool = True):
    """Load a trained model from a run directory or checkpoint directory, or "zoo:NAME" from the zoo
    shipped with ganforge (see `ganforge.api`); ema=False: the live weights, not the EMA generator."""
    from ganforge.api import load as _load

    return _load(path, device=device, ema=ema)
