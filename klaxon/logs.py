"""Logging for klaxon processes: one format, and a last-line filter that masks known secrets.

Code never logs secrets on purpose; the filter is the net under that rule, for a library that
might echo a URL or a header in a message we do not control.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "***"


class SecretMask(logging.Filter):
    """Replace every known secret value in a formatted log record with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask secrets in the message, its arguments and any exception text."""
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        masked = self._mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def masked_url(url: str) -> str:
    """Return a URL fit to print: its password (or a lone user part) replaced by ***."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user, colon, _ = userinfo.partition(":")
    return parts._replace(netloc=f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}").geturl()


def url_secrets(url: str) -> list[str]:
    """Return what a URL holds that must never be logged: its password, as written and decoded."""
    userinfo, at, _ = urlsplit(url).netloc.rpartition("@")
    if not at:
        return []
    user, colon, password = userinfo.partition(":")
    secret = password if colon else user
    return list(dict.fromkeys((secret, unquote(secret)))) if secret else []


def setup(level: str, secrets: Iterable[str] = (), name: str = "klaxon") -> None:
    """Configure the root logger to stderr with `name` in each line and secrets masked."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(SecretMask(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
