"""The rule options on the whole spine: the simulator plays a price path through the real
watcher into Redis, burst rq workers apply hold, rearm, expires, for and quiet hours (held
notifications scheduled for the hours' end), apprise delivers to a local HTTP channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.e2e.conftest import Stack, messages
from watcher import keys

_NOW = datetime.now(UTC)
QUIET = f"{_NOW - timedelta(hours=1):%H:%M}-{_NOW + timedelta(hours=2):%H:%M} UTC"
RULES = f"""\
channels:
  inbox: "json://127.0.0.1:${{INBOX_PORT}}/alerts/tok-9d2e71b4"
rules:
  - name: held
    price: {{market: BTC-USDT, above: "60500"}}
    hold: 1s
    notify: [inbox]
    message: "held {{price}}"
  - name: rearmed
    price: {{market: BTC-USDT, crosses_up: "60200"}}
    rearm: 100
    notify: [inbox]
    message: "crossed {{price}}"
  - name: expired
    price: {{market: BTC-USDT, above: "1"}}
    expires: 2020-01-01T00:00Z
    notify: [inbox]
  - name: weekly
    price: {{market: BTC-USDT, crosses_up: "60100"}}
    for: 7d
    notify: [inbox]
    message: "for a week {{price}}"
  - name: quiet
    price: {{market: BTC-USDT, crosses_up: "60300"}}
    quiet: "{QUIET}"
    notify: [inbox]
    message: "quiet {{price}}"
"""


def test_options_on_a_played_path(stack: Stack) -> None:
    prices = ["60150", "60250", "60050", "60350", "60600", "60610", "60620"]
    stack.control("/sim/path", {"market": "BTC-USDT", "prices": prices, "interval": 0.5})
    expected = ["for a week 60150", "crossed 60250", "crossed 60350", "held 60620"]
    stack.work_until(lambda: messages(stack) == expected, 30, "hold, rearm and for")
    queue = Queue(keys.NOTIFY_QUEUE, connection=stack.redis)
    registry = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    (held,) = registry.get_job_ids()
    end = (_NOW + timedelta(hours=2)).replace(second=0, microsecond=0)
    assert registry.get_scheduled_time(held) == end
    job = queue.fetch_job(held)
    assert job is not None
    registry.schedule(job, datetime.now(UTC))  # the quiet hours are over
    stack.work_until(lambda: "quiet 60350" in messages(stack), 20, "the quiet firing, later")
    assert messages(stack) == [*expected, "quiet 60350"]  # never the expired rule
