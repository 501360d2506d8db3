"""The simulator's pure parts: seeded walk, exact money, position arithmetic, matching, and the
OKX rendering of the engine's neutral records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simulator import Simulator
from simulator.account import Position
from simulator.admission import Refusal
from simulator.config import SimConfig
from simulator.engine import Exchange
from simulator.market import Instrument, Market, Ticker
from simulator.money import fmt_amount, parse_decimal
from simulator.okx import frames
from simulator.okx.orders import reject
from simulator.orders import OrderRequest, OrderView, Side

pytestmark = pytest.mark.timeout(10)

BTC = Instrument("BTC", "USDT", "spot", Decimal("0.1"))
ETH = Instrument("ETH", "USDT", "spot", Decimal("0.01"))


def _walk(seed: int, steps: int = 200) -> list[Decimal]:
    market = Market("BTC-USDT", BTC, Decimal("60000"), seed)
    path = []
    for _ in range(steps):
        market.set_price(market.next_walk_price())
        path.append(market.last)
    return path


def test_seeded_walk_repeats_and_stays_on_the_tick() -> None:
    first, again, other = _walk(7), _walk(7), _walk(8)
    assert first == again
    assert first != other
    assert all(price % Decimal("0.1") == 0 and price > 0 for price in first)
    assert len(set(first)) > 10  # it does move


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("6E+4"), "60000"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("0.60000"), "0.6"),
        (Decimal("-0"), "0"),
        (Decimal("-0.02522168"), "-0.02522168"),
    ],
)
def test_amounts_format_without_exponent_or_trailing_zeros(value: Decimal, text: str) -> None:
    assert fmt_amount(value) == text


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("0.1", Decimal("0.1")),
        ("60000", Decimal("60000")),
        (42, Decimal(42)),
        ("1e3", None),
        ("NaN", None),
        ("Infinity", None),
        (1.5, None),
        (True, None),
        ("", None),
    ],
)
def test_parse_decimal_takes_plain_decimals_only(raw: object, parsed: Decimal | None) -> None:
    assert parse_decimal(raw) == parsed


@pytest.mark.parametrize(
    ("fills", "pos", "avg_px", "pnl"),
    [
        ([("1", "100"), ("1", "110")], "2", "105", "0"),
        ([("2", "100"), ("-1", "110")], "1", "100", "10"),
        ([("1", "100"), ("-3", "90")], "-2", "90", "-10"),
        ([("-1", "100"), ("1", "80")], "0", "0", "20"),
        ([("0.3", "0.1"), ("-0.1", "0.2")], "0.2", "0.1", "0.01"),
    ],
)
def test_net_position_arithmetic(
    fills: list[tuple[str, str]], pos: str, avg_px: str, pnl: str
) -> None:
    position = Position("X-USDT", ETH, "1", "cross", 0, 0)
    for size, price in fills:
        position.apply(Decimal(size), Decimal(price))
    assert (position.pos, position.avg_px, position.pnl) == (
        Decimal(pos),
        Decimal(avg_px),
        Decimal(pnl),
    )


def _order(side: Side, sz: str, px: str | None = None) -> OrderRequest:
    return OrderRequest(
        market="ETH-USDT",
        side=side,
        ord_type="market" if px is None else "limit",
        size=Decimal(sz),
        price=None if px is None else Decimal(px),
        margin_mode="cross",
    )


def _exchange(balance: str = "100000") -> Exchange:
    return Exchange([Market("ETH-USDT", ETH, Decimal("3000"), 7)], Decimal(balance), Decimal(5))


def test_round_trip_books_pnl_and_fees_exactly() -> None:
    exchange = _exchange(balance="1000")
    _, bought = exchange.place(_order("buy", "0.5"))
    assert isinstance(bought[0], OrderView)
    assert bought[0].fill is not None
    assert not bought[0].fill.maker
    assert frames.order(bought[0])["execType"] == "T"
    outcome, resting = exchange.place(_order("sell", "0.5", "3100.25"))
    assert outcome.refused is None
    assert isinstance(resting[0], OrderView)
    assert resting[0].state == "live"
    assert exchange.set_price("ETH-USDT", Decimal("3100")) == [exchange.ticker("ETH-USDT")]

    events = exchange.set_price("ETH-USDT", Decimal("3100.25"))
    assert isinstance(events[0], Ticker)
    view = next(e for e in events if isinstance(e, OrderView))
    assert view.fill is not None
    assert view.fill.maker
    assert view.fill.pnl == Decimal("50.125")
    fill = frames.order(view)
    assert (fill["state"], fill["execType"], fill["fillPx"]) == ("filled", "M", "3100.25")
    assert fill["fillPnl"] == "50.125"
    taker = Decimal("3000") * Decimal("0.5") * Decimal("0.001")
    maker = Decimal("3100.25") * Decimal("0.5") * Decimal("0.0008")
    assert exchange.account.cash == Decimal("1000") + Decimal("50.125") - taker - maker
    assert exchange.account.positions["ETH-USDT"].pos == 0
    assert exchange.pending() == []


def test_reduce_only_needs_an_opposite_position() -> None:
    exchange = _exchange()
    request = _order("sell", "1")
    reduce = OrderRequest(**{**request.__dict__, "reduce_only": True})
    refused = exchange.place(reduce)[0].refused
    assert refused is Refusal.NO_POSITION
    assert reject(refused, ETH).s_code == "51169"
    exchange.place(_order("buy", "1"))
    assert exchange.place(reduce)[0].refused is None


def test_config_keeps_secrets_out_of_repr_and_refuses_bad_values() -> None:
    assert "s3cr3t" not in repr(SimConfig(secret_key="s3cr3t", passphrase="s3cr3t"))
    with pytest.raises(ValueError, match="markets"):
        SimConfig(markets={"BTC-USDT": "1e5"})
    with pytest.raises(ValueError, match="tick_interval"):
        SimConfig(tick_interval=0)
    with pytest.raises(ValueError, match="listen_key_ttl and max_connection_age"):
        SimConfig(listen_key_ttl=0)
    with pytest.raises(ValueError, match="ping_interval"):
        SimConfig(ping_interval=-1)
    with pytest.raises(ValueError, match="answer_delay"):
        SimConfig(answer_delay=-0.1)


def test_a_venue_refuses_market_names_it_cannot_have_and_unknown_venues_are_named() -> None:
    with pytest.raises(ValueError, match=r"'BTCUSDT'\] is not a market name of okx"):
        Simulator(SimConfig(markets={"BTCUSDT": "60000"}))
    with pytest.raises(ValueError, match=r"'BTC-USDT'\] is not a market name of binance"):
        Simulator(SimConfig(venue="binance", markets={"BTC-USDT": "60000"}))
    with pytest.raises(ValueError, match=r"'BTC'\] is not a market name of binanceusdm"):
        Simulator(SimConfig(venue="binanceusdm", markets={"BTC": "60000"}))
    with pytest.raises(ValueError, match=r"'BTCUSDT'\] is not a market name of bybit"):
        Simulator(SimConfig(venue="bybit", markets={"BTCUSDT": "60000"}))  # linear:BTCUSDT
    with pytest.raises(ValueError, match=r"no venue 'nope'; known: binance, binanceusdm, .*okx"):
        Simulator(SimConfig(venue="nope"))
    with pytest.raises(ValueError, match="each venue is served once"):
        Simulator(SimConfig(), SimConfig())


def _fresh(exchange: Exchange) -> tuple[Decimal, Decimal]:
    """The account's upl and used margin, summed afresh in the positions' order."""
    upl = used = Decimal(0)
    for p in exchange.account.positions.values():
        if p.pos:
            mark = exchange.markets[p.market].last
            upl += p.upl(mark)
            used += abs(p.pos) * mark / p.leverage
    return upl, used


def test_kept_valuation_follows_every_fill_and_price_move() -> None:
    markets = [Market(f"M{n}-USDT", ETH, Decimal("3000"), n) for n in range(4)]
    exchange = Exchange(markets, Decimal("1000000"), Decimal(3))
    steps: list[tuple[str, str, str, str | None]] = [
        ("M0-USDT", "buy", "1.5", None),
        ("M1-USDT", "sell", "2", None),
        ("price", "M0-USDT", "3123.37", None),
        ("M0-USDT", "buy", "0.7", None),  # a new average price, not a round number
        ("price", "M3-USDT", "2990", None),  # no position there
        ("M1-USDT", "buy", "2", None),  # flat again
        ("M2-USDT", "buy", "1", None),
        ("M0-USDT", "sell", "3.1", None),  # flips to short
        ("price", "M0-USDT", "2950.01", None),
        ("M1-USDT", "buy", "0.3", None),  # open again
    ]
    for step in steps:
        if step[0] == "price":
            exchange.set_price(step[1], Decimal(step[2]))
        else:
            request = _order(step[1], step[2])  # type: ignore[arg-type]
            exchange.place(OrderRequest(**{**request.__dict__, "market": step[0]}))
        upl, used = _fresh(exchange)
        assert (exchange.valued.upl(), exchange.valued.used()) == (upl, used), step
        assert str(exchange.balance().upl) == str(upl)
    assert exchange.account.positions["M1-USDT"].pos == Decimal("0.3")
    assert exchange.account.positions["M0-USDT"].pos == Decimal("-0.9")


def test_a_price_move_against_a_position_is_in_the_next_margin_check() -> None:
    exchange = _exchange(balance="1000")
    assert exchange.place(_order("buy", "1.5"))[0].refused is None  # 900 of 5x margin
    request = _order("buy", "0.01")
    assert exchange.place(request)[0].refused is None
    exchange.set_price("ETH-USDT", Decimal("2500"))  # upl -755: equity 240 < 755 used
    assert exchange.place(request)[0].refused is Refusal.INSUFFICIENT_MARGIN
    exchange.set_price("ETH-USDT", Decimal("3000"))
    assert exchange.place(request)[0].refused is None
