"""workers/pace.py: how many entries a read asks for, and when a job's turn is over."""

from __future__ import annotations

import time

import pytest

from watcher import keys
from workers.pace import (
    BATCH,
    BUDGET_SECONDS,
    DELIVERY_SLICE_SECONDS,
    FIRST_BATCH,
    GATHER_SECONDS,
    MARKET_SLICE_SECONDS,
    MIN_COUNT,
    SLICE_SECONDS,
    Pace,
)

PRIVATE = keys.private_stream("okx", "main")
HALF = SLICE_SECONDS / 2  # what an account stream's batch should take


@pytest.mark.parametrize(
    ("cost", "count"),
    [
        (None, FIRST_BATCH),  # not measured yet in this process
        (HALF / 40, 40),  # what the stream evaluates in half its slice
        (HALF / 2, MIN_COUNT),  # never fewer: each batch costs its round trips
        (HALF / (10 * BATCH), BATCH),  # never more
        (0.0, BATCH),
    ],
)
def test_an_account_stream_reads_what_it_evaluates_in_half_its_slice(
    cost: float | None, count: int
) -> None:
    costs = {} if cost is None else {PRIVATE: cost}
    assert Pace(PRIVATE, costs).count() == count


def test_ticker_streams_read_whole_batches_whatever_their_cost() -> None:
    ticks = keys.ticks_stream(0)
    assert Pace(ticks, {}).count() == BATCH
    assert Pace(ticks, {ticks: 1.0}).count() == BATCH
    assert Pace(ticks, {ticks: HALF / 40}, slice_seconds=SLICE_SECONDS).count() == 40


def test_the_cost_per_entry_follows_the_batches_measured() -> None:
    costs: dict[str, float] = {}
    pace = Pace(PRIVATE, costs)
    pace.measured(0, 1.0)  # an empty batch says nothing
    assert costs == {}
    pace.measured(100, 0.1)
    assert costs[PRIVATE] == pytest.approx(0.001)
    for _ in range(30):
        pace.measured(10, 0.01)
    assert costs[PRIVATE] == pytest.approx(0.001)
    for _ in range(30):
        pace.measured(1, 0.0001)
    assert costs[PRIVATE] == pytest.approx(0.0001, rel=0.01)
    assert Pace(PRIVATE, costs).count() == round(HALF / costs[PRIVATE])


def test_a_turn_is_over_at_the_slice_when_another_stream_waits_else_at_the_budget() -> None:
    pace = Pace(PRIVATE, {}, budget=60.0, slice_seconds=0.0)
    assert not pace.over(others_wait=False)
    assert not pace.others_wait
    assert pace.over(others_wait=True)
    assert pace.others_wait
    assert Pace(PRIVATE, {}, budget=0.0).over(others_wait=False)
    assert not Pace(PRIVATE, {}, budget=60.0, slice_seconds=60.0).over(others_wait=True)


def test_a_waiting_notify_job_ends_a_turn_after_the_delivery_slice() -> None:
    for stream in (PRIVATE, keys.ticks_stream(1)):
        pace = Pace(stream, {}, budget=60.0)
        assert not pace.over(others_wait=False, deliveries_wait=True)
        assert pace.deliveries_wait
        pace.started -= DELIVERY_SLICE_SECONDS
        assert pace.over(others_wait=False, deliveries_wait=True)
        assert not pace.over(others_wait=False)
    assert SLICE_SECONDS <= DELIVERY_SLICE_SECONDS < MARKET_SLICE_SECONDS


def test_ticker_streams_keep_their_worker_for_the_budget_account_streams_hand_over() -> None:
    assert Pace(keys.ticks_stream(1), {}).slice_seconds == MARKET_SLICE_SECONDS
    assert MARKET_SLICE_SECONDS < BUDGET_SECONDS  # alone, a job keeps its worker (and state)
    assert not Pace(keys.ticks_stream(1), {}).bounded  # and reads up to BATCH entries
    assert Pace(PRIVATE, {}).slice_seconds == SLICE_SECONDS
    assert Pace(keys.SYSTEM_STREAM, {}).slice_seconds == SLICE_SECONDS
    assert SLICE_SECONDS < BUDGET_SECONDS


def test_only_a_stream_that_hands_over_early_stops_lingering_while_others_wait() -> None:
    private, ticks = Pace(PRIVATE, {}), Pace(keys.ticks_stream(0), {})
    for pace in (private, ticks):
        pace.over(others_wait=False)
        assert pace.lingers()
        pace.over(others_wait=True)
    assert not private.lingers()
    assert ticks.lingers()


def test_a_job_asks_about_reloaded_rules_once_per_interval() -> None:
    pace = Pace(PRIVATE, {}, check_seconds=60.0)
    assert not pace.check_due()  # not before its first interval
    pace.checked -= 60.0
    assert pace.check_due()
    assert not pace.check_due()
    assert Pace(PRIVATE, {}, check_seconds=0.0).check_due()


def test_a_partial_batch_waits_until_its_oldest_entry_is_the_gather_time_old() -> None:
    """Only where the worker's jobs are latency-tolerant, only an account's or the system
    stream, and not while another stream's job waits."""
    now_ms = int(time.time() * 1000)
    pace = Pace(PRIVATE, {}, gathers=True)
    assert 0 < pace.gather_seconds(now_ms) <= GATHER_SECONDS
    assert pace.gather_seconds(now_ms - int(1000 * GATHER_SECONDS)) == 0  # old enough already
    assert pace.gather_seconds(now_ms + 60_000) == GATHER_SECONDS  # Redis's clock ahead
    pace.over(others_wait=True)
    assert pace.gather_seconds(now_ms) == 0
    assert Pace(PRIVATE, {}).gather_seconds(now_ms) == 0
    assert Pace(keys.ticks_stream(0), {}, gathers=True).gather_seconds(now_ms) == 0
