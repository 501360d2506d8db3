"""One Binance REST call: its parameters (query string and form body), the checks its security
type asks for (API key, timing, signature, permission), reading typed parameters, and Binance's
error envelope {"code", "msg"} for whatever is refused."""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from aiohttp import web

from simulator.binance.product import Product, Reject
from simulator.binance.push import Pushes
from simulator.binance.signing import check_key, check_signed, mandatory, params_of
from simulator.venue import VENUE_KEY, Venue

# Where the aiohttp application of a Binance product keeps its Pushes (product, listen keys).
PUSHES_KEY = web.AppKey("binance", Pushes)
_QUANTITY = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_TIMING = frozenset({"signature", "timestamp", "recvWindow"})
_ALPHABET = string.ascii_letters + string.digits


class Security(Enum):
    """An endpoint's security type: what a call must carry."""

    NONE = "none"
    USER_STREAM = "user_stream"  # the API key
    USER_DATA = "user_data"  # the API key, a timestamp and a signature
    TRADE = "trade"  # as USER_DATA, and a key that may trade


class RejectedError(Exception):
    """A call the simulated Binance refuses; its answer is the Reject."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(reject.msg)
        self.reject = reject


def answer(reject: Reject) -> web.Response:
    """Builds Binance's error envelope."""
    return web.json_response({"code": reject.code, "msg": reject.msg}, status=reject.status)


def generated_id() -> str:
    """Returns a client order id as Binance makes one when none is sent (22 characters)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


@dataclass(frozen=True)
class Call:
    """An authentic call's parameters and where it is served."""

    venue: Venue
    pushes: Pushes
    params: dict[str, str]

    @property
    def product(self) -> Product:
        """Returns the product this port serves."""
        return self.pushes.product

    def text(self, name: str) -> str | None:
        """Returns a parameter as sent, None when absent."""
        return self.params.get(name)

    def required(self, name: str) -> str:
        """Returns a mandatory parameter; -1102 when absent or empty."""
        value = self.params.get(name, "")
        if not value:
            raise RejectedError(mandatory(name))
        return value

    def symbol(self) -> str:
        """Returns `symbol`, one of the venue's markets (else -1121)."""
        value = self.required("symbol")
        if value not in self.venue.exchange.markets:
            raise RejectedError(Reject(400, -1121, "Invalid symbol."))
        return value

    def quantity(self, name: str) -> Decimal:
        """Returns a positive decimal parameter (-1100 for anything else)."""
        value = self.required(name)
        if not _QUANTITY.fullmatch(value) or Decimal(value) <= 0:
            raise RejectedError(
                Reject(
                    400,
                    -1100,
                    f"Illegal characters found in parameter '{name}'; legal range is "
                    f"'{_QUANTITY.pattern}'.",
                )
            )
        return Decimal(value)

    def number(self, name: str) -> int | None:
        """Returns an integer parameter (an id, a time, a limit), None when absent."""
        value = self.params.get(name)
        if value is None:
            return None
        if not _DIGITS.fullmatch(value):
            raise RejectedError(
                Reject(
                    400,
                    -1100,
                    f"Illegal characters found in parameter '{name}'; legal range is "
                    f"'{_DIGITS.pattern}'.",
                )
            )
        return int(value)

    def not_sent(self, name: str) -> None:
        """Refuses a parameter the call must not carry (-1106)."""
        if name in self.params:
            raise RejectedError(Reject(400, -1106, f"Parameter '{name}' sent when not required."))


Handler = Callable[[Call], Awaitable[web.Response]]


async def _authentic(request: web.Request, security: Security) -> dict[str, str]:
    venue = request.app[VENUE_KEY]
    query = request.rel_url.raw_query_string
    body = (await request.read()).decode("utf-8", errors="replace")
    params = params_of(query, body)
    if isinstance(params, Reject):
        raise RejectedError(params)
    if security is Security.NONE:
        return params
    refused = check_key(venue.config, request.headers)
    if refused is None and security is not Security.USER_STREAM:
        refused = check_signed(venue.config, query, body, params, time.time_ns() // 1_000_000)
    if refused is None and security is Security.TRADE and not venue.config.permits("trade"):
        refused = Reject(401, -2015, "Invalid API-key, IP, or permissions for action.")
    if refused is not None:
        raise RejectedError(refused)
    return params


def endpoint(
    security: Security, reads: frozenset[str], handler: Handler
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wraps a handler: checks the call as its security type asks, refuses parameters it does
    not read (-1104), and answers any refusal in Binance's envelope."""

    async def run(request: web.Request) -> web.Response:
        try:
            params = await _authentic(request, security)
            unread = set(params) - reads - _TIMING
            if unread:
                read = len(params) - len(unread)
                raise RejectedError(
                    Reject(
                        400,
                        -1104,
                        "Not all sent parameters were read; read "
                        f"'{read}' parameter(s) but was sent '{len(params)}'.",
                    )
                )
            call = Call(request.app[VENUE_KEY], request.app[PUSHES_KEY], params)
            return await handler(call)
        except RejectedError as exc:
            return answer(exc.reject)

    return run
