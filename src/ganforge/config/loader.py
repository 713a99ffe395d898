"""Loading a config: defaults <- preset or YAML file <- dotted `key=value` overrides.

The chosen family (model.family) decides the schema: its own dataclass is the `model` section and
its objective's the `loss` section (`ganforge.models.registry.Family`). Unknown keys are errors that
name the closest valid key, or the families that have the key; values are converted to the field's
type or rejected with a clear message; `validate` runs the shared checks, then the family's and its
objective's. The resolved config is written to `RUN/config.json`.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from ganforge.augment import parse_policy
from ganforge.config.presets import PRESETS
from ganforge.errors import UserError
from ganforge.models.registry import MODELS, Family
from ganforge.optim import OPTIMIZERS
from ganforge.registry import closest
from ganforge.schema import OBJECTIVE_TRAIN_KEYS, Config, ModelConfig, OptimConfig

FAMILY_SECTIONS = ("model", "loss")  # the sections whose schema the family decides


# --- type conversion ------------------------------------------------------------------------------
def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Convert `value` (a YAML/JSON value or an override string) to type `tp`, or raise UserError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "~")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except UserError as e:
                errors.append(str(e))
        raise UserError(errors[0] if errors else f"{key}: cannot be {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.lower() in ("true", "yes", "1", "on")
        raise UserError(f"{key}={value!r}: expected true or false")
    if tp is int:
        if isinstance(value, bool):
            raise UserError(f"{key}={value!r}: expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise UserError(f"{key}={value!r}: expected an integer, for example {key}=100")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{key}={value!r}: expected a number, for example {key}=0.0002")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"{key}={value!r}: expected a string")
    if origin in (tuple, list):
        if isinstance(value, str):
            value = yaml.safe_load(value)
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{key}={value!r}: expected a list such as [1, 2]")
        (inner, *_) = typing.get_args(tp) or (Any,)
        return [_convert(v, inner, key) for v in value]
    return value


# --- the family's schema --------------------------------------------------------------------------
def section_class(family: Family, section: str) -> type:
    return family.config if section == "model" else family.objective.Loss


def owners(section: str, key: str) -> list[str]:
    """The families whose `section` has `key`."""
    return [
        name
        for name, fam in MODELS.items()
        if any(f.name == key for f in dataclasses.fields(section_class(fam, section)))
    ]


def empty_config(family_name: str) -> Config:
    """The defaults for a family: shared sections plus the family's own model and loss sections."""
    family = MODELS.get(family_name)
    return Config(model=family.config(family=family_name), loss=family.objective.Loss())


def _apply(obj, updates: dict, prefix: str = "", family: str = "") -> None:
    """Apply a nested dict of updates onto dataclass `obj` in place, validating every key."""
    if not isinstance(updates, dict):
        raise UserError(f"{prefix.rstrip('.') or 'config'}: expected a mapping of keys, got {updates!r}")
    types_ = _field_types(type(obj))
    for key, value in updates.items():
        full = prefix + str(key)
        if key not in types_:
            valid = [prefix + k for k in types_]
            section = prefix.rstrip(".")
            if section in FAMILY_SECTIONS and (has := owners(section, str(key))):
                raise UserError(
                    f"{full} is an option of the {', '.join(has)} famil{'y' if len(has) == 1 else 'ies'}, "
                    f"not of {family} (model.family); remove it or choose one of those families"
                )
            raise UserError(f"unknown config key '{full}'{closest(full, valid)}; valid keys here: {', '.join(valid)}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            _apply(current, value, full + ".", family)
        else:
            setattr(obj, key, _convert(value, types_[key], full))


def all_keys() -> list[str]:
    """Every section.key of every family's schema."""
    keys: set[str] = set()
    for name in MODELS:
        cfg = empty_config(name)
        for f in dataclasses.fields(cfg):
            keys.update(f"{f.name}.{g.name}" for g in dataclasses.fields(getattr(cfg, f.name)))
    return sorted(keys)


def parse_overrides(items: list[str]) -> dict:
    """['train.steps=10', 'model.width=32'] -> {'train': {'steps': '10'}, 'model': {'width': '32'}}."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"override '{item}' is not key=value; write for example train.steps=2000")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if len(parts) != 2 or not all(parts):
            raise UserError(f"override key '{key}' must be section.name{closest(key, all_keys())}")
        out.setdefault(parts[0], {})[parts[1]] = value
    return out


def merge(base: dict, updates: dict) -> dict:
    """A copy of nested dict `base` with each section of `updates` merged into its own."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in updates.items():
        if isinstance(values, dict) and isinstance(out.get(section), dict):
            out[section] = {**out[section], **values}
        else:
            out[section] = values
    return out


def build(raw: dict) -> Config:
    """A validated Config from a nested dict (a preset, a YAML file, a saved config.json)."""
    if not isinstance(raw, dict):
        raise UserError(f"config: expected a mapping of sections, got {raw!r}")
    model = raw.get("model", {})
    family = model.get("family", ModelConfig.family) if isinstance(model, dict) else ModelConfig.family
    cfg = empty_config(str(family))
    _apply(cfg, raw, family=str(family))
    validate(cfg)
    return cfg


from_dict = build  # the name earlier versions exported


def from_saved(d: dict) -> Config:
    """The config recorded in a checkpoint. Checkpoints written before configs were per family hold
    every family's model and loss keys (and None for d_sn); the keys this family never read are
    dropped, which is what training with them did."""
    d = json.loads(json.dumps(d))  # a deep copy
    family = MODELS.get(str(d.get("model", {}).get("family", ModelConfig.family)))
    for section in FAMILY_SECTIONS:
        fields = {f.name for f in dataclasses.fields(section_class(family, section))}
        values = d.get(section, {})
        d[section] = {k: v for k, v in values.items() if k in fields and v is not None or k == "family"}
    d["model"] = family.config.from_legacy(d["model"])
    for key in OBJECTIVE_TRAIN_KEYS:
        if key not in family.objective.train_keys:
            d.get("train", {}).pop(key, None)
    return build(d)


def load_config(source: str | None = None, overrides: list[str] = ()) -> Config:
    """Defaults <- preset name or YAML/JSON file <- `key=value` overrides, validated."""
    raw: dict = {}
    if source:
        path = Path(source)
        if source in PRESETS:
            raw = PRESETS.get(source)
        elif path.suffix in (".yaml", ".yml", ".json") or path.exists():
            if not path.is_file():
                raise UserError(
                    f"config file {path} not found; give a YAML file or a preset ({', '.join(PRESETS.keys())})"
                )
            try:
                raw = yaml.safe_load(path.read_text()) or {}
            except (yaml.YAMLError, UnicodeDecodeError) as e:
                raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
            if not isinstance(raw, dict):
                raise UserError(f"{path}: expected a mapping of sections (data:, model:, train:, ...)")
        else:
            PRESETS.get(source)  # raises: unknown preset, with the nearest name
    return build(merge(raw, parse_overrides(list(overrides))))


# --- validation -----------------------------------------------------------------------------------
def validate(cfg: Config) -> None:
    """The shared checks, then the family's (cfg.model.validate), its loss section's and its objective's."""
    t, d = cfg.train, cfg.data
    if t.steps < 0 or t.batch_size < 1 or t.d_steps < 1:
        raise UserError("train.steps must be >= 0, train.batch_size >= 1 and train.d_steps >= 1")
    if t.precision not in ("auto", "32", "bf16", "16"):
        raise UserError(f"train.precision={t.precision!r}: choose auto, 32, bf16 or 16")
    if isinstance(t.channels_last, str) and t.channels_last != "auto":
        raise UserError(f"train.channels_last={t.channels_last!r}: true, false or auto")
    if isinstance(t.threads, str) and t.threads != "auto" or isinstance(t.threads, int) and t.threads < 1:
        raise UserError(f"train.threads={t.threads!r}: a number of threads >= 1, auto, or none for PyTorch's default")
    if t.ema is not None and not 0.0 <= t.ema < 1.0:
        raise UserError(f"train.ema={t.ema}: a decay in [0, 1), or none to disable")
    for name in ("g_optim", "d_optim"):
        o: OptimConfig = getattr(cfg, name)
        if o.name not in OPTIMIZERS:
            raise UserError(f"{name}.name={o.name!r}: choose {', '.join(OPTIMIZERS.keys())}")
        if o.lr <= 0:
            raise UserError(f"{name}.lr must be positive")
    if t.lr_decay_start is not None and not 0.0 <= t.lr_decay_start < 1.0:
        raise UserError(f"train.lr_decay_start={t.lr_decay_start}: a fraction of the steps in [0, 1), or none")
    if t.augment not in ("none", "diffaugment", "ada"):
        raise UserError(f"train.augment={t.augment!r}: choose none, diffaugment or ada")
    if t.augment != "none":
        parse_policy(t.augment_policy)  # each transform a registered one
    if t.augment_p is not None and not 0.0 <= t.augment_p <= 1.0:
        raise UserError(f"train.augment_p={t.augment_p}: a probability in [0, 1], or none for the default")
    if not 0.0 < t.ada_target < 1.0 or t.ada_interval < 1 or t.ada_kimg <= 0:
        raise UserError(
            f"train.ada_target={t.ada_target}, ada_interval={t.ada_interval}, ada_kimg={t.ada_kimg}: "
            "the target must be in (0, 1), the interval >= 1 and ada_kimg > 0"
        )
    if t.nan_policy not in ("rollback", "skip", "stop"):
        raise UserError(f"train.nan_policy={t.nan_policy!r}: choose rollback, skip or stop")
    if not 0.0 < t.nan_lr_factor <= 1.0 or t.nan_max_events < 0:
        raise UserError(
            f"train.nan_lr_factor={t.nan_lr_factor}, nan_max_events={t.nan_max_events}: the factor must be "
            "in (0, 1] and the number of events >= 0"
        )
    if d.direction not in ("AtoB", "BtoA"):
        raise UserError(f"data.direction={d.direction!r}: choose AtoB or BtoA")
    if d.load_size is not None and (d.resolution is None or d.load_size < d.resolution):
        raise UserError(
            f"data.load_size={d.load_size}: needs data.resolution set (the crop size) and at least that "
            "large, for example data.resolution=256 data.load_size=286"
        )
    family = MODELS.get(cfg.model.family)
    family.objective.validate(cfg)
    cfg.model.validate(cfg)
    cfg.loss.validate(cfg)


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
