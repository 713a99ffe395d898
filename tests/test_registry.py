"""The one registry helper: duplicates and dotted strings refused, unknown names answered with the
nearest one."""

import pytest

from ganforge.errors import UserError
from ganforge.registry import Registry


def test_registry_refuses_duplicates_and_strings():
    reg = Registry("thing")
    reg.register("a", lambda: 1)
    with pytest.raises(ValueError):
        reg.register("a", lambda: 2)
    with pytest.raises(TypeError):
        reg.register("b", "ganforge.models.dcgan")
    with pytest.raises(UserError) as e:
        reg.get("aa")
    assert "did you mean 'a'" in str(e.value)
