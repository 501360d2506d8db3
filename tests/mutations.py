"""Documented frames, mutated: the strategy and the check of the property-based parser tests.

A venue's fixtures (tests/data/<venue>/, copied from its docs) are decoded, and one to three of
their nodes are replaced (by huge, negative, odd or non-numeric numbers and strings, other JSON
types, deep nesting), dropped or wrapped. What a parser makes of such a frame must be a Parsed or
an UnknownMessage, and whatever it parses must publish: encode for a stream entry and decode
back as it was. Generic over the parse function: a venue adds its fixtures with one line in
tests/unit/test_parse_fuzz.py.

Hypothesis draws one seeded Random per example and the frames of a batch are mutated with it:
thousands of frames a second instead of hundreds (drawing each choice through Hypothesis costs
~100 us), reproducible under `derandomize`. The failing frame is in the assertion's message.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from hypothesis import strategies as st

from watcher.errors import UnknownMessage
from watcher.events import decode_event, decode_ticks, encode_event, encode_ticks, ticker_from_row
from watcher.venues import Parsed

NodePath = tuple[str | int, ...]
_RAW = "\x00raw:"  # marks a raw JSON literal, spliced in after encoding

# Literals JSON allows that Python's encoder cannot write: integers past 64 bits, floats past
# the double range, arrays and objects nested as deep as orjson reads (1,024 levels) and deeper.
RAW_LITERALS = [
    "1e300",
    "-1e300",
    "1e400",
    "99999999999999999999",
    "-99999999999999999999",
    "1" * 400,
    "[" * 1_000 + "]" * 1_000,
    "[" * 2_000 + "]" * 2_000,
    '{"a":' * 600 + "1" + "}" * 600,
]
ODD_TEXTS = [
    "",
    "0",
    "-0",
    "-1",
    "0.000",
    "0E+3",
    "+5",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e999999999",
    "1e-999999999",
    "1_000.5",
    " 5",
    "5\n",
    "\u0661\u0662\u0663.\u0664",  # Arabic-Indic digits
    "\uff11\uff12",  # fullwidth digits
    "1.2.3",
    "0x10",
    "9" * 20,
    "99999999999999999",
    "1230767999999",
    "1597026383085",
    "true",
    "null",
    "x" * 5_000,
    "\n\r\t\x00",
]
BOUNDARY_INTS = [0, 1, 2**31, 2**32, 2**53, 10**13, 10**15, 2**62, 2**63 - 1, 2**63, 2**64 - 1]
OTHER_TYPES: list[Any] = [True, False, None, [], {}, ["1"], {"a": "1"}]
ALPHABET = "0123456789.-+eE_ xA\u0660\u0669\uff10\u00b2\U0001d7ce"


def odd_value(rng: random.Random) -> Any:
    """Return a value to put in place of a field: odd numbers and texts, other JSON types."""
    pick = rng.randrange(10)
    if pick == 0:
        return rng.choice(ODD_TEXTS)
    if pick == 1:
        return _RAW + rng.choice(RAW_LITERALS)
    if pick == 2:  # an integer at or below a boundary, within what JSON encoders write
        value = max(rng.choice(BOUNDARY_INTS) - rng.randint(0, 2), 0)
        return -value if value < 2**63 and rng.random() < 0.3 else value
    if pick == 3:
        return str(rng.choice(BOUNDARY_INTS) * rng.choice((1, -1, 10**5)) + rng.randint(-2, 2))
    if pick == 4:
        return rng.choice((rng.uniform(-1e6, 1e6), 10.0 ** rng.randint(-320, 308), -0.0))
    if pick == 5:
        return f"{rng.randint(-(10**6), 10**6)}e{rng.randint(-(10**10), 10**10)}"
    if pick == 6:
        return str(rng.randint(-(10**40), 10**40))
    if pick == 7:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
    if pick == 8:
        return copy.deepcopy(rng.choice(OTHER_TYPES))
    return str(rng.randint(0, 10**17))  # a time of any size


def fixtures(folder: Path, pattern: str) -> list[Any]:
    """Return a venue's documented frames (files matching `pattern` in `folder`), decoded."""
    return [orjson.loads(p.read_bytes()) for p in sorted(folder.glob(pattern))]


def _paths(node: Any, prefix: NodePath = ()) -> list[NodePath]:
    children: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    found: list[NodePath] = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def mutate(frame: Any, rng: random.Random) -> bytes:
    """Return `frame` encoded with one to three of its nodes replaced, dropped or wrapped."""
    paths = _paths(frame)
    frame = orjson.loads(orjson.dumps(frame))  # a deep copy, at C speed
    for path in rng.sample(paths, min(len(paths), rng.randint(1, 3))):
        try:  # an earlier mutation may have dropped or replaced this node's parent
            parent: Any = frame
            for key in path[:-1]:
                parent = parent[key]
            node = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue
        if type(parent) not in (dict, list):  # a string indexed by an int: not a node
            continue
        action = rng.randrange(10)
        if action == 0:
            del parent[path[-1]]
        elif action == 1:
            parent[path[-1]] = rng.choice(([node], {"x": node}))
        else:
            parent[path[-1]] = odd_value(rng)
    text = orjson.dumps(frame).decode()
    for literal in RAW_LITERALS:  # splice the raw literals in place of their marker strings
        text = text.replace(orjson.dumps(_RAW + literal).decode(), literal)
    return text.encode()


def batch(frames: list[Any], rng: random.Random, size: int = 25) -> list[bytes]:
    """Return `size` mutated frames, each from one of `frames`."""
    return [mutate(rng.choice(frames), rng) for _ in range(size)]


# One seeded Random per example (drawn, so `derandomize` makes the run the same every time).
SEEDS = st.randoms(use_true_random=True)


def check_outcome(parse: Callable[[bytes], Parsed], raw: bytes, venue: str) -> None:
    """Parse `raw`: only a Parsed or an UnknownMessage may come out, and what parses publishes."""
    try:
        _check(parse, raw, venue)
    except Exception as exc:  # any failure at all: name the frame that caused it
        raise AssertionError(f"{type(exc).__name__} on the frame {raw[:1_000]!r}") from exc


def _check(parse: Callable[[bytes], Parsed], raw: bytes, venue: str) -> None:
    parsed = _outcome(parse, raw)
    if isinstance(parsed, UnknownMessage):
        assert parsed.venue == venue
        return
    assert isinstance(parsed, Parsed)
    if parsed.ticks:
        assert decode_ticks(encode_ticks(parsed.ticks)) == [list(row) for row in parsed.ticks]
        for row in parsed.ticks:  # a worker can read it: a valid Ticker, a finite price
            assert ticker_from_row(venue, row).price == Decimal(row[2])
    for event in parsed.events:
        assert decode_event(encode_event(event)) == event


def _outcome(parse: Callable[[bytes], Parsed], raw: bytes) -> Parsed | UnknownMessage:
    try:
        return parse(raw)
    except UnknownMessage as exc:
        return exc
