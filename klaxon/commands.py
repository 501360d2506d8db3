"""The commands behind `klaxon watch | work | notify | sim | status | redeliver`."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Collection
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import redis

from klaxon import logs
from klaxon.settings import CheckSettings, SimSettings, WatcherSettings, WorkerSettings, load
from rules.load import RuleSet, load_rules
from watcher import heap, keys
from watcher.audit import recorded_permissions
from watcher.errors import ConfigError
from watcher.events import utc_from_ms
from workers.notify import check_channels, deliver

log = logging.getLogger("klaxon")


def _ruleset(paths: list[Path], venues: Collection[str]) -> RuleSet:
    ruleset = load_rules(paths, venues=venues)
    errors = check_channels(ruleset)
    if errors:
        raise ConfigError("bad channels", errors=errors)
    return ruleset


def _on_stop(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def notify(paths: list[Path], channel: str, message: str) -> int:
    """Send a test message to one channel of the rule files."""
    ruleset = _ruleset(paths, load(CheckSettings).venues())
    if channel not in ruleset.channels:
        raise ConfigError(f"no channel {channel!r}; have: {', '.join(sorted(ruleset.channels))}")
    deliver(ruleset.channels[channel].url, "klaxon test", message, channel=channel)
    print(f"sent to {channel}")
    return 0


def watch(paths: list[Path] | None) -> int:
    """Run the watcher until SIGINT/SIGTERM, on the series of the published rules version;
    SIGHUP publishes the rule files' version (as `klaxon reload` does)."""
    from klaxon.reload import publish_in_child
    from klaxon.wiring import MarketFollower, accounts, build_monitor, build_watchers
    from watcher.published import read_published

    stop, hup = threading.Event(), threading.Event()
    signal.signal(signal.SIGHUP, lambda signum, frame: hup.set())  # handled once running
    settings = load(WatcherSettings, rules=paths)
    redis_secrets = logs.url_secrets(settings.redis_url.get_secret_value())
    logs.setup(settings.log_level, redis_secrets, "watcher")
    built = accounts(settings.accounts)
    secrets = redis_secrets + [s for account in built for s in account.settings.secrets()]
    logs.setup(settings.log_level, secrets, "watcher")
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())

    def publish() -> None:
        try:
            for line in publish_in_child(settings.rules):
                log.info("%s", line)
        except ConfigError as exc:
            log.error("rule files not published; the version in force stays:")
            for line in exc.errors:
                log.error("%s", line)

    published = read_published(client)
    if published is None:
        # A first start: nothing published yet, so this watcher publishes its files.
        log.info("no rules version published yet: publishing the rule files")
        for line in publish_in_child(settings.rules):
            log.info("%s", line)
        published = read_published(client)
        if published is None:
            raise ConfigError("the rules version was published but cannot be read back")
    watchers = build_watchers(settings, built, published.series)
    follower = MarketFollower(client, watchers, published)
    monitor = build_monitor(settings, watchers)
    heap.enable()  # what start-up built stays out of the collector's walks (watcher/heap.py)
    _on_stop(stop)
    runners = [
        threading.Thread(target=w.run, name=f"watcher-{w.publisher.venue}-{w.publisher.account}")
        for w in watchers
    ]
    runners.append(
        threading.Thread(target=follower.run, args=(stop, hup, publish), name="rules-follower")
    )
    runners.append(threading.Thread(target=monitor.run, name="monitor"))
    for runner in runners:
        runner.start()
    stop.wait()
    monitor.stop()
    for watcher in watchers:
        watcher.stop()
    for runner in runners:
        runner.join(timeout=10)
    return 0


def work(paths: list[Path] | None, name: str | None, burst: bool, queues: str | None) -> int:
    """Run one rq worker until SIGINT/SIGTERM (or until the queues are empty with burst)."""
    from klaxon.wiring import accounts, desk
    from workers import order_desk
    from workers.order_send import SWITCH_SECONDS
    from workers.service import run_worker

    chosen = [f"klaxon-{q.strip()}" for q in queues.split(",")] if queues else None
    settings = load(WorkerSettings, rules=paths, name=name, queues=chosen)
    redis_secrets = logs.url_secrets(settings.redis_url.get_secret_value())
    logs.setup(settings.log_level, redis_secrets, settings.name or "worker")
    built = accounts(settings.accounts)
    secrets = redis_secrets + [s for account in built for s in account.settings.secrets()]
    logs.setup(settings.log_level, secrets, settings.name or "worker")
    ruleset = _ruleset(settings.rules, settings.venues())
    secrets += _channel_secrets(ruleset)
    logs.setup(settings.log_level, secrets, settings.name or "worker")
    order_desk.install(desk(settings, built))
    if settings.nice:
        os.nice(settings.nice)
    sys.setswitchinterval(SWITCH_SECONDS)
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("rq.worker").setLevel(logging.WARNING)  # 3 INFO lines per job
    run_worker(
        settings.redis_url.get_secret_value(),
        ruleset,
        rule_paths=settings.rules,
        venues=settings.venues(),
        burst=burst,
        name=settings.name,
        queues=settings.queues,
        settle=True,
    )
    return 0


def sim(
    host: str | None,
    port: int | None,
    seed: int | None,
    walk: bool | None,
    venues: list[str] | None = None,
    tls: bool | None = None,
) -> int:
    """Run the simulated venues, each on its own port, until SIGINT/SIGTERM."""
    from simulator import SimConfig, serve_forever
    from simulator.registry import PROTOCOLS

    s = load(SimSettings, host=host, port=port, seed=seed, walk=walk, venues=venues, tls=tls)
    unknown = [v for v in s.venues if v not in PROTOCOLS]
    if unknown or not s.venues or len(set(s.venues)) != len(s.venues):
        known = ", ".join(sorted(PROTOCOLS))
        raise ConfigError(f"KLAXON_SIM_VENUES: {s.venues} must name distinct venues of: {known}")
    logs.setup(
        "WARNING", [s.secret_key.get_secret_value(), s.passphrase.get_secret_value()], "simulator"
    )
    configs = [
        SimConfig(
            venue=venue,
            host=s.host,
            port=s.port + index if s.port else 0,
            api_key=s.api_key,
            secret_key=s.secret_key.get_secret_value(),
            passphrase=s.passphrase.get_secret_value(),
            seed=s.seed,
            walk=s.walk,
            tick_interval=s.tick_interval,
            perm=s.perm,
            listen_key_ttl=s.listen_key_ttl,
            max_connection_age=s.max_connection_age,
            ping_interval=s.ping_interval,
            tls=s.tls,
            tls_port=s.tls_port + index if s.tls_port else 0,
        )
        for index, venue in enumerate(s.venues)
    ]
    serve_forever(*configs, ca_file=s.tls_ca)
    return 0


def status() -> int:
    """Print the published rules version, each account's key permissions and backfill mark,
    stream lengths and lag, queue sizes and counters."""
    settings = load(WorkerSettings)
    r = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    print(_rules_status(r))
    for ref in settings.accounts:
        print(f"account {ref.label}: {_account_status(r, ref.venue, ref.account)}")
    for stream in sorted(r.scan_iter(f"{keys.PREFIX}:*", _type="stream")):
        groups = r.xinfo_groups(stream)
        lag = ", ".join(f"{g['name']} pending {g['pending']} lag {g.get('lag')}" for g in groups)
        print(f"{stream}: {r.xlen(stream)} entries; {lag}")
    for queue in (keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE, keys.ORDERS_QUEUE, keys.NOTIFY_QUEUE):
        print(f"queue {queue}: {r.llen(keys.rq_queue(queue))} waiting")
    for field, value in sorted(r.hgetall(keys.STATS).items()):
        print(f"{field!s}: {value!s}")
    _dead_letters(redis.Redis.from_url(settings.redis_url.get_secret_value()))
    return 0


def _dead_letters(client: redis.Redis, last: int = 5) -> None:
    """Print the dead letter count and the last few (channel names only, never URLs)."""
    from workers import deadletter

    total = deadletter.count(client)
    print(f"dead letters: {total}" + (" (klaxon redeliver --all re-sends them)" if total else ""))
    for letter in deadletter.recent(client, last):
        print(f"  {letter.line()}")


def redeliver(job_ids: list[str], everything: bool) -> int:
    """Re-send dead letters (by job id, or all); each goes back to its channel's outbox once."""
    from workers import deadletter

    if everything == bool(job_ids):
        raise ConfigError("give either --all or the job ids of dead letters (see klaxon status)")
    settings = load(WorkerSettings)
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    ids = deadletter.all_ids(client) if everything else job_ids
    moved, unknown = deadletter.redeliver(client, ids)
    for letter in moved:
        print(f"redelivering to '{letter.channel}': firing {letter.message.firing}")
    for job_id in unknown:
        print(f"not a dead letter: {job_id}", file=sys.stderr)
    print(f"{len(moved)} dead letter(s) queued for redelivery")
    return 1 if unknown else 0


def _rules_status(r: redis.Redis) -> str:
    """The rules version in force: its hash, when it was published, how many series."""
    from watcher.published import read_published

    published = read_published(r)
    if published is None:
        return "rules: no version published yet (klaxon reload publishes the rule files)"
    at = utc_from_ms(published.published_ms).isoformat(timespec="seconds")
    count = len(published.series)
    return f"rules: version {published.version[:12]} published {at}, {count} price series"


def _account_status(r: redis.Redis, venue: str, account: str) -> str:
    """What the watcher found the account's API key may do, and how far its fills are backfilled."""
    permissions = recorded_permissions(r, venue, account)
    if permissions is None:
        key = "API key not audited (no key, or the watcher has not started)"
    elif "trade" in permissions:
        key = f"API key may {', '.join(sorted(permissions))}"
    else:
        key = "API key is read-only: alerts run, orders are refused"
    mark = r.get(keys.backfill_mark(venue, account))
    since = utc_from_ms(int(mark)).isoformat(timespec="seconds") if mark else "never"
    return f"{key}; fills backfilled up to {since}"


def _channel_secrets(ruleset: RuleSet) -> list[str]:
    """Each channel URL and the parts of it that carry tokens (user, password, path, query)."""
    out = []
    for channel in ruleset.channels.values():
        url = channel.url.get_secret_value()
        parts = urlsplit(url)
        pieces = [
            parts.username,
            parts.password,
            *re.split(r"[/?&=]", parts.path + "?" + parts.query),
        ]
        out += [url, *(p for p in pieces if p and len(p) >= 6)]
    return out
