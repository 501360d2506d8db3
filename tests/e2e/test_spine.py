"""Simulator -> watcher -> Redis -> rq worker -> apprise -> local HTTP channel, for real."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Stack, messages
from watcher import keys


def test_price_crossing_reaches_the_channel_once(stack: Stack) -> None:
    stack.control(
        "/sim/path",
        {"instId": "BTC-USDT", "prices": ["60050", "60150", "60090", "60200"], "interval": 0.05},
    )
    got = stack.work_until(
        lambda: [m for m in messages(stack) if "crossed" in m], 20, "the crossing alert"
    )
    assert got == ["BTC-USDT crossed 60100 at 60150"]
    payload: dict[str, Any] = stack.inbox.received[0]
    assert payload["path"] == "alerts/tok-9d2e71b4"
    assert payload["type"] == "info"
    # The second crossing (60090 -> 60200) must not fire a `repeat: once` rule again.
    stack.work_until(lambda: _last_price(stack) == "60200", 20, "the last tick to be evaluated")
    assert [m for m in messages(stack) if "crossed" in m] == got


def _last_price(stack: Stack) -> str | None:
    stream = keys.ticks_stream(keys.partition("okx", "BTC-USDT", 4))
    field = keys.last_price_field("okx", "BTC-USDT", "last")
    value = stack.redis.hget(keys.last_prices(stream), field)
    return value.decode() if isinstance(value, bytes) else value


def test_a_fill_reaches_the_channel(stack: Stack) -> None:
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "60010.5"})
    order_id = stack.rest.place_order("BTC-USDT", "buy", "market", "0.25")
    assert order_id
    got = stack.work_until(
        lambda: [m for m in messages(stack) if m.startswith("fill")], 20, "the fill alert"
    )
    assert got == ["fill buy 0.25 BTC-USDT @ 60010.5"]


def test_a_malformed_frame_is_skipped_and_later_frames_still_arrive(stack: Stack) -> None:
    sent = stack.control("/sim/inject", {"feed": "public", "raw": '{"arg":{"channel":"tick'})
    assert sent["sent"] == 1
    stack.control("/sim/inject", {"feed": "public", "raw": '{"unknown":"frame"}'})
    stack.control(
        "/sim/path", {"instId": "BTC-USDT", "prices": ["60000", "60300"], "interval": 0.05}
    )
    stack.work_until(
        lambda: [m for m in messages(stack) if "crossed" in m],
        20,
        "an alert after the malformed frames",
    )
    stats = stack.redis.hgetall(keys.STATS)
    assert stats[b"malformed:okx:public"] == b"2"
