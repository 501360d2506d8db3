"""The loaded rules of one or more files: what a watcher subscribes to and a worker evaluates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from rules.base import Channel, Rule
from rules.book import PriceBook
from rules.fill import FillRule


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

    `price_rules` is a PriceBook: a Sequence of PriceRule built on demand from compact columns.
    `files` stamps every file read (rule files, then tables), for watching them for changes.
    """

    channels: Mapping[str, Channel]
    price_rules: PriceBook
    fill_rules: tuple[FillRule, ...]
    version: str
    files: tuple[FileStamp, ...] = ()

    def markets(self) -> set[tuple[str, str, str]]:
        """Return the (venue, market, source) price series the price rules need."""
        return self.price_rules.markets()

    def rules(self) -> tuple[Rule, ...]:
        """Return every rule of every kind (builds every price rule: costly for large tables)."""
        return (*self.price_rules, *self.fill_rules)

    @cached_property
    def by_id(self) -> Mapping[str, Rule]:
        """Return every rule by its id (built on first use; costly for large tables)."""
        return MappingProxyType({rule.id: rule for rule in self.rules()})
