"""${NAME} interpolation of channel URLs from the environment ($${ writes a literal ${)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rules.reader import HIDDEN, secretish

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}?")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Return text with ${NAME} replaced, and the problems found (never holding a value)."""
    problems: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$${":
            return "${"
        name = match.group(1)
        if not whole.endswith("}"):
            problems.append("unclosed '${' (write '$${' for a literal '${')")
        elif not _VARIABLE.fullmatch(name):
            reference = HIDDEN if secretish(name) else f"${{{name}}}"
            problems.append(f"bad variable reference {reference}: expected ${{NAME}}")
        elif name not in env:
            problems.append(f"environment variable {_name(name)} is not set")
        elif not env[name]:
            problems.append(f"environment variable {_name(name)} is empty")
        else:
            return env[name]
        return ""

    return _REFERENCE.sub(substitute, text), problems


def _name(name: str) -> str:
    """A variable's name for a message, unless it looks like the token pasted in its place."""
    return HIDDEN if secretish(name) else name
