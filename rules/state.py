"""A stateful rule kind's state for one stream (see rules/kinds.py): plain strings, no Redis."""

from __future__ import annotations

from collections.abc import Mapping


class KindState:
    """One stateful kind's state for one stream, while a drain holds the stream: string fields
    as saved in Redis (keys.kind_state), and which of them changed since the last save."""

    __slots__ = ("deleted", "fields", "written")

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self.fields: dict[str, str] = dict(fields or {})
        self.written: set[str] = set()
        self.deleted: set[str] = set()

    def get(self, field: str) -> str | None:
        """Return a field's value (None when absent)."""
        return self.fields.get(field)

    def set(self, field: str, value: str) -> None:
        """Set a field, saved with the batch (an unchanged value writes nothing)."""
        if self.fields.get(field) != value:
            self.fields[field] = value
            self.written.add(field)
            self.deleted.discard(field)

    def delete(self, field: str) -> None:
        """Delete a field; the deletion is saved with the batch."""
        if self.fields.pop(field, None) is not None:
            self.deleted.add(field)
            self.written.discard(field)

    def take(self) -> tuple[dict[str, str], list[str]]:
        """Return the fields written and the fields deleted since the last take, and forget them."""
        written = {field: self.fields[field] for field in self.written}
        deleted = sorted(self.deleted)
        self.written.clear()
        self.deleted.clear()
        return written, deleted
