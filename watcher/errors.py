"""The exception tree, ordered by what the caller must do."""

from __future__ import annotations

from collections.abc import Iterable


class KlaxonError(Exception):
    """Base of every error klaxon raises on purpose."""


class ConfigError(KlaxonError):
    """Bad settings, rule file or channel: refuse at start, never retry."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        self.errors = errors if errors is not None else [message]
        super().__init__(message if errors is None else "\n".join(errors))


class ExchangeError(KlaxonError):
    """Something on the exchange side went wrong."""


class UnknownMessage(ExchangeError):
    """A frame no parser maps: log, count, continue."""

    def __init__(self, venue: str, reason: str, raw: str | bytes) -> None:
        self.venue = venue
        self.reason = sample(reason, REASON_LIMIT)  # a reason may echo a channel or an event
        self.sample = sample(raw)
        super().__init__(f"{venue}: {reason}: {self.sample}")


class ExchangeUnavailable(ExchangeError):
    """Timeout, 5xx, 429: back off and retry (after `retry_after` seconds when known).

    Raised as such, the request certainly was not carried out (refused connection, 429, or a
    read that has no effect): sending it again is safe.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class OutcomeUnknown(ExchangeUnavailable):
    """A request that changes state may or may not have been carried out (timeout after it was
    sent, 5xx, OKX's "timed out, check the result"): look the order up by client id before
    sending it again."""


class RequestRejected(ExchangeError):
    """The exchange refused a request (bad key, parameter, permission): never retry."""

    def __init__(self, venue: str, code: str, message: str) -> None:
        self.venue = venue
        self.code = code
        self.message = message
        super().__init__(f"{venue} refused the request: {code} {message}")


class OrderRejected(RequestRejected):
    """The exchange refused an order (margin, price, duplicate id): notify, never retry."""

    def __init__(
        self,
        venue: str,
        code: str,
        message: str,
        client_order_id: str = "",
        sub_code: str = "",
    ) -> None:
        super().__init__(venue, code, message)
        self.client_order_id = client_order_id
        self.sub_code = sub_code
        full = f"{code}_{sub_code}" if sub_code else code
        # Replaces RequestRejected's text: an order rejection names the order it refused.
        self.args = (f"{venue} rejected order {client_order_id or '?'}: {full} {message}",)


class NotificationError(KlaxonError):
    """apprise reported a failed delivery: retried with backoff, then dead-lettered."""


class ChannelThrottled(NotificationError):
    """The service answered 429: send nothing to it for `retry_after` seconds, then resend."""

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ChannelRefused(NotificationError):
    """The service refused the message for good (a 4xx but 408/429): dead-letter, no retry."""


REASON_LIMIT = 120  # characters of an UnknownMessage's reason


def sample(raw: str | bytes, limit: int = 200) -> str:
    """Return a truncated, printable sample of a frame for logs and error texts."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    cut = text if len(text) <= limit else text[:limit]
    if not cut.isprintable():  # a newline or control character could forge a log line
        cut = cut.encode("unicode_escape").decode("ascii")
    return cut if len(text) <= limit else cut + f"...(+{len(text) - limit} chars)"


def redacted(text: str, secrets: Iterable[str]) -> str:
    """Return `text` with each non-empty secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
