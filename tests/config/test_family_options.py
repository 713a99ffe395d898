"""A family's options are its own: a key that belongs to another family is an error that names the
family that has it, and a train.* option the family's objective does not read is refused, never
silently ignored. Nothing here names a family: every pair comes from the registry."""

import dataclasses

import pytest

from ganforge.config import load_config
from ganforge.errors import UserError
from ganforge.models import MODELS
from ganforge.schema import OBJECTIVE_TRAIN_KEYS

from conftest import assert_user_error, run_cli


def section_fields(family: str, section: str) -> dict[str, object]:
    fam = MODELS.get(family)
    cls = fam.config if section == "model" else fam.objective.Loss
    return {f.name: f for f in dataclasses.fields(cls)}


def foreign_keys():
    """(family, section, key, a family that has the key) for every key some other family has."""
    out = []
    for family in MODELS:
        for section in ("model", "loss"):
            mine = section_fields(family, section)
            for other in MODELS:
                for key in section_fields(other, section):
                    if key not in mine and (family, section, key) not in {(f, s, k) for f, s, k, _ in out}:
                        out.append((family, section, key, other))
    return out


FOREIGN = foreign_keys()


def test_there_are_foreign_keys_to_check():
    assert len(FOREIGN) > 50
    assert ("dcgan", "model", "resnet_blocks", "cyclegan") in FOREIGN


@pytest.mark.parametrize("family, section, key, owner", FOREIGN, ids=lambda v: str(v))
def test_a_key_of_another_family_is_refused_naming_its_family(family, section, key, owner):
    with pytest.raises(UserError) as err:
        load_config(None, [f"model.family={family}", f"{section}.{key}=1"])
    message = str(err.value)
    assert f"{section}.{key}" in message and f"not of {family}" in message
    assert owner in message


NON_DEFAULT = {
    "d_steps": "2",
    "pool_size": "10",
    "augment": "diffaugment",
    "augment_policy": "color",
    "augment_p": "0.5",
    "ada_target": "0.5",
    "ada_interval": "2",
    "ada_kimg": "50",
}


def test_every_objective_train_key_has_a_non_default_value_here():
    assert set(NON_DEFAULT) == set(OBJECTIVE_TRAIN_KEYS)


@pytest.mark.parametrize("family", MODELS.keys())
def test_train_options_the_objective_does_not_read_are_refused(family):
    reads = MODELS.get(family).objective.train_keys
    for key, value in NON_DEFAULT.items():
        overrides = [f"model.family={family}", f"train.{key}={value}"]
        if key in reads:
            if key.startswith(("ada_", "augment_")) and "augment" in reads:
                overrides.append("train.augment=ada")
            load_config(None, overrides)  # accepted
        else:
            with pytest.raises(UserError, match=f"train.{key}=.* no effect on the {family} family"):
                load_config(None, overrides)


def test_cli_refuses_family_foreign_options_with_exit_2():
    assert_user_error(
        run_cli("train", "quickstart", "model.resnet_blocks=3", "--dry-run"), "model.resnet_blocks", "cyclegan"
    )
    proc = run_cli("train", "stylegan-mnist", "loss.clip=0.01", "--dry-run")
    assert_user_error(proc, "loss.clip", "not of stylegan")
    assert_user_error(run_cli("train", "pix2pix-edges", "train.augment=ada", "--dry-run"), "no effect on the pix2pix")
