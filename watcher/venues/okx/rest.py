"""OKX v5 REST for trading and recovery: place and cancel orders, look one up by client id,
list pending orders, page through fills since a time, read a position, read the API key's
permissions. It is the OKX venue's `Trading` (watcher/venues/__init__.py), and `Positions`.

https://www.okx.com/docs-v5/en/#order-book-trading-trade
https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration
https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-positions
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from watcher.errors import RequestRejected, UnknownMessage
from watcher.events import Fill, OrderUpdate, utc_from_ms
from watcher.venues import Permission
from watcher.venues.http import converted, record
from watcher.venues.okx.rest_http import (
    LIVE_REST_URL,
    VENUE,
    Json,
    OkxHttp,
    read_order_response,
)
from watcher.venues.okx.wire import Ms, OkxFill, OkxOrder, OptDecimal

__all__ = ["LIVE_REST_URL", "OkxFillRow", "OkxRest", "read_order_response"]

PLACE_ORDER_PATH = "/api/v5/trade/order"
CANCEL_ORDER_PATH = "/api/v5/trade/cancel-order"
ORDER_PATH = "/api/v5/trade/order"
PENDING_PATH = "/api/v5/trade/orders-pending"
FILLS_PATH = "/api/v5/trade/fills"  # the last 3 days
FILLS_HISTORY_PATH = "/api/v5/trade/fills-history"  # the last 3 months, one instType a call
ACCOUNT_CONFIG_PATH = "/api/v5/account/config"
POSITIONS_PATH = "/api/v5/account/positions"
PAGE = 100  # OKX's largest page
# Past this age the 3-day fills endpoint may miss fills; fills-history is asked instead.
RECENT = timedelta(days=3) - timedelta(hours=1)
HISTORY_INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES")
ORDER_NOT_FOUND = "51603"
# OKX's `perm` names -> the venue contract's.
PERMISSIONS: dict[str, Permission] = {"read_only": "read", "trade": "trade", "withdraw": "withdraw"}


class OkxFillRow(OkxFill):
    """One item of GET /api/v5/trade/fills or /fills-history: a fills-channel item with its
    fee, the execution time and the bill id (the paging cursor)."""

    fee: OptDecimal = None
    feeCcy: str = ""
    billId: str
    fillTime: Ms

    def to_event(self, venue: str, account: str) -> Fill:
        """Return the Fill (the same event the orders channel yields for this execution)."""
        fill = super().to_event(venue, account)
        # Validated again, not model_copy()'d: the fee must pass the event's checks too.
        return Fill.model_validate(
            fill.model_dump()
            | {
                "fee": self.fee,
                "fee_ccy": self.feeCcy,
                "client_order_id": self.clOrdId,  # the real id here, never the channel's "0"
                "at": utc_from_ms(self.fillTime),  # `ts` is when the record was written
            }
        )


def _text(value: str | Decimal) -> str:
    return format(value, "f") if isinstance(value, Decimal) else value


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class OkxRest(OkxHttp):
    """A signed OKX REST client for one API key and account label."""

    def __repr__(self) -> str:
        return f"OkxRest(base_url={self.base_url!r}, demo={self.demo}, account={self.account!r})"

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str | Decimal,
        price: str | Decimal | None = None,
        client_order_id: str | None = None,
        td_mode: str | None = None,
        reduce_only: bool = False,
    ) -> str:
        """Place an order and return OKX's ordId; raise OrderRejected, ExchangeUnavailable
        (not placed) or OutcomeUnknown (look it up by client id before placing again).
        `td_mode` defaults to "cash" for spot and "cross" for swaps, futures and options."""
        if td_mode is None:
            td_mode = "cross" if market.count("-") >= 2 else "cash"
        params: dict[str, object] = {
            "instId": market, "tdMode": td_mode, "side": side, "ordType": ord_type,
            "sz": _text(size),
        }  # fmt: skip
        if price is not None:
            params["px"] = _text(price)
        if client_order_id:
            params["clOrdId"] = client_order_id
        if reduce_only:
            params["reduceOnly"] = True
        return self.post(PLACE_ORDER_PATH, params, client_order_id or "")

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an order by ordId or clOrdId; raise OrderRejected if OKX refuses."""
        if not order_id and not client_order_id:
            raise ValueError("cancel_order needs order_id or client_order_id")
        params = {"instId": market}
        if order_id:
            params["ordId"] = order_id
        if client_order_id:
            params["clOrdId"] = client_order_id
        self.post(CANCEL_ORDER_PATH, params, client_order_id or "")

    def order(
        self, market: str, *, client_order_id: str | None = None, order_id: str | None = None
    ) -> OrderUpdate | None:
        """Return an order's current state, or None when OKX has no such order (for a reused
        client id, the latest order holding it)."""
        if not order_id and not client_order_id:
            raise ValueError("order needs order_id or client_order_id")
        params = {"instId": market, "ordId": order_id or "", "clOrdId": client_order_id or ""}
        try:
            data = self.get(ORDER_PATH, params)
        except RequestRejected as exc:
            if exc.code == ORDER_NOT_FOUND:
                return None
            raise
        orders = [self._order(item) for item in data]
        return orders[0] if orders else None

    def order_by_client_id(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Return the latest order placed with `client_order_id`, or None if OKX has none."""
        return self.order(market, client_order_id=client_order_id)

    def pending_orders(
        self, market: str | None = None, *, inst_type: str | None = None
    ) -> list[OrderUpdate]:
        """Return every live or partially filled order (of a market or instType), oldest first."""
        params = {"instId": market or "", "instType": inst_type or ""}
        items = self._pages(PENDING_PATH, params, "ordId")
        return [self._order(item) for item in reversed(list(items))]

    def fills_since(
        self, since: datetime, market: str | None = None, *, inst_type: str | None = None
    ) -> list[Fill]:
        """Return every fill executed at or after `since`, oldest first, each once.

        Pages back from the newest fill until `since`; fills older than 3 days come from
        fills-history (one instType per call). Callers dedupe against what the orders channel
        delivered by trade id: the same execution yields the same Fill either way.
        """
        if since.tzinfo is None:
            raise ValueError("fills_since needs an aware datetime (UTC)")
        since_ms = _ms(since)
        # `begin` bounds OKX's record time `ts`, never earlier than the fill's own time.
        params = {"instId": market or "", "begin": str(since_ms - 1)}
        if datetime.fromtimestamp(self._clock(), UTC) - since < RECENT:
            calls = [(FILLS_PATH, params | {"instType": inst_type or ""})]
        else:
            kinds = (inst_type,) if inst_type else HISTORY_INST_TYPES
            calls = [(FILLS_HISTORY_PATH, params | {"instType": kind}) for kind in kinds]
        rows: dict[str, OkxFillRow] = {}
        for path, query in calls:
            for item in self._pages(path, query, "billId"):
                row = record(VENUE, OkxFillRow, item)
                if row.fillTime >= since_ms:
                    rows[row.billId] = row
        ordered = sorted(rows.values(), key=lambda r: (r.fillTime, int(r.billId)))
        return [converted(VENUE, row, self.account) for row in ordered]

    def position_size(self, market: str) -> Decimal:
        """Return the account's net position in `market` (> 0 long, < 0 short, 0 for none):
        GET /api/v5/account/positions, a net position's signed `pos`, or long minus short in
        long/short mode."""
        size = Decimal(0)
        for item in self.get(POSITIONS_PATH, {"instId": market}):
            if item.get("instId") != market:
                continue
            side, raw = str(item.get("posSide", "net")), str(item.get("pos") or "0")
            try:
                pos = Decimal(raw)
            except ArithmeticError:
                raise UnknownMessage(VENUE, "a position without a number pos", raw) from None
            if not pos.is_finite():
                raise UnknownMessage(VENUE, "a position without a number pos", raw)
            size += -abs(pos) if side == "short" else abs(pos) if side == "long" else pos
        return size

    def key_permissions(self) -> frozenset[Permission]:
        """Return what the API key may do, from the account config's `perm` ("read_only",
        "trade", "withdraw"); a permission klaxon does not know is an UnknownMessage."""
        data = self.get(ACCOUNT_CONFIG_PATH)
        perm = data[0].get("perm") if data else None
        if not isinstance(perm, str):
            raise UnknownMessage(VENUE, "account config without perm", orjson.dumps(data))
        names = [p.strip() for p in perm.split(",") if p.strip()]
        unknown = [name for name in names if name not in PERMISSIONS]
        if unknown:
            raise UnknownMessage(VENUE, f"unknown API key permission {unknown[0]!r}", perm)
        return frozenset(PERMISSIONS[name] for name in names)

    def _pages(self, path: str, params: dict[str, str], cursor: str) -> Iterator[Json]:
        """Yields every record of a paged list, newest first, following `after` cursors."""
        after = ""
        while True:
            page = self.get(path, params | {"after": after, "limit": str(PAGE)})
            yield from page
            if len(page) < PAGE:
                return
            after = str(page[-1].get(cursor, ""))
            if not after:
                raise UnknownMessage(VENUE, f"a {path} page without {cursor}", str(page[-1]))

    def _order(self, item: Json) -> OrderUpdate:
        return converted(VENUE, record(VENUE, OkxOrder, item), self.account)
