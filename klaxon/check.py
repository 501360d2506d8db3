"""`klaxon check`: validate rule files for humans (file:line: message) or for tools (JSON).

    klaxon check rules/*.yaml                  # errors on stderr as file:line: message; exit 1
    klaxon check --format json rules/*.yaml    # one JSON document on stdout; same exit codes

The JSON document: {"ok", "files", "rules", "channels", "errors", "notes"}, each error
{"file", "line", "column", "code", "name", "message"} with a stable code (rules/codes.py);
"file" is null for a KLAXON_* settings error, "line" and "column" null where not known.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from klaxon.settings import CheckSettings, load
from rules.codes import BAD_SETTINGS, Problem
from rules.load import RuleLoadError, RuleSet, load_rules
from rules.reader import HIDDEN, secretish
from watcher.errors import ConfigError
from workers.notify import channel_problems

FORMATS = ("text", "json")


class CheckEnv(Mapping[str, str]):
    """The environment for `klaxon check`: unset variables get a marker instead of an error.

    A rule file is checked where its secrets may not be (a laptop, CI): the file is what is
    checked; `watch` and `work` still refuse to start with a variable unset.
    """

    MARK = "klaxon-unset://"

    def __init__(self) -> None:
        self.unset: set[str] = set()

    def __getitem__(self, name: str) -> str:
        if name in os.environ:
            return os.environ[name]
        self.unset.add(name)
        return f"{self.MARK}{name}"

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str)

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)


def check(paths: list[Path], output: str = "text") -> int:
    """Validate rule files on the configured venues; report every error, as `output` says."""
    env = CheckEnv()
    ruleset: RuleSet | None = None
    venues: list[str] = []
    try:
        venues = list(load(CheckSettings).venues())
        ruleset = load_rules(paths, env, venues=venues)
        # Channels built from a variable unset here were checked for syntax only.
        complete = {
            n: c for n, c in ruleset.channels.items() if env.MARK not in c.url.get_secret_value()
        }
        problems = channel_problems(replace(ruleset, channels=complete))
    except RuleLoadError as exc:
        problems = exc.problems
    except ConfigError as exc:  # the KLAXON_* settings: no file to point at
        if output != "json":
            raise
        problems = [Problem("", None, None, BAD_SETTINGS, error) for error in exc.errors]
    notes = [
        # A token pasted as ${...} stays unprinted.
        f"{HIDDEN if secretish(name) else name} is not set here; channels using it were "
        "checked for syntax only"
        for name in sorted(env.unset)
    ]
    if ruleset is not None:
        notes += [
            f"rules name venue {venue!r}, which no account is on (KLAXON_ACCOUNTS)"
            for venue in sorted(ruleset.venues() - set(venues))
        ]
    if output == "json":
        print(json.dumps(_document(paths, ruleset, problems, notes), indent=2))
        return 1 if problems else 0
    if problems or ruleset is None:
        raise ConfigError("bad rule files", errors=[problem.text() for problem in problems])
    for note in notes:
        print(f"note: {note}")
    print(f"ok: {ruleset.count()} rules, {len(ruleset.channels)} channels in {len(paths)} file(s)")
    return 0


def _document(
    paths: list[Path], ruleset: RuleSet | None, problems: list[Problem], notes: list[str]
) -> dict[str, object]:
    """Return the JSON report: counts (null when the rules did not load), errors, notes."""
    loaded = ruleset is not None and not problems
    return {
        "ok": not problems,
        "files": len(paths),
        "rules": ruleset.count() if loaded and ruleset is not None else None,
        "channels": len(ruleset.channels) if loaded and ruleset is not None else None,
        "errors": [problem.as_json() for problem in problems],
        "notes": notes,
    }
