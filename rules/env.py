"""${NAME} interpolation of channel URLs from the environment ($${ writes a literal ${)."""

from __future__ import annotations

import re
from collections.abc import Mapping

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
            problems.append(f"bad variable reference ${{{name}}}: expected ${{NAME}}")
        elif name not in env:
            problems.append(f"environment variable {name} is not set")
        elif not env[name]:
            problems.append(f"environment variable {name} is empty")
        else:
            return env[name]
        return ""

    return _REFERENCE.sub(substitute, text), problems
