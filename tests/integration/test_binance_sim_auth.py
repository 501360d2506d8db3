"""The Binance simulator checks every signed call as Binance does: API key, timing, signature over
the percent-encoded parameters (HMAC or Ed25519), the key's permissions; and it fails calls on
demand with Binance's 5xx bodies. Signatures come from binance-connector, never from the
simulator's code."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from binance.error import ClientError, ServerError
from binance.lib.authentication import hmac_hashing
from binance.lib.utils import encoded_string
from binance.spot import Spot
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import SecretStr

from simulator import Simulator
from tests.integration.binance_sim import KEY, SECRET, config, control, rest, spot
from watcher.errors import OutcomeUnknown
from watcher.venues.binance import Binance, BinanceCredentials

pytestmark = pytest.mark.timeout(30)
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "59000"}  # fmt: skip
NON_ASCII = "１２３"  # full-width digits, as the documentation's non-ASCII example  # noqa: RUF001


def raw(sim: Simulator, method: str, query: str, key: str | None = KEY) -> tuple[int, Any]:
    """Sends /api/v3/order with a query string as given; returns (status, JSON body)."""
    url = f"{sim.endpoint('binance').base_url}/api/v3/order?{query}"
    headers = {} if key is None else {"X-MBX-APIKEY": key}
    request = urllib.request.Request(url, data=b"", headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed(params: dict[str, str], timestamp: int, secret: str = SECRET) -> str:
    """A query string signed as binance-connector signs one (its own encoding and HMAC)."""
    payload = encoded_string(params | {"timestamp": str(timestamp)})
    return f"{payload}&signature={hmac_hashing(secret, payload)}"


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, int, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.status_code, info.value.error_code, info.value.error_message


@pytest.fixture
def sim() -> Any:
    with Simulator(config("binance")) as running:
        yield running


def test_the_sdks_signature_is_accepted_and_every_flaw_refused(sim: Simulator) -> None:
    now = int(time.time() * 1000)
    assert raw(sim, "POST", signed(ORDER, now))[0] == 200
    bad_signature = (400, -1022, "Signature for this request is not valid.")
    cases = [
        (signed(ORDER, now, secret="other"), KEY, bad_signature),
        (signed(ORDER, now), "other-key",
         (401, -2015, "Invalid API-key, IP, or permissions for action.")),
        (signed(ORDER, now), None, (401, -2014, "API-key format invalid.")),
        (encoded_string(ORDER | {"timestamp": str(now)}), KEY,
         (400, -1102,
          "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")),
        (signed(ORDER, now - 6000), KEY,
         (400, -1021, "Timestamp for this request is outside of the recvWindow.")),
        (signed(ORDER, now + 5000), KEY,
         (400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")),
        # the signature is not the last parameter
        (signed(ORDER, now) + "&recvWindow=5000", KEY, bad_signature),
    ]  # fmt: skip
    for query, key, expected in cases:
        status, body = raw(sim, "POST", query, key)
        assert (status, body["code"], body["msg"]) == expected, query
    # A longer recvWindow, signed with the rest, lets the older timestamp through.
    assert raw(sim, "POST", signed(ORDER | {"recvWindow": "20000"}, now - 6000))[0] == 200
    assert len(control(sim, "binance", "state")["orders"]) == 2


def test_non_ascii_parameters_are_signed_percent_encoded(sim: Simulator) -> None:
    # binance-connector percent-encodes before signing: the signature holds, and the order is
    # refused for its client order id (-1100), not for its signature.
    assert error_of(spot(sim).new_order, **ORDER, newClientOrderId=NON_ASCII)[1] == -1100
    # Signed over the text before encoding (what Binance refuses since 2026-01-15): -1022.
    now = int(time.time() * 1000)
    params = ORDER | {"newClientOrderId": NON_ASCII, "timestamp": str(now)}
    unencoded = "&".join(f"{k}={v}" for k, v in params.items())
    query = f"{urlencode(params)}&signature={hmac_hashing(SECRET, unencoded)}"
    status, body = raw(sim, "POST", query)
    assert (status, body["code"]) == (400, -1022)


@pytest.mark.parametrize(
    ("perm", "permissions", "flags"),
    [
        ("read_only", {"read"}, (True, False, False, False)),
        ("read_only,trade", {"read", "trade"}, (True, True, True, False)),
        ("read_only,trade,withdraw", {"read", "trade", "withdraw"}, (True, True, True, True)),
    ],
)
def test_key_permissions_follow_the_config(
    perm: str, permissions: set[str], flags: tuple[bool, ...]
) -> None:
    with Simulator(config("binance", perm=perm), config("binanceusdm", perm=perm)) as sim:
        shown = spot(sim).api_key_permissions()
        names = (
            "enableReading",
            "enableSpotAndMarginTrading",
            "enableFutures",
            "enableWithdrawals",
        )
        assert tuple(shown[n] for n in names) == flags
        assert rest(sim).key_permissions() == permissions
        assert rest(sim, "binanceusdm").key_permissions() == permissions
        if "trade" not in permissions:
            assert error_of(spot(sim).new_order, **ORDER) == (
                401, -2015, "Invalid API-key, IP, or permissions for action.",
            )  # fmt: skip
            assert control(sim, "binance", "state")["orders"] == []
            # Reading needs no trade permission.
            assert error_of(spot(sim).get_order, "BTCUSDT", orderId=1)[1] == -2013


def test_an_ed25519_key_signs_instead_of_the_hmac_secret() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    with Simulator(config("binance", ed25519_public_key=public.decode())) as sim:
        endpoint = sim.endpoint("binance")
        sdk = Spot(api_key=KEY, private_key=pem, base_url=endpoint.base_url)
        assert sdk.new_order(**ORDER, newClientOrderId="ed-1")["status"] == "NEW"
        credentials = BinanceCredentials(api_key=SecretStr(KEY), private_key=SecretStr(pem))
        watcher = Binance("main", credentials, rest_url=endpoint.base_url).trading(timeout=5)
        found = watcher.order_by_client_id("BTCUSDT", "ed-1")
        assert found is not None
        assert found.state == "live"
        # The HMAC of the secret no longer signs for this key.
        assert error_of(spot(sim).new_order, **ORDER)[1:] == (
            -1022, "Signature for this request is not valid.",
        )  # fmt: skip
        other = Ed25519PrivateKey.generate()
        other_pem = other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        impostor = Spot(api_key=KEY, private_key=other_pem, base_url=endpoint.base_url)
        assert error_of(impostor.new_order, **ORDER)[1] == -1022


def test_injected_faults_answer_binance_5xx_bodies(sim: Simulator) -> None:
    control(sim, "binance", "fail", {"mode": "5xx", "count": 1, "path": "/api/v3/order"})
    with pytest.raises(ServerError) as info:
        spot(sim).new_order(**ORDER)
    assert info.value.status_code == 503
    assert json.loads(info.value.message) == {
        "code": -1001, "msg": "Internal error; unable to process your request. Please try again.",
    }  # fmt: skip
    # Carried out, then failed: the watcher's client cannot tell, and the order exists.
    control(sim, "binance", "fail", {"mode": "5xx", "count": 1, "status": 500, "execute": True})
    client = rest(sim)
    with pytest.raises(OutcomeUnknown):
        client.place_order("BTCUSDT", "buy", "limit", "0.01", "59000", client_order_id="f-1")
    found = client.order_by_client_id("BTCUSDT", "f-1")
    assert found is not None
    assert found.state == "live"
