"""The loaded rules of one or more files: what a watcher subscribes to and a worker evaluates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar, cast

from rules.base import Channel, Rule, Series
from rules.kinds import Book

R = TypeVar("R", bound=Rule)


class FileStamp(NamedTuple):
    """A file's path, modification time and size when it was read (None: it could not be)."""

    path: str
    mtime_ns: int | None
    size: int | None

    @classmethod
    def of(cls, path: str, stat: os.stat_result | None = None) -> FileStamp:
        """Stamp `path` from `stat`, or from the file as it is now."""
        if stat is None:
            try:
                stat = os.stat(path)
            except OSError:
                return cls(path, None, None)
        return cls(path, stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True)
class RuleSet:
    """Channels and compiled rules of a set of files, with a version over their bytes.

    `books` maps every registered rule kind (rules/kinds.py) to its compiled rules; the price
    kind's book is a PriceBook: compact columns, a PriceRule built on demand.
    `files` stamps every file read (rule files, then tables), for watching them for changes.
    """

    channels: Mapping[str, Channel]
    books: Mapping[str, Book[Any]]
    version: str
    files: tuple[FileStamp, ...] = ()

    def of(self, kind: type[R]) -> Book[R]:
        """Return the book of one kind, typed by its Rule class (e.g. ruleset.of(FillRule))."""
        return cast(Book[R], self.books[kind.KIND])

    def count(self) -> int:
        """Return how many rules there are, of every kind."""
        return sum(len(book) for book in self.books.values())

    def markets(self) -> set[Series]:
        """Return the (venue, market, source) price series the rules need streamed."""
        return set().union(*(book.markets() for book in self.books.values()))

    def venues(self) -> set[str]:
        """Return the venues the rules name."""
        return set().union(*(book.venues() for book in self.books.values()))

    def rules(self) -> tuple[Rule, ...]:
        """Return every rule of every kind (builds every price rule: costly for large tables)."""
        return tuple(rule for book in self.books.values() for rule in book)

    @cached_property
    def by_id(self) -> Mapping[str, Rule]:
        """Return every rule by its id (built on first use; costly for large tables)."""
        return MappingProxyType({rule.id: rule for rule in self.rules()})
