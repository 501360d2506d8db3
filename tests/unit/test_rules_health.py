"""The self-monitoring kinds (feed, lag, dead_letter): what fires them, one claim per episode,
their messages, and their rule-file errors with file:line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from klaxon.cli import main
from rules.dead_letter import DeadLetterRule
from rules.feed import FeedRule
from rules.kinds import KINDS, Dispatch
from rules.lag import LagRule
from rules.load import load_rules
from tests.unit.test_rules_load import CHANNELS, errors_of, write
from watcher.events import DeadLetterAlert, EvaluationLag, FeedStatus, Fill, decode_event

SINCE = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)


def silent(seconds: float = 30.0, **change: Any) -> FeedStatus:
    """The monitor's report that okx/main's public feed has been silent `seconds`."""
    fields: dict[str, Any] = {
        "venue": "okx",
        "account": "main",
        "feed": "public",
        "status": "silent",
        "seconds": seconds,
        "since": SINCE,
        "at": SINCE + timedelta(seconds=seconds),
    }
    return FeedStatus(**(fields | change))


def recovered(code: str = "silent", longest: float = 30.0, lasted: float = 42.0) -> FeedStatus:
    """The monitor's report that the condition `code` is over after `lasted` seconds."""
    return silent(longest, status="recovered", code=code, at=SINCE + timedelta(seconds=lasted))


def lag(seconds: float = 8.0, recovered: bool = False) -> EvaluationLag:
    return EvaluationLag(
        stream="klaxon:ticks:1",
        seconds=seconds,
        entries=0 if recovered else 1200,
        since=SINCE,
        recovered=recovered,
        at=SINCE + timedelta(seconds=12 if recovered else seconds),
    )


def rules_of(tmp_path: Path, kind: str, spec: str, extra: str = "") -> Path:
    text = f"{CHANNELS}rules:\n  - name: health\n    {kind}: {spec}\n    notify: [desk]\n{extra}"
    return write(tmp_path, "health.yaml", text)


def feed_rule(tmp_path: Path, spec: str, extra: str = "") -> FeedRule:
    [rule] = load_rules([rules_of(tmp_path, "feed", spec, extra)], env={}).of(FeedRule)
    return rule


@pytest.mark.parametrize(
    ("spec", "event", "fires"),
    [
        ("{state: silent, seconds: 30}", silent(30), True),
        ("{state: silent, seconds: 30}", silent(15), False),  # not long enough yet
        ("{state: silent, seconds: 20}", silent(30), True),  # a later step of the ladder
        ("{state: down, seconds: 5}", silent(30), False),
        ("{state: down, seconds: 5}", silent(6, status="down"), True),
        ("{state: silent, seconds: 30, venue: okx, account: main}", silent(), True),
        ("{state: silent, seconds: 30, venue: bybit}", silent(), False),
        ("{state: silent, seconds: 30, account: hedge}", silent(), False),
        # A connection's own status (no `since`): the monitor reports what lasts, not each try.
        ("{state: login_failed}", silent(status="login_failed", since=None), False),
        ("{state: login_failed}", silent(0, status="login_failed"), True),
        ("{state: listen_key}", silent(0, status="listen_key"), True),
        ("{state: silent, seconds: 30}", recovered(), False),  # no `recovered: true`
        ("{state: silent, seconds: 30, recovered: true}", recovered(), True),
        ("{state: silent, seconds: 30, recovered: true}", recovered(longest=29), False),
        ("{state: down, seconds: 5, recovered: true}", recovered("silent"), False),
        ("{state: down, seconds: 5, recovered: true}", recovered("down"), True),
    ],
)
def test_feed_rules_fire_on_the_monitors_reports(
    tmp_path: Path, spec: str, event: FeedStatus, fires: bool
) -> None:
    rule = feed_rule(tmp_path, spec)
    assert rule.matches(event) is fires
    assert rule.matches(lag()) is False


def test_one_episode_is_one_claim_and_its_recovery_another(tmp_path: Path) -> None:
    rule = feed_rule(tmp_path, "{state: silent, seconds: 10, recovered: true}")
    first, later = silent(10), silent(60)  # two steps of one episode: one claim
    assert rule.subject(first) == rule.subject(later)
    again = decode_event(first.model_dump_json())  # the same report written twice
    assert rule.subject(again) == rule.subject(first)
    assert rule.subject(recovered()) not in (None, rule.subject(first))
    next_episode = silent(10, since=SINCE + timedelta(minutes=5))
    assert rule.subject(next_episode) != rule.subject(first)
    other_feed = silent(10, account="hedge")
    assert rule.subject(other_feed) != rule.subject(first)
    assert rule.repeat.kind == "every"


def test_feed_messages(tmp_path: Path) -> None:
    rule = feed_rule(tmp_path, "{state: silent, seconds: 30, recovered: true}")
    assert rule.render_event(silent(31.4)) == "[health] okx/main public feed silent for 31s"
    assert rule.render_event(recovered(lasted=95.2)) == (
        "[health] okx/main public feed recovered: silent for 95s"
    )
    login = feed_rule(tmp_path, "{state: login_failed}")
    refused = silent(0, status="login_failed", detail="60024 Wrong passphrase")
    assert login.render_event(refused) == (
        "[health] okx/main public feed login refused (60024 Wrong passphrase)"
    )
    names = " ".join(f"{n}={{{n}}}" for n in sorted(FeedRule.PLACEHOLDERS))
    every = feed_rule(tmp_path, "{state: down, seconds: 5}", f'    message: "{names}"\n')
    down = silent(7.25, status="down", detail="ConnectionRefusedError")
    assert every.render_event(down) == (
        "account=main detail=ConnectionRefusedError feed=public rule=health seconds=7.2"
        " since=2026-11-22T06:00:00.000Z state=down status=down summary=down for 7.2s"
        " (ConnectionRefusedError) time=2026-11-22T06:00:07.250Z venue=okx"
    )


def test_lag_rules(tmp_path: Path) -> None:
    [rule] = load_rules([rules_of(tmp_path, "lag", "{seconds: 5}")], env={}).of(LagRule)
    assert rule.matches(lag(8))
    assert not rule.matches(lag(4))
    assert not rule.matches(lag(8, recovered=True))  # not asked for
    assert not rule.matches(silent())
    assert rule.subject(lag(8)) == rule.subject(lag(30))
    assert rule.render_event(lag(8)) == (
        "[health] evaluation of klaxon:ticks:1 is 8s behind (1200 entries waiting)"
    )
    path = rules_of(tmp_path, "lag", "{seconds: 5, recovered: true}")
    [back] = load_rules([path], env={}).of(LagRule)
    assert back.matches(lag(8, recovered=True))
    assert back.subject(lag(8, recovered=True)) != back.subject(lag(8))
    assert back.render_event(lag(8, recovered=True)) == (
        "[health] evaluation of klaxon:ticks:1 caught up after 12s"
    )


def test_dead_letter_rules(tmp_path: Path) -> None:
    alert = DeadLetterAlert(
        channel="desk", error="ChannelRefused", count=2, firing="fills-1@s/1-0#0", at=SINCE
    )
    [every] = load_rules([rules_of(tmp_path, "dead_letter", "")], env={}).of(DeadLetterRule)
    assert every.matches(alert)
    assert every.render_event(alert) == (
        "[health] channel 'desk' is dead (ChannelRefused): 2 message(s) not delivered,"
        " see klaxon status"
    )
    path = rules_of(tmp_path, "dead_letter", "{channel: mail}")
    [mail] = load_rules([path], env={}).of(DeadLetterRule)
    assert not mail.matches(alert)
    assert mail.matches(alert.model_copy(update={"channel": "mail"}))
    assert not every.matches(silent())


def test_the_kinds_read_their_events_through_the_dispatch(tmp_path: Path) -> None:
    extra = (
        "  - name: lagging\n    lag: {seconds: 1}\n    notify: [desk]\n"
        "  - name: dead\n    dead_letter: {}\n    notify: [desk]\n"
    )
    path = rules_of(tmp_path, "feed", "{state: silent, seconds: 1}", extra)
    dispatch = Dispatch(load_rules([path], env={}).books)
    assert (KINDS["feed"].events, KINDS["lag"].events) == (("feed",), ("lag",))
    [feeds] = dispatch.events["feed"]
    assert feeds.matcher.match(silent()) == [0]
    [lags] = dispatch.events["lag"]
    assert lags.matcher.match(lag()) == [0]
    [dead] = dispatch.events["dead_letter"]
    assert dead.book[0].name == "dead"
    fill_kind = dispatch.events.get("fill")
    assert fill_kind is None  # no fill rule: a fill costs one lookup
    assert Fill.model_fields["kind"].default == "fill"


def test_bad_values_are_errors_at_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        CHANNELS + "rules:\n"  # lines 1-3
        "  - name: one\n"  # 4
        "    feed: {state: quiet}\n"  # 5
        "    notify: [desk]\n"  # 6
        "  - name: two\n"  # 7
        "    feed: {state: silent}\n"  # 8
        "    notify: [desk]\n"  # 9
        "  - name: three\n"  # 10
        "    feed: {state: login_failed, seconds: 5, recovered: maybe}\n"  # 11
        "    notify: [desk]\n"  # 12
        "  - name: four\n"  # 13
        "    feed: {state: down, seconds: 0, venue: OKX}\n"  # 14
        "    notify: [desk]\n"  # 15
        "  - name: five\n"  # 16
        "    feed: {state: down, seconds: 10, recovered: true}\n"  # 17
        "    notify: [desk]\n"  # 18
        "    cooldown: 10m\n"  # 19
        "  - name: six\n"  # 20
        "    lag: {seconds: '5s'}\n"  # 21
        "    notify: [desk]\n"  # 22
        "  - name: seven\n"  # 23
        "    lag: {}\n"  # 24
        "    notify: [desk]\n"  # 25
        "  - name: eight\n"  # 26
        "    dead_letter: {channel: Desk, when: now}\n"  # 27
        "    notify: [desk]\n"  # 28
        "  - name: nine\n"  # 29
        "    feed: {seconds: 5}\n"  # 30
        "    notify: [desk]\n"  # 31
        "    message: '{market}'\n",  # 32
    )
    assert errors_of([path]) == [
        f"{path}:5: feed.state: 'quiet' is not one of: silent, down, login_failed, listen_key",
        f"{path}:8: feed: needs `seconds:` (how long the feed is silent before the rule fires)",
        f"{path}:11: feed.seconds: only for silent and down",
        f"{path}:11: feed.recovered: expected true or false, got a string",
        f"{path}:14: feed.venue: 'OKX' is not valid: a lower-case venue name such as okx",
        f"{path}:14: feed.seconds: must be more than 0 and at most 86400",
        f"{path}:19: feed.recovered: needs `repeat: every` (the default): with `once` or a"
        " cooldown the recovery message would be held back by the alert's claim",
        f"{path}:21: lag.seconds: '5s' is not a decimal number",
        f"{path}:24: lag: needs `seconds:` (how old the oldest unevaluated entry is before the"
        " rule fires)",
        f"{path}:27: dead_letter: unknown key 'when'; allowed: channel",
        f"{path}:27: dead_letter.channel: 'Desk' is not valid: lower-case letters, digits, '_'"
        " and '-', starting with a letter or digit, at most 64",
        f"{path}:30: feed: missing required key 'state'",
        f"{path}:32: message: unknown placeholder {{market}}; allowed: account, detail, feed,"
        " rule, seconds, since, state, status, summary, time, venue",
    ]


def test_klaxon_check_notes_the_venue_of_a_feed_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rules_of(tmp_path, "feed", "{state: down, seconds: 10, venue: bybit}")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "note: rules name venue 'bybit', which no account is on (KLAXON_ACCOUNTS)" in out
    assert "ok: 1 rules, 1 channels in 1 file(s)" in out
