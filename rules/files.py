"""Reading rule files and their tables: bytes stamped and digested as read, YAML composed into
nodes (with their marks), and every failure an error at its line and column."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from rules.codes import EMPTY_FILE, NOT_UTF8, UNREADABLE, YAML_SYNTAX
from rules.reader import Reader
from rules.ruleset import FileStamp

# libyaml's composer is much faster; both give nodes with line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_bytes(path: Path, stamps: list[FileStamp], digest: hashlib._Hash) -> bytes:
    """Return a file's bytes (OSError if unreadable), stamped as read and added to the digest."""
    try:
        with path.open("rb") as file:
            # Stamped before reading: a change made while reading shows as a change later.
            stamps.append(FileStamp.of(str(path), os.fstat(file.fileno())))
            data = file.read()
    except OSError:
        stamps.append(FileStamp(str(path), None, None))
        raise
    # Length-prefixed, so moving bytes from one file to the next changes the version.
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)
    return data


def compose(
    path: Path, reader: Reader, digest: hashlib._Hash, stamps: list[FileStamp]
) -> yaml.Node | None:
    """Return the file's single YAML document as nodes, or None after recording why not."""
    try:
        data = read_bytes(path, stamps, digest)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        reader.error(1, f"cannot read rule file: {why}", UNREADABLE, column=1)
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        reader.error(data[: exc.start].count(b"\n") + 1, "not UTF-8 text", NOT_UTF8, column)
        return None
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        column = int(mark.column) + 1 if mark is not None else 1
        # Built from the parser's words only: its snippet could quote a secret from the file.
        words = "; ".join(str(w) for w in (exc.context, exc.problem) if w)
        reader.error(line, f"YAML syntax error: {words or 'unparsable'}", YAML_SYNTAX, column)
        return None
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        line = text[: exc.position].count("\n") + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        message = f"YAML error: character #x{code:04x} is not allowed in YAML"
        reader.error(line, message, YAML_SYNTAX, column)
        return None
    except yaml.YAMLError as exc:
        reader.error(1, f"YAML error: {type(exc).__name__}", YAML_SYNTAX, column=1)
        return None
    if root is None:
        message = "empty file: expected a mapping with `rules:` (and `channels:`)"
        reader.error(1, message, EMPTY_FILE, column=1)
    return root


def table_text(path: str) -> str | None:
    """Return a table's text as _read_table reads it, or None if that fails now."""
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
