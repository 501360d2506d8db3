"""The venue contract: the registry, each venue's settings and construction, and the seam a new
venue plugs into (its package and the registry, nothing else)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import SecretStr

from watcher.errors import ConfigError
from watcher.venues import DEFAULT_VENUE, VENUES, Feed, VenueSettings, venue_class
from watcher.venues.okx import Okx, OkxSettings

ROOT = Path(__file__).resolve().parents[2]
# The one module outside a venue's package that names it, and the demo, which runs the
# simulated venues on purpose.
REGISTRY = ROOT / "watcher" / "venues" / "__init__.py"
DEMO = ROOT / "klaxon" / "demo.py"


def test_the_registry_maps_each_name_to_its_class() -> None:
    assert DEFAULT_VENUE in VENUES
    for name, cls in VENUES.items():
        assert cls.name == name
        assert issubclass(cls.settings_model, VenueSettings)
        # Each venue reads its own variables: KLAXON_<NAME>_*.
        assert cls.settings_model.model_config.get("env_prefix") == f"KLAXON_{name.upper()}_"
        assert venue_class(name) is cls


def test_an_unknown_venue_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown venue 'binanse'; known: .*okx"):
        venue_class("binanse")


def _venue_imports(path: Path) -> set[str]:
    """The venue packages (watcher.venues.<name>) a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["watcher", "venues"] and len(parts) > 2 and parts[2] in VENUES:
                found.add(parts[2])
    return found


def test_no_module_outside_a_venue_package_imports_it_but_the_registry() -> None:
    # Adding a venue: its package watcher/venues/<name>/ and its line in the registry.
    offenders = []
    for package in ("watcher", "rules", "workers", "klaxon"):
        for path in (ROOT / package).rglob("*.py"):
            inside = [p for p in path.relative_to(ROOT).parts[:3] if p in VENUES]
            if path in (REGISTRY, DEMO) or inside:
                continue
            if _venue_imports(path):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
    assert _venue_imports(REGISTRY) == set(VENUES)


def test_okx_is_built_from_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_OKX_HEDGE_API_KEY", "key-91c2")
    monkeypatch.setenv("KLAXON_OKX_HEDGE_SECRET_KEY", "secret-5d7e")
    monkeypatch.setenv("KLAXON_OKX_HEDGE_PASSPHRASE", "phrase-3a8b")
    monkeypatch.setenv("KLAXON_OKX_HEDGE_WS_PRIVATE_URL", "ws://127.0.0.1:9/ws/v5/private")
    monkeypatch.setenv("KLAXON_OKX_HEDGE_DEMO", "true")
    settings = OkxSettings(_env_prefix="KLAXON_OKX_HEDGE_")
    okx = Okx.from_settings("hedge", settings)
    assert (okx.account, okx.demo, okx.has_credentials) == ("hedge", True, True)
    assert okx.private_url == "ws://127.0.0.1:9/ws/v5/private"
    assert sorted(settings.secrets()) == ["key-91c2", "phrase-3a8b", "secret-5d7e"]
    (private,) = okx.feeds([], private=True)
    assert (private.venue, private.account, private.url()) == ("okx", "hedge", okx.private_url)


def test_okx_without_a_key_watches_market_data_only() -> None:
    settings = OkxSettings(api_key=None, secret_key=None, passphrase=None)
    okx = Okx.from_settings("main", settings)
    assert not okx.has_credentials
    assert settings.secrets() == []
    with pytest.raises(ConfigError, match="credentials"):
        okx.trading()


def test_okx_refuses_part_of_a_key() -> None:
    with pytest.raises(ValueError, match="set all of API_KEY, SECRET_KEY and PASSPHRASE"):
        OkxSettings(api_key=SecretStr("key-only"))


def test_okx_refuses_another_venues_settings() -> None:
    class Other(VenueSettings):
        pass

    with pytest.raises(TypeError, match="expected OkxSettings"):
        Okx.from_settings("main", Other())


def test_a_feed_url_is_called_and_never_shown() -> None:
    calls: list[int] = []

    def url() -> str:
        calls.append(1)
        return f"wss://stream.example/ws/listen-key-{len(calls)}"

    (feed,) = Okx("main").feeds([("BTC-USDT", "last")], private=False)
    feed = Feed(
        venue="x",
        name="private",
        url=url,
        subscribe=(),
        parse=feed.parse,
        heartbeat=feed.heartbeat,
    )
    assert "listen-key" not in repr(feed)
    assert (feed.url(), feed.url()) == (
        "wss://stream.example/ws/listen-key-1",
        "wss://stream.example/ws/listen-key-2",
    )
