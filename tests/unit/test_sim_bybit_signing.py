"""The Bybit simulator's own signature checks, against signatures pybit makes (its
_V5HTTPManager signs as it sends, its WebSocket signs auth the same way)."""

from __future__ import annotations

import pytest
from pybit._http_manager import _V5HTTPManager, generate_signature

from simulator import SimConfig
from simulator.bybit.signing import BAD_KEY, BAD_SIGN, BAD_TIME, check_auth, check_rest

KEY, SECRET = "unit-key-4b1e", "unit-secret-93af"
CONFIG = SimConfig(venue="bybit", api_key=KEY, secret_key=SECRET)
NOW = 1_700_000_000_000


def pybit_headers(payload: str, timestamp: int, recv_window: int = 5000) -> dict[str, str]:
    """The headers pybit sends with a request whose query or body is `payload`."""
    manager = _V5HTTPManager(api_key=KEY, api_secret=SECRET)
    sign = manager._auth(payload=payload, recv_window=recv_window, timestamp=timestamp)
    manager.client.close()
    return {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-SIGN": sign,
        "X-BAPI-SIGN-TYPE": "2",
        "X-BAPI-TIMESTAMP": str(timestamp),
        "X-BAPI-RECV-WINDOW": str(recv_window),
    }


@pytest.mark.parametrize(
    "payload",
    [
        _V5HTTPManager.prepare_payload("GET", {"category": "linear", "symbol": "BTCUSDT"}),
        _V5HTTPManager.prepare_payload(
            "POST", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "qty": 0.01}
        ),
        "",
    ],
)
def test_pybits_signatures_are_taken(payload: str) -> None:
    assert check_rest(CONFIG, pybit_headers(payload, NOW), payload, NOW) is None


def test_the_signature_covers_exactly_what_was_sent() -> None:
    sent = '{"category": "linear", "qty": "0.01"}'
    headers = pybit_headers(sent, NOW)
    assert check_rest(CONFIG, headers, sent.replace(" ", ""), NOW) == BAD_SIGN
    assert check_rest(CONFIG, headers | {"X-BAPI-RECV-WINDOW": "6000"}, sent, NOW) == BAD_SIGN
    assert check_rest(CONFIG, headers | {"X-BAPI-API-KEY": "other"}, sent, NOW) == BAD_KEY
    del headers["X-BAPI-SIGN"]
    assert check_rest(CONFIG, headers, sent, NOW) == BAD_SIGN


@pytest.mark.parametrize(
    ("sent_at", "window", "taken"),
    [
        (NOW - 5000, 5000, True),  # server_time - recv_window <= timestamp
        (NOW - 5001, 5000, False),
        (NOW - 9000, 10000, True),
        (NOW + 999, 5000, True),  # timestamp < server_time + 1000
        (NOW + 1000, 5000, False),
    ],
)
def test_the_receive_window(sent_at: int, window: int, taken: bool) -> None:
    refused = check_rest(CONFIG, pybit_headers("", sent_at, window), "", NOW)
    assert refused is (None if taken else BAD_TIME)


def test_ws_auth_as_pybit_signs_it() -> None:
    expires = NOW + 1000  # pybit: now + private_auth_expire (1 s)
    sign = generate_signature(False, SECRET, f"GET/realtime{expires}")
    assert check_auth(CONFIG, [KEY, expires, sign], NOW) is None
    assert check_auth(CONFIG, [KEY, str(expires), sign], NOW) is None
    assert check_auth(CONFIG, [KEY, expires, sign], expires) == "Params Error"  # expired
    assert check_auth(CONFIG, [KEY, expires + 1, sign], NOW) == "Request not authorized"
    assert check_auth(CONFIG, ["other", expires, sign], NOW) == "Request not authorized"
    assert check_auth(CONFIG, [KEY, expires], NOW) == "Params Error"
    assert check_auth(CONFIG, [KEY, True, sign], NOW) == "Params Error"
