"""Message templates: `{name}` placeholders from a fixed set, checked when the rules load.

Rendering is plain substitution, never str.format: a template can't reach attributes, items,
conversions or format specs, so a rule file can't make a message leak more than its fields.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import lru_cache
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_MARKS = {
    ".": "attribute access is",
    "[": "indexing is",
    "!": "conversions are",
    ":": "format specs are",
}


class TemplateError(ValueError):
    """A template that can't be compiled; the message names the offending placeholder."""


class Template:
    """A compiled message template: literal text and the placeholders between it."""

    __slots__ = ("_parts", "names", "text")

    def __init__(self, text: str, allowed: Collection[str]) -> None:
        self.text = text
        self._parts = _compile(text, frozenset(allowed))
        self.names = frozenset(name for _, name in self._parts if name)

    def render(self, values: Mapping[str, str]) -> str:
        """Return the text with each placeholder replaced by its value (KeyError if absent)."""
        return "".join(literal + (values[name] if name else "") for literal, name in self._parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """Let pydantic models hold a compiled Template as is."""
        return core_schema.is_instance_schema(cls)


@lru_cache(maxsize=4096)  # rule files repeat their messages; parts are immutable, so share them
def _compile(text: str, allowed: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """Split text into (literal, placeholder) pairs; the last placeholder may be ""."""
    parts: list[tuple[str, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
        elif char == "}":
            raise TemplateError(f"single '}}' at column {i + 1}; write '}}}}' for a literal brace")
        elif char == "{":
            end = text.find("}", i + 1)
            if end < 0:
                raise TemplateError(
                    f"unclosed '{{' at column {i + 1}; write '{{{{' for a literal brace"
                )
            body = text[i + 1 : end]
            _check_placeholder(body, allowed)
            parts.append(("".join(literal), body))
            literal = []
            i = end + 1
        else:
            literal.append(char)
            i += 1
    parts.append(("".join(literal), ""))
    return tuple(parts)


def _check_placeholder(body: str, allowed: frozenset[str]) -> None:
    """Raise TemplateError unless body is a bare allowed name."""
    shown = "{" + body + "}"
    choices = ", ".join(sorted(allowed))
    if "{" in body:
        raise TemplateError(f"nested '{{' in placeholder {shown}")
    if not body.strip():
        raise TemplateError(f"empty placeholder {shown}; allowed: {choices}")
    # Like str.format, the first of these marks decides what the placeholder tries to do.
    marks = [(body.find(mark), what) for mark, what in _MARKS.items() if mark in body]
    if marks:
        what = min(marks)[1]
        raise TemplateError(f"placeholder {shown}: {what} not allowed; use a bare name")
    if not _NAME.fullmatch(body) or body not in allowed:
        raise TemplateError(f"unknown placeholder {shown}; allowed: {choices}")
