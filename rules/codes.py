"""Error codes of rule files, and the located Problem every check reports.

A code is stable: once released, its number and name keep their meaning (tests/unit/
test_rules_codes.py pins them), so an editor, a CI annotation or a script may match on it.
`klaxon check --format json` prints each problem as {file, line, column, code, name, message};
the text format prints `file:line: message` as it always has.

Numbers by family: KX0xx the file itself, KX1xx the shape of the YAML, KX2xx a value,
KX3xx references between names, KX4xx message, repeat and options, KX5xx channels, KX6xx tables,
KX9xx settings. A check that has no better code uses BAD_VALUE (Reader.error's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Code:
    """A stable error code: its number (KX101), short name (unknown-key) and meaning."""

    number: str
    name: str
    meaning: str

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


UNREADABLE = Code("KX001", "unreadable", "a rule file or table that cannot be read")
NOT_UTF8 = Code("KX002", "not-utf8", "a file that is not UTF-8 text")
YAML_SYNTAX = Code("KX003", "yaml-syntax", "YAML that does not parse")
EMPTY_FILE = Code("KX004", "empty-file", "a rule file with nothing in it")
BAD_VERSION = Code("KX005", "bad-version", "a `version:` this klaxon does not read")

UNKNOWN_KEY = Code("KX101", "unknown-key", "a key the mapping does not allow")
MISSING_KEY = Code("KX102", "missing-key", "a required key is absent")
DUPLICATE_KEY = Code("KX103", "duplicate-key", "a key given twice in one mapping")
WRONG_TYPE = Code("KX104", "wrong-type", "a mapping, list, string or number where another is due")
MERGE_KEY = Code("KX105", "merge-key", "a YAML merge key (<<)")
ONE_OF = Code("KX106", "one-of", "none, or several, of keys that exclude each other")
EMPTY_LIST = Code("KX107", "empty-list", "a list that needs at least one item")
LISTED_TWICE = Code("KX108", "listed-twice", "the same item twice in one list")

BAD_VALUE = Code("KX200", "bad-value", "a value the check refuses (no more specific code)")
BAD_FORMAT = Code("KX201", "bad-format", "a name or string not of its required form")
NOT_A_CHOICE = Code("KX202", "not-a-choice", "a word not among the allowed ones")
BAD_NUMBER = Code("KX203", "bad-number", "not a number, not finite, or a leading zero")
OUT_OF_RANGE = Code("KX204", "out-of-range", "a number too large, too precise, or not > 0")
BAD_DURATION = Code("KX205", "bad-duration", "a duration that does not parse or is out of bounds")
BAD_MARKET = Code("KX206", "bad-market", "a market not spelled as its venue spells markets")
NO_VENUE = Code("KX207", "no-venue", "a rule naming no venue where no single one is configured")
BAD_RATE = Code("KX208", "bad-rate", "a channel rate that does not parse")
BAD_SOURCE = Code("KX209", "bad-source", "a price source the venue does not stream for the market")
NO_POSITION = Code("KX210", "no-position", "close_position in a market that holds no position")

UNKNOWN_CHANNEL = Code("KX301", "unknown-channel", "a channel name no file declares")
DUPLICATE_NAME = Code("KX302", "duplicate-name", "a rule or channel name declared twice")
SELF_REFERENCE = Code("KX303", "self-reference", "a channel that falls back to itself")

BAD_TEMPLATE = Code("KX401", "bad-template", "a message with an unknown or malformed placeholder")
EMPTY_MESSAGE = Code("KX402", "empty-message", "an empty message")
BAD_REPEAT = Code("KX403", "bad-repeat", "a repeat policy that is unknown or makes no sense here")
BAD_OPTION = Code("KX404", "bad-option", "an option (hold, rearm, ...) the rule's kind cannot take")

ENV_VARIABLE = Code("KX501", "env-variable", "a ${NAME} that is unset, empty or malformed")
BAD_URL = Code("KX502", "bad-url", "a channel URL apprise cannot use")

TABLE_HEADER = Code("KX601", "table-header", "a table header that is empty, unknown or short")
TABLE_ROW = Code("KX602", "table-row", "a table row with the wrong number of fields")
CSV_SYNTAX = Code("KX603", "csv-syntax", "CSV that does not parse")
TABLE_OUTSIDE = Code("KX604", "table-outside", "a table file outside its rule file's directory")
MORE_ERRORS = Code("KX699", "more-errors", "how many more errors a table has than are shown")

BAD_SETTINGS = Code("KX901", "bad-settings", "KLAXON_* settings that klaxon check cannot use")

CODES: tuple[Code, ...] = tuple(v for v in tuple(globals().values()) if isinstance(v, Code))


@dataclass(frozen=True, slots=True)
class Problem:
    """One error: where (1-based line and column; None when not known), its code, and what.

    The message never holds a secret: checks name a variable, never its value.
    """

    path: str
    line: int | None
    column: int | None
    code: Code
    message: str

    def text(self) -> str:
        """Return the line `klaxon check` prints: `path:line: message`."""
        return (
            f"{self.path}: {self.message}"
            if self.line is None
            else f"{self.path}:{self.line}: {self.message}"
        )

    def as_json(self) -> dict[str, Any]:
        """Return the problem as `klaxon check --format json` prints it."""
        return {
            "file": self.path or None,  # None: not a file's problem (settings)
            "line": self.line,
            "column": self.column,
            "code": self.code.number,
            "name": self.code.name,
            "message": self.message,
        }
