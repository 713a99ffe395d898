"""Small builders several test folders share (conftest.py holds the fixtures)."""

from ganforge.config import load_config

from conftest import TINY, tiny_model


def tiny_trainer_config(family: str, extra: list[str] = (), steps: int = 1):
    """A tiny config of any registered family, for in-memory data given to the Trainer."""
    shared = [o for o in TINY if not o.startswith(("data.", "model."))]
    return load_config(None, [*tiny_model(family), f"train.steps={steps}", *shared, *extra])
