"""A stateful rule kind's state for one stream (see rules/kinds.py): plain strings, no Redis.

A field that changes on many ticks of a batch need not be formatted on each: its writer may keep
the value in its own form and defer() the writing. Every read of the state (get, fields, take)
first calls what was deferred, so what is read and saved is exactly what writing on every change
would have left (a move's ring writes its current bucket so, rules/move_index.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class KindState:
    """One stateful kind's state for one stream, while a drain holds the stream: string fields
    as saved in Redis (keys.kind_state), and which of them changed since the last save."""

    __slots__ = ("_deferred", "_fields", "deleted", "written")

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self._fields: dict[str, str] = dict(fields or {})
        self._deferred: list[Callable[[], None]] = []
        self.written: set[str] = set()
        self.deleted: set[str] = set()

    @property
    def fields(self) -> dict[str, str]:
        """Every field and its value (what was deferred written first)."""
        if self._deferred:
            self._write_deferred()
        return self._fields

    def get(self, field: str) -> str | None:
        """Return a field's value (None when absent)."""
        if self._deferred:
            self._write_deferred()
        return self._fields.get(field)

    def set(self, field: str, value: str) -> None:
        """Set a field, saved with the batch (an unchanged value writes nothing)."""
        if self._fields.get(field) != value:
            self._fields[field] = value
            self.written.add(field)
            self.deleted.discard(field)

    def delete(self, field: str) -> None:
        """Delete a field; the deletion is saved with the batch."""
        if self._fields.pop(field, None) is not None:
            self.deleted.add(field)
            self.written.discard(field)

    def defer(self, write: Callable[[], None]) -> None:
        """Have `write` called once, before the next read of the state (get, fields or take):
        it set()s the fields its caller changed since, in their final values. The caller
        registers it when it first leaves a field unwritten after a read."""
        self._deferred.append(write)

    def take(self) -> tuple[dict[str, str], list[str]]:
        """Return the fields written and the fields deleted since the last take, and forget them."""
        if self._deferred:
            self._write_deferred()
        fields = self._fields
        written = {field: fields[field] for field in self.written}
        deleted = sorted(self.deleted)
        self.written.clear()
        self.deleted.clear()
        return written, deleted

    def _write_deferred(self) -> None:
        deferred = self._deferred
        while deferred:  # a writer may defer again while it writes: it is called too
            deferred.pop(0)()
