"""The key audit at start, against the simulator's account config (`perm`): a key that may
withdraw is refused naming the account, a read-only key runs alerts only, a trading key trades;
what each may do is recorded in Redis and shown by `klaxon status`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from klaxon.cli import main
from simulator import Simulator
from tests.integration.sim_client import (
    KEY,
    PASSPHRASE,
    SECRET,
    _config,
    _control,
    account_env,
    okx_account,
)
from tests.integration.wired import build
from watcher import keys
from watcher.audit import audit_key, recorded_permissions, trading_refused
from watcher.errors import ConfigError, ExchangeUnavailable
from watcher.service import Watcher

RULES = """\
channels:
  desk: "json://127.0.0.1:9/alerts"
rules:
  - {name: fills, notify: desk, fill: {}}
"""


@pytest.fixture(params=["read_only", "read_only,trade", "read_only,withdraw,trade"])
def perm_sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """A simulator whose API key has the permissions of the test's parameter."""
    with Simulator(_config(perm=request.param)) as running:
        yield running


def start(
    sim: Simulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> list[Watcher]:
    """Build the watchers as `klaxon watch` does, for the account okx/main on the simulator."""
    values = {
        "KLAXON_REDIS_URL": redis_url,
        "KLAXON_ACCOUNTS": json.dumps([{"venue": "okx", "account": "main"}]),
    }
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return build(monkeypatch, values | account_env(sim) | env, path)[1]


def status(capsys: pytest.CaptureFixture[str]) -> str:
    """The account line of `klaxon status`."""
    capsys.readouterr()
    assert main(["status"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("account ")]
    return line


def test_each_permission_set_has_its_outcome(
    perm_sim: Simulator,
    redis_url: str,
    r: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    perm = perm_sim.config.perm
    if "withdraw" in perm:
        with pytest.raises(ConfigError) as caught:
            start(perm_sim, redis_url, tmp_path, monkeypatch)
        (error,) = caught.value.errors
        assert error.startswith("account okx/main: its API key has the withdraw permission")
        assert "Disabling withdrawal permissions is mandatory" in error
        for secret in (KEY, SECRET, PASSPHRASE):
            assert secret not in error
        assert recorded_permissions(r, "okx", "main") is None
        assert "API key not audited" in status(capsys)
        return
    (watcher,) = start(perm_sim, redis_url, tmp_path, monkeypatch)
    assert [s.feed.name for s in watcher.streams] == ["private"]  # alerts run either way
    line = status(capsys)
    if perm == "read_only":
        assert r.get(keys.key_permissions("okx", "main")) == b"read"
        assert trading_refused(r, "okx", "main") == (
            "account okx/main: its API key is read-only (no trade permission)"
        )
        assert line.startswith(
            "account okx/main: API key is read-only: alerts run, orders are refused;"
        )
    else:
        assert r.get(keys.key_permissions("okx", "main")) == b"read,trade"
        assert trading_refused(r, "okx", "main") is None
        assert line.startswith("account okx/main: API key may read, trade;")
    assert KEY not in line


def test_a_key_the_venue_refuses_stops_the_start_naming_the_account(
    sim: Simulator,
    redis_url: str,
    r: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError) as caught:
        start(sim, redis_url, tmp_path, monkeypatch, KLAXON_OKX_PASSPHRASE="wrong-pass-9d1c")
    (error,) = caught.value.errors
    assert error.startswith("account okx/main: okx refused its API key when asked what")
    assert "wrong-pass-9d1c" not in error
    assert trading_refused(r, "okx", "main") == (
        "account okx/main: its API key was not audited (is the watcher running?)"
    )


def test_an_unavailable_venue_is_asked_again(sim: Simulator, r: redis.Redis) -> None:
    path = "/api/v5/account/config"
    _control(sim, "fail", {"mode": "5xx", "count": 2, "path": path})
    assert audit_key(okx_account(sim), "okx/main", r, attempts=3, wait=0.05) == {"read", "trade"}
    _control(sim, "fail", {"mode": "5xx", "count": 3, "path": path})
    with pytest.raises(ExchangeUnavailable, match=r"^account okx/main: could not ask"):
        audit_key(okx_account(sim), "okx/main", r, attempts=3, wait=0.05)
