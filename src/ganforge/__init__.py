"""ganforge: Generative Adversarial Networks, trained, evaluated and served the same way."""

__version__ = "0.1.0"


def load(path, device: str = "cpu"):
    """Load a trained model from a run directory or checkpoint directory, or "zoo:NAME" from the zoo
    shipped with ganforge (see `ganforge.api`)."""
    from ganforge.api import load as _load

    return _load(path, device=device)
