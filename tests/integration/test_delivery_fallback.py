"""A dead channel's messages go to its fallback (a local SMTP server, real apprise mailto://),
marked as such; dead letters are listed by `klaxon status` without a URL and re-sent once by
`klaxon redeliver`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from klaxon.cli import main
from tests.integration.smtp_inbox import SmtpInbox
from tests.integration.test_workers_harness import FILL_EVERY, SECRET, Klaxon, harness
from watcher import keys
from workers import deadletter
from workers.delivery import BACKOFF_SECONDS

MAIL_PASSWORD = "mail-pw-5e7d21"  # a secret too: never in an output


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    with SmtpInbox("alerts", MAIL_PASSWORD) as server:
        yield server


def _channels(smtp: SmtpInbox) -> str:
    return f'  desk: {{url: "{{hook}}", fallback: mail}}\n  mail: "{smtp.url()}"\n'


def _status(kx: Klaxon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("KLAXON_REDIS_URL", kx.redis_url)
    assert main(["status"]) == 0
    return capsys.readouterr().out


def test_a_refused_message_falls_back_at_once_and_is_redelivered_exactly_once(
    kx: Klaxon,
    smtp: SmtpInbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kx.rules(FILL_EVERY, _channels(smtp))
    kx.inbox.status = 403  # Telegram's "bot was blocked by the user": no retry can help
    kx.fill("t-1")
    kx.work_until(smtp.received, timeout=30, what="the fallback mail")
    (mail,) = smtp.received()
    assert mail.subject == "klaxon: fills (fallback for 'desk')"
    assert "trade t-1" in mail.text
    assert mail.recipients == ("desk@example.org",)
    assert smtp.logins == ["PLAIN"]
    assert len(kx.inbox.posts) == 1  # one attempt: a refusal is final

    out = _status(kx, monkeypatch, capsys)
    assert "dead letters: 1 (klaxon redeliver --all re-sends them)" in out
    (line,) = [line for line in out.splitlines() if "channel 'desk'" in line]
    (letter,) = deadletter.recent(kx.r)
    assert line.strip() == letter.line()
    assert "ChannelRefused after 1 attempt(s): firing fills-" in line
    assert f"(job {letter.message.id})" in line
    for secret in (SECRET, MAIL_PASSWORD, str(kx.inbox.port), str(smtp.port)):
        assert secret not in out

    kx.inbox.status = 200
    monkeypatch.setenv("KLAXON_REDIS_URL", kx.redis_url)
    assert main(["redeliver", letter.message.id]) == 0
    assert "1 dead letter(s) queued for redelivery" in capsys.readouterr().out
    kx.work_until(kx.inbox.accepted, timeout=30, what="the redelivery")
    assert main(["redeliver", letter.message.id]) == 1  # not a dead letter any more
    assert f"not a dead letter: {letter.message.id}" in capsys.readouterr().err
    kx.work()
    assert [m.count("trade t-1") for m in kx.messages()] == [1]
    assert len(smtp.received()) == 1
    assert deadletter.count(kx.r) == 0
    assert "dead letters: 0" in _status(kx, monkeypatch, capsys)


def test_retries_run_out_then_the_fallback_gets_it_and_later_ones_go_there_at_once(
    kx: Klaxon, smtp: SmtpInbox
) -> None:
    kx.rules(FILL_EVERY, _channels(smtp))
    kx.inbox.status = 500
    kx.fill("t-1")
    kx.work()
    for _ in BACKOFF_SECONDS:
        kx.fast_forward()
        kx.work()
    kx.work_until(smtp.received, timeout=30, what="the fallback mail")
    assert len(kx.inbox.posts) == 1 + len(BACKOFF_SECONDS)
    (letter,) = deadletter.recent(kx.r)
    assert (letter.error, letter.attempts) == ("NotificationError", 1 + len(BACKOFF_SECONDS))

    # The channel is dead now: the next message gets one attempt, then the fallback.
    kx.fill("t-2")
    kx.work_until(lambda: len(smtp.received()) == 2, timeout=30, what="the second fallback")
    assert len(kx.inbox.posts) == 2 + len(BACKOFF_SECONDS)
    assert ["trade t-1" in m.text for m in smtp.received()] == [True, False]
    assert "trade t-2" in smtp.received()[1].text
    assert deadletter.count(kx.r) == 2
    assert kx.inbox.accepted() == []


def test_redeliver_all_sends_each_dead_letter_once(
    kx: Klaxon, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kx.rules(FILL_EVERY)  # no fallback: dead letters wait for the user
    kx.inbox.status = 404
    for n in range(3):
        kx.fill(f"t-{n}")
    kx.work_until(lambda: deadletter.count(kx.r) == 3, timeout=30, what="three dead letters")
    kx.inbox.status = 200
    monkeypatch.setenv("KLAXON_REDIS_URL", kx.redis_url)
    assert main(["redeliver", "--all"]) == 0
    assert main(["redeliver", "--all"]) == 0  # nothing left: nothing sent twice
    out = capsys.readouterr().out
    assert "3 dead letter(s) queued for redelivery" in out
    assert "0 dead letter(s) queued for redelivery" in out
    kx.work_until(lambda: len(kx.inbox.accepted()) >= 1, timeout=30, what="redeliveries")
    kx.work()
    trades = sorted(t for m in kx.messages() for t in ("t-0", "t-1", "t-2") if f"trade {t}" in m)
    assert trades == ["t-0", "t-1", "t-2"]
    assert deadletter.count(kx.r) == 0
    assert not kx.r.exists(keys.channel_lock("desk"))


def test_redeliver_needs_ids_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redeliver"]) == 1
    assert "give either --all or the job ids" in capsys.readouterr().err
