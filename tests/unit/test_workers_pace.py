"""workers/pace.py: how many entries a read asks for, and when a job's turn is over."""

from __future__ import annotations

import pytest

from watcher import keys
from workers.pace import (
    BATCH,
    BATCH_SECONDS,
    FIRST_BATCH,
    MARKET_SLICE_SECONDS,
    MIN_COUNT,
    SLICE_SECONDS,
    Pace,
)

STREAM = keys.ticks_stream(0)


@pytest.mark.parametrize(
    ("cost", "count"),
    [
        (None, FIRST_BATCH),  # not measured yet in this process
        (BATCH_SECONDS / 40, 40),  # what the stream evaluates in a batch's time
        (BATCH_SECONDS / 2, MIN_COUNT),  # never fewer: each batch costs round trips
        (BATCH_SECONDS / (10 * BATCH), BATCH),  # never more
        (0.0, BATCH),
    ],
)
def test_a_read_asks_for_what_the_stream_evaluates_in_a_batch_time(
    cost: float | None, count: int
) -> None:
    costs = {} if cost is None else {STREAM: cost}
    assert Pace(STREAM, costs).count() == count


def test_the_cost_per_entry_follows_the_batches_measured() -> None:
    costs: dict[str, float] = {}
    pace = Pace(STREAM, costs)
    pace.measured(0, 1.0)  # an empty batch says nothing
    assert costs == {}
    pace.measured(100, 0.1)
    assert costs[STREAM] == pytest.approx(0.001)
    for _ in range(30):
        pace.measured(10, 0.1)
    assert costs[STREAM] == pytest.approx(0.01, rel=0.01)
    assert Pace(STREAM, costs).count() == max(MIN_COUNT, round(BATCH_SECONDS / costs[STREAM]))


def test_a_turn_is_over_at_the_slice_when_another_stream_waits_else_at_the_budget() -> None:
    pace = Pace(STREAM, {}, budget=60.0, slice_seconds=0.0)
    assert not pace.over(others_wait=False)
    assert not pace.others_wait
    assert pace.over(others_wait=True)
    assert pace.others_wait
    assert Pace(STREAM, {}, budget=0.0).over(others_wait=False)
    assert not Pace(STREAM, {}, budget=60.0, slice_seconds=60.0).over(others_wait=True)


def test_market_streams_keep_their_worker_longer_than_account_streams() -> None:
    private = keys.private_stream("okx", "main")
    assert Pace(keys.ticks_stream(1), {}).slice_seconds == MARKET_SLICE_SECONDS
    assert Pace(private, {}).slice_seconds == SLICE_SECONDS
    assert Pace(keys.SYSTEM_STREAM, {}).slice_seconds == SLICE_SECONDS
    assert SLICE_SECONDS < MARKET_SLICE_SECONDS


def test_an_account_streams_batch_takes_half_its_slice() -> None:
    private = keys.private_stream("okx", "main")
    costs = {private: SLICE_SECONDS / 2 / 40}  # 40 entries in half a slice
    assert Pace(private, costs).count() == 40
    costs[STREAM] = costs[private]
    assert Pace(STREAM, costs).count() == round(BATCH_SECONDS / costs[STREAM])
