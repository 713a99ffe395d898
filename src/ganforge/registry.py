"""The one registry helper: every kind of component (models, losses, datasets, metrics, ...)
is a `Registry` of plain callables. Built-ins register through the same public call as users."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from ganforge.errors import UserError

T = TypeVar("T")


def closest(name: str, choices) -> str:
    """A ' (did you mean X?)' suffix naming the nearest choice, or '' when none is near."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


class Registry(Generic[T]):
    """Name -> entry (a callable or a small frozen object, never a dotted string). `register` refuses duplicates; `get` on an unknown name raises a
    `UserError` listing the valid names."""

    def __init__(self, kind: str):
        self.kind = kind  # used in messages: "model", "loss", "dataset", ...
        self._entries: dict[str, T] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, entry: T | None = None, *, doc: str | None = None):
        """`reg.register("x", fn)` or, as a decorator, `@reg.register("x")`."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} names must be non-empty strings, got {name!r}")

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            if isinstance(obj, str):
                raise TypeError(f"{self.kind} '{name}': register the object itself, not a dotted string")
            self._entries[name] = obj
            text = doc if doc is not None else (getattr(obj, "__doc__", None) or "")
            self._docs[name] = text.strip().splitlines()[0] if text.strip() else ""
            return obj

        return add if entry is None else add(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} '{name}'{closest(name, self._entries)}; "
                f"choose one of: {', '.join(sorted(self._entries))}"
            ) from None

    def doc(self, name: str) -> str:
        return self._docs.get(name, "")

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return [(k, self._entries[k]) for k in sorted(self._entries)]
