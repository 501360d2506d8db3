"""Emulated orders whose rule is gone: a reload renamed or removed the rule while its order was
TRIGGERED or PLACED. The record (workers/order_state.py) is keyed by the client order id, not
by the rule, so it goes on following its real order: the drain hands over the events no rule
owns (workers/firings.py, Batch.orphans), an update of the real order moves the record as
TrackOrder would, and each transition is notified, with the default message `[{rule}]
{summary}`, to the channels the rule had when it fired (the record's `_channels`) that the
rules in force still declare. The notification's firing id is the one the rule would have made
(its id, the event's stream entry), so a redelivered batch enqueues nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

import redis
from redis.client import Pipeline
from rq import Queue

from rules.kinds import transition_message
from watcher import keys
from watcher.events import EmulatedOrder, Event, OrderUpdate
from workers import order_state
from workers.actions import NOTIFY, known_jobs, notify_args
from workers.firings import firing_of
from workers.order_place import steps

log = logging.getLogger(__name__)

CHANNELS = "_channels"  # the record's field: its rule's channels when it fired, comma separated


def stage(
    client: redis.Redis,
    pipe: Pipeline,
    stream: str,
    orphans: Sequence[tuple[str, Event]],
    channels: Collection[str],
) -> int:
    """Move the records of orphaned updates; queue the notify jobs of orphaned transitions into
    `pipe` (to the `channels` still declared); return the jobs queued."""
    wanted: list[tuple[str, str, str, str, str]] = []  # job id, channel, rule, body, firing
    cids = (e.client_order_id for _, e in orphans if isinstance(e, OrderUpdate | EmulatedOrder))
    records = order_state.load_many(client, cids)
    moves: list[order_state.Move | order_state.Update] = []
    for entry_id, event in orphans:
        if isinstance(event, OrderUpdate):
            record = records.get(event.client_order_id)
            if record:
                cid, rule = event.client_order_id, record.get("rule")
                log.info("order %s: its rule %s is gone; its record follows it", cid, rule)
                moves += steps(record, event)
        elif isinstance(event, EmulatedOrder):
            record = records.get(event.client_order_id, {})
            rule_id = record.get("_rule_id")
            if not rule_id:
                continue
            firing = firing_of(rule_id, stream, entry_id, 0)
            for channel in filter(None, record.get(CHANNELS, "").split(",")):
                if channel not in channels:
                    log.warning("%s: channel %r is gone; not notified", event.rule, channel)
                    continue
                job_id = keys.notify_job_id(firing, channel)
                body = transition_message(event)
                wanted.append((job_id, channel, event.rule, body, firing))
    order_state.run(client, moves)  # the fields read above are not ones a move writes
    known = known_jobs(client, [job_id for job_id, *_ in wanted])
    jobs = []
    for job_id, channel, rule, body, firing in wanted:
        if job_id not in known:
            args, description = notify_args(channel, rule, body, firing)
            jobs.append(NOTIFY.prepare(args, job_id, description))
    if jobs:
        Queue(NOTIFY.queue, connection=client).enqueue_many(jobs, pipeline=pipe)
    return len(jobs)
