"""Accounts and watchers built as `klaxon watch` builds them, from variables and a rule file."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaxon.settings import WatcherSettings, load
from klaxon.wiring import Account, accounts, build_watchers
from rules.load import load_rules
from watcher.service import Watcher


def build(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], rules: Path
) -> tuple[list[Account], list[Watcher]]:
    """Set `env`, then read the settings, the rule file, the accounts, and build the watchers."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load(WatcherSettings, rules=[rules])
    ruleset = load_rules(settings.rules, env={}, venues=settings.venues())
    configured = accounts(settings.accounts)
    return configured, build_watchers(settings, configured, ruleset.markets())
