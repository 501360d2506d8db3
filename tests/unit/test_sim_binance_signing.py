"""The Binance simulator's own signature check accepts the documentation's signed examples (spot
and USD-M, ASCII and non-ASCII, query string or body) and binance-connector's, and refuses any
other text."""

from __future__ import annotations

import pytest
from binance.lib.authentication import hmac_hashing
from binance.lib.utils import encoded_string

from simulator import SimConfig
from simulator.binance.signing import check_signed, params_of, signed_payload

# rest-api.md "SIGNED Endpoint Examples for POST /api/v3/order" (spot) and the USD-M general
# info's example: (secret, totalParams, documented signature).
SPOT_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
SPOT_ORDER = "side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
DOCUMENTED = [
    (
        SPOT_SECRET,
        f"symbol=LTCBTC&{SPOT_ORDER}&timestamp=1499827319559",
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    ),
    (  # the non-ASCII symbol "１２３４５６", percent-encoded before signing  # noqa: RUF003
        SPOT_SECRET,
        "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&"
        f"{SPOT_ORDER}&timestamp=1499827319559",
        "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3",
    ),
    (
        "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
        "&recvWindow=5000&timestamp=1591702613943",
        "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9",
    ),
]


def _check(secret: str, query: str, body: str, now_ms: int) -> object:
    config = SimConfig(venue="binance", secret_key=secret)
    params = params_of(query, body)
    assert isinstance(params, dict)
    return check_signed(config, query, body, params, now_ms)


@pytest.mark.parametrize(("secret", "total", "signature"), DOCUMENTED)
def test_documented_examples_verify_in_the_query_or_the_body(
    secret: str, total: str, signature: str
) -> None:
    stamp = int(total.rsplit("timestamp=", 1)[1])
    signed = f"{total}&signature={signature}"
    assert _check(secret, signed, "", stamp) is None
    assert _check(secret, "", signed, stamp) is None
    assert _check(secret, f"{total}&signature={signature.upper()}", "", stamp) is None
    tampered = total.replace("quantity=1", "quantity=2") + f"&signature={signature}"
    refused = _check(secret, tampered, "", stamp)
    assert refused is not None
    assert getattr(refused, "code", None) == -1022


def test_a_query_and_a_body_sign_together_as_totalparams() -> None:
    # The documentation's mixed example: the query string and the body are concatenated as sent.
    query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    signature = hmac_hashing(SPOT_SECRET, query + body)
    assert signed_payload(query, f"{body}&signature={signature}") == query + body
    assert _check(SPOT_SECRET, query, f"{body}&signature={signature}", 1499827319559) is None


def test_binance_connectors_encoding_verifies() -> None:
    params = {"symbol": "BTCUSDT", "newClientOrderId": "a/b+c=d e&f@g", "timestamp": "1"}
    payload = encoded_string(params)
    query = f"{payload}&signature={hmac_hashing('s', payload)}"
    assert _check("s", query, "", 1) is None
