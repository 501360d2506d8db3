"""Every Redis key, stream name, queue name, rq job id and stats field klaxon uses is built here.

tests/unit/test_keys.py pins the formats: changing one is a data migration, not a refactor.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Sequence

PREFIX = "klaxon"

EVALUATE_QUEUE = f"{PREFIX}-evaluate"
NOTIFY_QUEUE = f"{PREFIX}-notify"
ORDERS_QUEUE = f"{PREFIX}-orders"  # emulated orders placed off the evaluator (retries, or all)
# The evaluations of the accounts' private streams and of the system stream (evaluate_queue):
# apart from the ticker streams', so a deployment can keep their workers for market data.
ACCOUNTS_QUEUE = f"{PREFIX}-accounts"
# rq job functions, as dotted paths (the watcher enqueues evaluations without importing workers).
EVALUATE_JOB = "workers.jobs.evaluate"
NOTIFY_JOB = "workers.jobs.notify"
NOTIFY_MANY_JOB = "workers.jobs.notify_many"
FLUSH_JOB = "workers.jobs.flush"
PLACE_JOB = "workers.jobs.place"
GROUP = "evaluators"
# One evaluator holds a stream at a time (see lock), so one consumer name per stream is enough,
# and a new holder re-reads what a dead one left pending simply by reading its own history.
CONSUMER = "evaluator"

STATS = f"{PREFIX}:stats"
# Fields of the STATS hash (counters); latency buckets are named by latency_field().
STAT_TICKS_IN = "ticks_in"  # tick rows the watcher wrote to the ticker streams
STAT_EVENTS_IN = "events_in"  # events the watcher offered to the private streams
STAT_DUPLICATES = "duplicates_dropped"  # fills and order states the watcher had written before
STAT_UNDECODABLE = "undecodable"  # stream entries an evaluator could not decode (skipped)
STAT_DELIVERED = "delivered"  # messages the delivery engine sent (a digest counts its messages)
STAT_DIGESTS = "digests"  # digests sent (several messages in one send)
STAT_THROTTLED = "throttled"  # sends a channel answered with 429
STAT_DEAD_LETTERS = "dead_letters"  # messages given up on (see DEAD_LETTERS)
STAT_ORDERS_PLACED = "orders_placed"  # real orders the venues accepted for emulated orders
STAT_ORDERS_REJECTED = "orders_rejected"  # emulated orders refused (venue, risk or key)


def rq_queue(name: str) -> str:
    """The Redis list behind an rq queue (rq's own naming: rq:queue:NAME)."""
    return f"rq:queue:{name}"


def stat_malformed(venue: str, feed: str) -> str:
    """STATS field counting the frames of one venue feed that were skipped as malformed."""
    return f"malformed:{venue}:{feed}"


def stat_unpublishable(venue: str) -> str:
    """STATS field counting one venue's tick rows and events dropped because they do not encode."""
    return f"unpublishable:{venue}"


def latency_field(histogram: str, bound_ms: int, over: bool = False) -> str:
    """STATS field of one latency bucket: <= bound_ms, or beyond it when `over`."""
    return f"{histogram}_{'over' if over else 'le'}_{bound_ms}ms"


def partition(venue: str, market: str, partitions: int) -> int:
    """Return the ticker partition of a market: stable across processes and restarts."""
    return zlib.crc32(f"{venue}:{market}".encode()) % partitions


_TICKS = f"{PREFIX}:ticks:"


def ticks_stream(part: int) -> str:
    """Stream of ticker rows for one partition."""
    return f"{_TICKS}{part}"


def evaluate_queue(stream: str) -> str:
    """Return the queue of a stream's evaluate jobs: EVALUATE_QUEUE for the ticker streams,
    ACCOUNTS_QUEUE for the others (private and system)."""
    return EVALUATE_QUEUE if is_ticks(stream) else ACCOUNTS_QUEUE


def is_ticks(stream: str) -> bool:
    """Whether `stream` is a ticker partition's (ticks_stream)."""
    return stream.startswith(_TICKS)


def private_stream(venue: str, account: str) -> str:
    """Stream of one account's private events (fills, orders, positions, account, feed)."""
    return f"{PREFIX}:private:{venue}:{account}"


# Events about klaxon itself that belong to no account (evaluation lag, dead letters): evaluated
# like any stream, capped (MAXLEN ~) like market data.
SYSTEM_STREAM = f"{PREFIX}:system"


def dirty(stream: str) -> str:
    """Flag set (NX) by the watcher when `stream` has news and no evaluation is queued."""
    return f"{PREFIX}:dirty:{stream}"


def evaluate_job_id(stream: str) -> str:
    """Return a new id for an evaluate job of `stream`: "ev-<the name in hex>-<random>", so that
    a script reading the queue knows whose job it is (workers/waiting.py); rq ids allow only
    letters, digits, _ and -."""
    return f"ev-{stream.encode().hex()}-{uuid.uuid4().hex}"


def lock(stream: str) -> str:
    """Lock held by the one evaluator draining `stream`."""
    return f"{PREFIX}:lock:{stream}"


def last_prices(stream: str) -> str:
    """Hash of the last evaluated price per (venue, market, source) of a stream."""
    return f"{PREFIX}:last:{stream}"


def last_price_field(venue: str, market: str, source: str) -> str:
    """Field of last_prices() for one price series."""
    return f"{venue}|{market}|{source}"


def kind_state(stream: str, kind: str) -> str:
    """Hash of one stateful rule kind's state for one stream (fields: the kind's own), loaded
    with the stream's lock and saved with each batch (rules.kinds.KindState)."""
    return f"{PREFIX}:state:{stream}:{kind}"


def state_token(stream: str) -> str:
    """A stream's state token: set to a value unique to each save of its last prices and kind
    state, in that save's MULTI, so a worker knows whether the state it kept is still Redis's
    (workers/held.py)."""
    return f"{PREFIX}:statetoken:{stream}"


def claim(rule_id: str) -> str:
    """Once-per-arming (or per-cooldown) firing claim of a rule."""
    return f"{PREFIX}:claim:{rule_id}"


def delivered(job_id: str) -> str:
    """Marker that a notification job's message reached its channel."""
    return f"{PREFIX}:sent:{job_id}"


def firing_id(rule_id: str, entry_id: str, index: int) -> str:
    """Identify one firing: the rule and the event (stream entry, row) that fired it."""
    return f"{rule_id}@{entry_id}#{index}"


def notify_job_id(firing: str, channel: str) -> str:
    """Id of the message of one firing on one channel: its outbox id, and the rq job id when it
    is queued alone (a quiet-hours hold; jobs of older versions)."""
    digest = hashlib.sha1(f"{firing}\0{channel}".encode(), usedforsecurity=False).hexdigest()
    return f"notify-{digest[:32]}"


def notify_many_job_id(message_ids: Sequence[str]) -> str:
    """rq job id of one batch's messages (notify_job_id()s) on one channel: the same messages
    make the same id."""
    joined = "\0".join(message_ids).encode()
    return f"notify-many-{hashlib.sha1(joined, usedforsecurity=False).hexdigest()[:32]}"


# --- delivery engine (workers/delivery.py): per-channel outbox, limits, dead letters ---------

DEAD_LETTERS = f"{PREFIX}:dead"  # sorted set: message id -> ms it died
DEAD_LETTER_DATA = f"{PREFIX}:dead:msgs"  # hash: message id -> its record (JSON, never a URL)


def outbox(channel: str) -> str:
    """Sorted set of a channel's waiting message ids, in arrival order."""
    return f"{PREFIX}:outbox:{channel}"


def outbox_messages(channel: str) -> str:
    """Hash of a channel's waiting messages: message id -> JSON (title, body, firing, ...)."""
    return f"{PREFIX}:outbox:{channel}:msgs"


def channel_state(channel: str) -> str:
    """Hash of a channel's delivery state: sequence, blocked/dead until, next flush due."""
    return f"{PREFIX}:chan:{channel}"


def channel_lock(channel: str) -> str:
    """Lock held by the one process sending a channel's messages."""
    return f"{PREFIX}:chan:{channel}:lock"


def send_log(channel: str, period_ms: int) -> str:
    """Sorted set of a channel's send times within one rate limit's period."""
    return f"{PREFIX}:chan:{channel}:sent:{period_ms}"


def alone_log(channel: str) -> str:
    """Sorted set of a channel's messages sent alone (not in a digest) within the digest window."""
    return f"{PREFIX}:chan:{channel}:alone"


def flush_job_id(channel: str, token: str) -> str:
    """rq job id of one scheduled flush of a channel's outbox."""
    digest = hashlib.sha1(channel.encode(), usedforsecurity=False).hexdigest()
    return f"flush-{digest[:16]}-{token}"


def fallback_message_id(message_id: str, channel: str) -> str:
    """Id of a dead message re-sent to the fallback `channel`."""
    return f"{message_id}~{channel}"


# --- the private feed's backfill and the key audit (watcher/backfill.py, watcher/audit.py) ---


def seen(venue: str, account: str) -> str:
    """Sorted set of the fills and order states written to an account's private stream, scored
    by publish time (epoch ms): the publisher writes each one once."""
    return f"{PREFIX}:seen:{venue}:{account}"


def seen_fill(market: str, trade_id: str) -> str:
    """Member of seen() for one fill: a trade id is unique within its market."""
    return f"fill|{market}|{trade_id}"


SEEN_FILLS = "fill|*"  # matches seen_fill()'s members (ZSCAN MATCH)


def seen_fill_market(member: str | bytes) -> str | None:
    """Return the market of a seen_fill() member, None for any other member of seen()."""
    text = member.decode() if isinstance(member, bytes) else member
    kind, _, rest = text.partition("|")
    market, sep, _ = rest.rpartition("|")
    return market if kind == "fill" and sep and market else None


def seen_order(order_id: str, digest: str) -> str:
    """Member of seen() for one state of one order (`digest`: of the whole state)."""
    return f"order|{order_id}|{digest}"


def backfill_mark(venue: str, account: str) -> str:
    """Epoch ms before which every fill of an account was fetched over REST and published."""
    return f"{PREFIX}:backfill:{venue}:{account}"


def key_permissions(venue: str, account: str) -> str:
    """What an account's API key may do, as the watcher's audit found ("read,trade")."""
    return f"{PREFIX}:key:{venue}:{account}"


# --- the published rules version (klaxon reload; workers and the watcher follow it) ---------

# Hash: the rules version the workers run, the price series the watcher streams for it, when.
RULES = f"{PREFIX}:rules"
RULES_VERSION = "version"  # RuleSet.version: a hash of the rule files' bytes
RULES_SERIES = "series"  # JSON: the sorted [venue, market, source] series the rules stream
RULES_PUBLISHED = "published"  # epoch ms of the publication
# JSON: {condition: [seconds, ...]}: the `seconds:` of the rules' feed and lag conditions, at
# which the watcher's monitor reports them (watcher/monitor.py)
RULES_THRESHOLDS = "thresholds"


# --- emulated orders (workers/orders.py): their records, guards and rate windows ------------

# Client order ids: "kx", 8 hex digits naming the rule, 22 naming the firing: 32 letters and
# digits, valid as OKX clOrdId (alphanumeric, <= 32), Binance newClientOrderId
# (^[.A-Z:/a-z0-9_-]{1,36}$) and Bybit orderLinkId (<= 36: letters, digits, "-", "_").
CLIENT_ID_PREFIX = "kx"


def rule_tag(rule_name: str) -> str:
    """The 8 hex digits naming a rule in its orders' client ids (by name: stable across edits)."""
    return hashlib.sha1(rule_name.encode(), usedforsecurity=False).hexdigest()[:8]


def client_order_id(rule_name: str, firing: str) -> str:
    """The client order id of the one real order a firing of an order rule may place."""
    digest = hashlib.sha1(firing.encode(), usedforsecurity=False).hexdigest()[:22]
    return f"{CLIENT_ID_PREFIX}{rule_tag(rule_name)}{digest}"


def emulated(client_order_id: str) -> str:
    """Hash of one emulated order's record (its state machine), by its client order id."""
    return f"{PREFIX}:emulated:{client_order_id}"


def order_guard(arming: str) -> str:
    """Held (SET NX) by the client order id of the one order an arming may place."""
    return f"{PREFIX}:guard:{arming}"


def order_lease(client_order_id: str) -> str:
    """Held (SET NX PX) by the one worker sending an emulated order's real order right now."""
    return f"{PREFIX}:lease:{client_order_id}"


def order_window(scope: str) -> str:
    """Sorted set of the orders placed in the last minute under one limit (an account, a rule)."""
    return f"{PREFIX}:orders:window:{scope}"


def armed(rule_id: str) -> str:
    """Hash of a bracket's armed exits: the arming, the size the entry filled, the levels."""
    return f"{PREFIX}:armed:{rule_id}"


def place_job_id(client_order_id: str, attempt: int, token: str = "") -> str:
    """rq job id of one attempt to place an emulated order's real order (`token` tells apart
    the checks scheduled for one attempt)."""
    return f"place-{client_order_id}-{attempt}" + (f"-{token}" if token else "")


def firing_stream(firing: str) -> str:
    """The stream whose entry made a firing (see firing_id)."""
    return firing.rpartition("@")[2].rpartition("/")[0]


def firing_entry(firing: str) -> str:
    """The id of the stream entry that made a firing (see firing_id)."""
    return firing.rpartition("/")[2].partition("#")[0]
