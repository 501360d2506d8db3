"""A venue's word looked up in its table of canonical words, refusing a word not listed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def canonical(table: Mapping[str, T], value: object, what: str) -> T:
    """Return the canonical word for `value`; ValueError ("not a <what>") if it is not listed."""
    found = table.get(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"not a {what}")
    return found
