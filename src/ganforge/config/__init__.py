"""Typed configuration: the shared schema (`schema`), the library presets (`presets`), and loading
with YAML files and dotted `key=value` overrides (`loader`). A family's own options live in its
model file (`model` section) and in its objective (`loss` section)."""

from ganforge.config.loader import (
    all_keys,
    build,
    from_dict,
    from_saved,
    load_config,
    merge,
    parse_overrides,
    save_config,
    validate,
)
from ganforge.config.presets import PRESETS
from ganforge.schema import Config, DataConfig, LossConfig, ModelConfig, OptimConfig, TrainConfig

__all__ = [
    "Config",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimConfig",
    "PRESETS",
    "TrainConfig",
    "all_keys",
    "build",
    "from_dict",
    "from_saved",
    "load_config",
    "merge",
    "parse_overrides",
    "save_config",
    "validate",
]
