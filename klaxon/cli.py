"""The `klaxon` command: run | watch | work | check | reload | replay | record | notify | sim |
status | redeliver | bench."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import redis

from watcher.errors import ConfigError, KlaxonError


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run one command, return its exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as e:
        for line in e.errors:
            print(line, file=sys.stderr)
        return 1
    except KlaxonError as e:
        print(f"klaxon: {e}", file=sys.stderr)
        return 1
    except redis.RedisError as e:  # redis-py's texts name the host, never the URL's password
        print(f"klaxon: Redis: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="klaxon", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="everything on embedded defaults (the demo)")
    run.add_argument("--home", type=Path, default=Path(".klaxon"), help="data directory")
    run.add_argument("--workers", type=int, default=2)
    run.add_argument("--rules", type=Path, nargs="+", help="rule files (default: the demo's)")
    run.add_argument(
        "--no-demo",
        dest="demo",
        action="store_false",
        help="do not drive the simulator's price or place the demo order",
    )
    run.set_defaults(func=_run)

    watch = sub.add_parser("watch", help="exchange -> Redis (settings from KLAXON_* env)")
    watch.add_argument("rules", type=Path, nargs="*", help="rule files (default KLAXON_RULES)")
    watch.set_defaults(func=_watch)

    work = sub.add_parser("work", help="an rq worker: evaluate rules, deliver notifications")
    work.add_argument("rules", type=Path, nargs="*", help="rule files (default KLAXON_RULES)")
    work.add_argument("--name", help="worker name")
    work.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    work.add_argument(
        "--queues",
        help="of evaluate, orders, accounts, notify (comma-separated; default: all four)",
    )
    work.set_defaults(func=_work)

    check = sub.add_parser("check", help="validate rule files; print file:line errors")
    check.add_argument("rules", type=Path, nargs="+")
    check.add_argument(
        "--format",
        dest="output",
        choices=("text", "json"),
        default="text",
        help="text: file:line: message on stderr; json: one document on stdout (for editors, CI)",
    )
    check.set_defaults(func=_check)

    reload = sub.add_parser(
        "reload",
        help="check rule files, then publish their version: workers and the watcher follow it",
    )
    reload.add_argument("rules", type=Path, nargs="*", help="rule files (default KLAXON_RULES)")
    reload.set_defaults(func=_reload)

    replay = sub.add_parser(
        "replay", help="print what rules would have fired over a price path; sends nothing"
    )
    replay.add_argument("rules", type=Path, nargs="+")
    replay.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        help="a `klaxon record` file, or a CSV of ts,market,price[,venue,source]",
    )
    replay.set_defaults(func=_replay)

    record = sub.add_parser("record", help="write the live streams to a file for klaxon replay")
    record.add_argument("--out", type=Path, required=True)
    record.add_argument("--seconds", type=float, help="stop after this long (default: Ctrl-C)")
    record.add_argument("--count", type=int, help="stop after this many entries")
    record.add_argument(
        "--backlog", action="store_true", help="start with every entry the streams still hold"
    )
    record.set_defaults(func=_record)

    notify = sub.add_parser("notify", help="send a test message to a channel of a rule file")
    notify.add_argument("channel")
    notify.add_argument("message")
    notify.add_argument("--rules", type=Path, nargs="+", required=True)
    notify.set_defaults(func=_notify)

    sim = sub.add_parser(
        "sim", help="the local exchange simulator, one port per venue (settings KLAXON_SIM_*)"
    )
    sim.add_argument("--host", help="address to bind (default 127.0.0.1)")
    sim.add_argument(
        "--venue",
        dest="venues",
        action="append",
        help="a venue to serve (repeat for several; default KLAXON_SIM_VENUES or okx)",
    )
    sim.add_argument("--port", type=int, help="the first venue's port; the next take port+1, ...")
    sim.add_argument("--seed", type=int)
    sim.add_argument("--no-walk", dest="walk", action="store_false", default=None)
    sim.add_argument(
        "--tls",
        action="store_true",
        default=None,
        help="also serve https:// and wss:// (KLAXON_SIM_TLS_PORT), the CA in KLAXON_SIM_TLS_CA",
    )
    sim.set_defaults(func=_sim)

    status = sub.add_parser("status", help="streams, queues, counters and dead letters in Redis")
    status.set_defaults(func=_status)

    redeliver = sub.add_parser("redeliver", help="re-send dead letters (see klaxon status)")
    redeliver.add_argument("job_ids", nargs="*", help="dead letters' job ids")
    redeliver.add_argument("--all", dest="everything", action="store_true", help="every one")
    redeliver.set_defaults(func=_redeliver)

    bench = sub.add_parser(
        "bench", help="the hot-path benchmark (from a source checkout)", add_help=False
    )
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_bench)
    return p


def _bench(args: argparse.Namespace) -> int:
    try:
        from bench.__main__ import main as bench_main
    except ImportError:
        print("klaxon bench runs from a source checkout: python -m bench", file=sys.stderr)
        return 1
    return bench_main(args.args)


def _run(args: argparse.Namespace) -> int:
    from klaxon.run import run

    return run(args.home, args.workers, args.rules, args.demo)


def _watch(args: argparse.Namespace) -> int:
    from klaxon.commands import watch

    return watch(args.rules or None)


def _work(args: argparse.Namespace) -> int:
    from klaxon.commands import work

    return work(args.rules or None, args.name, args.burst, args.queues)


def _check(args: argparse.Namespace) -> int:
    from klaxon.check import check

    return check(args.rules, args.output)


def _reload(args: argparse.Namespace) -> int:
    from klaxon.reload import reload

    return reload(args.rules or None)


def _replay(args: argparse.Namespace) -> int:
    from klaxon.replay import replay

    return replay(args.rules, args.source)


def _record(args: argparse.Namespace) -> int:
    from klaxon.record import record

    return record(args.out, args.seconds, args.count, args.backlog)


def _notify(args: argparse.Namespace) -> int:
    from klaxon.commands import notify

    return notify(args.rules, args.channel, args.message)


def _sim(args: argparse.Namespace) -> int:
    from klaxon.commands import sim

    return sim(args.host, args.port, args.seed, args.walk, args.venues, args.tls)


def _status(args: argparse.Namespace) -> int:
    from klaxon.commands import status

    return status()


def _redeliver(args: argparse.Namespace) -> int:
    from klaxon.commands import redeliver

    return redeliver(args.job_ids, args.everything)
