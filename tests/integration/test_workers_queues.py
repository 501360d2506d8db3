"""Workers dedicated to a queue: evaluators never wait on a channel, notifiers deliver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue

from tests.integration.test_workers_harness import CROSS_UP, Klaxon, harness
from watcher import keys
from watcher.errors import ConfigError
from workers import context
from workers.service import make_worker


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def test_an_evaluator_decides_and_a_notifier_delivers(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "65010")
    make_worker(kx.r, queues=[keys.EVALUATE_QUEUE]).work(burst=True)
    assert context.current().delivers is False
    assert context.current().places is False
    assert kx.inbox.attempts == []  # decided and queued, not sent by the evaluator
    assert Queue(keys.NOTIFY_QUEUE, connection=kx.r).count == 1
    make_worker(kx.r, queues=[keys.NOTIFY_QUEUE]).work(burst=True)
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]
    assert context.current().delivers is True
    make_worker(kx.r, queues=[keys.EVALUATE_QUEUE, keys.ORDERS_QUEUE])
    assert context.current().places is True  # its evaluations yield to queued orders


FILLS = """\
  - name: fills
    fill: {}
    notify: [desk]
    message: "{side} {size} {market}"
"""


def test_private_streams_are_evaluated_from_the_accounts_queue(kx: Klaxon) -> None:
    kx.rules(FILLS)
    kx.fill("t-1")
    make_worker(kx.r, queues=[keys.EVALUATE_QUEUE, keys.NOTIFY_QUEUE]).work(burst=True)
    assert kx.messages() == []  # the ticker streams' worker never takes the account's stream
    assert context.current().evaluates == (keys.EVALUATE_QUEUE,)
    assert Queue(keys.ACCOUNTS_QUEUE, connection=kx.r).count == 1
    make_worker(kx.r, queues=[keys.ACCOUNTS_QUEUE, keys.NOTIFY_QUEUE]).work(burst=True)
    assert kx.messages() == ["buy 0.010 BTC-USDT"]
    assert context.current().evaluates == (keys.ACCOUNTS_QUEUE,)


@pytest.mark.parametrize("queues", [[], ["klaxon-evaluate", "klaxon-trades"]])
def test_unknown_or_no_queues_are_refused(kx: Klaxon, queues: list[str]) -> None:
    kx.rules(CROSS_UP)
    with pytest.raises(ConfigError, match="queues must be among"):
        make_worker(kx.r, queues=queues)
