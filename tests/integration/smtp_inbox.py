"""A local SMTP server (aiosmtpd) that records the mail apprise's mailto:// plugin delivers.

Plain SMTP on 127.0.0.1 with AUTH allowed without TLS (apprise's `mode=insecure`), so a
channel URL carries a user and password as a real one does; the server checks them.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from klaxon.redis_server import free_port


@dataclass(frozen=True)
class Mail:
    """One accepted mail: when it arrived (server's monotonic clock), envelope, subject, text."""

    at: float
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str


class SmtpInbox:
    """An SMTP server on a free loopback port; `mails` holds what it accepted."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.mails: list[Mail] = []
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )

    def url(self, to: str = "desk@example.org") -> str:
        """The apprise URL that mails `to` through this server, logging in, without TLS."""
        return (
            f"mailto://{self.user}:{self.password}@127.0.0.1:{self.port}"
            f"?mode=insecure&from=klaxon@example.org&to={to}"
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        with self._lock:
            self.logins.append(mechanism if ok else f"{mechanism} refused")
        return AuthResult(success=ok)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Record the mail (aiosmtpd calls this for every DATA command)."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        mail = Mail(
            at=time.monotonic(),
            sender=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            subject=str(message["Subject"] or ""),
            text=str(text),
        )
        with self._lock:
            self.mails.append(mail)
        return "250 Message accepted for delivery"

    def received(self) -> list[Mail]:
        """Return a copy of the mails accepted so far."""
        with self._lock:
            return list(self.mails)

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
