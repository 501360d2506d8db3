"""Binance signatures equal binance-connector's and the documentation's; keys never show."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
import pytest
from binance.api import API
from binance.lib.authentication import ed25519_signature as sdk_ed25519
from binance.lib.authentication import hmac_hashing
from binance.lib.utils import encoded_string
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from pydantic import ValidationError

from watcher.errors import ConfigError
from watcher.venues.binance import Binance, BinanceCredentials, BinanceRest, Signer, query_string
from watcher.venues.binance.auth import hmac_signature, load_ed25519_key

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
# The documentation's example key (rest-api.md, "SIGNED Endpoint Examples").
DOC_API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_ORDER = {
    "symbol": "LTCBTC",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "1",
    "price": "0.1",
}
DOC_TIMESTAMP = 1499827319559
HMAC = BinanceCredentials(api_key=DOC_API_KEY, secret_key=DOC_SECRET)
NON_ASCII = "１２３４５６"  # the documentation's non-ASCII symbol  # noqa: RUF001


def ed25519_pem(passphrase: bytes | None = None) -> str:
    """A fresh Ed25519 private key, PEM (PKCS#8), as Binance asks users to make one."""
    key = Ed25519PrivateKey.generate()
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption).decode()


DOC_VECTORS = [
    # (symbol, the documented payload's signature): rest-api.md "SIGNED Endpoint Examples"
    ("LTCBTC", "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"),
    (NON_ASCII, "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"),
]


@pytest.mark.parametrize(("symbol", "documented"), DOC_VECTORS)
def test_signed_query_reproduces_the_documented_signature(symbol: str, documented: str) -> None:
    query = Signer(HMAC).signed_query(DOC_ORDER | {"symbol": symbol}, DOC_TIMESTAMP, 5000)
    payload, _, signature = query.rpartition("&signature=")
    assert signature == documented
    assert payload == encoded_string(DOC_ORDER | {"symbol": symbol} | TIMING)
    assert hmac_hashing(DOC_SECRET, payload) == documented


TIMING = {"recvWindow": "5000", "timestamp": str(DOC_TIMESTAMP)}

QUERIES = [
    DOC_ORDER,
    DOC_ORDER | {"symbol": NON_ASCII},
    {"symbol": "BTCUSDT", "newClientOrderId": "a/b+c=d e&f"},
    {"symbol": "ÉTHÜSD", "listenKey": "x" * 60},
    {},
]


@pytest.mark.parametrize("params", QUERIES)
def test_query_and_signatures_equal_binance_connectors(params: dict[str, str]) -> None:
    sdk = API(DOC_API_KEY, DOC_SECRET)
    payload = query_string(params | TIMING)
    assert payload == sdk._prepare_params(params | TIMING)
    assert Signer(HMAC).sign(payload) == sdk._get_sign(payload)
    assert hmac_signature(DOC_SECRET, payload) == hmac_hashing(DOC_SECRET, payload)


def test_an_at_sign_is_percent_encoded_unlike_the_legacy_connector() -> None:
    # binance-connector 3.x turns %40 back into @; Binance now asks for a percent-encoded
    # payload, and signs what it receives: we send and sign %40.
    assert query_string({"email": "a@b.c"}) == "email=a%40b.c"
    assert encoded_string({"email": "a@b.c"}) == "email=a@b.c"


@pytest.mark.parametrize("params", QUERIES)
def test_ed25519_signatures_equal_binance_connectors(params: dict[str, str]) -> None:
    pem = ed25519_pem()
    payload = query_string(params | TIMING)
    ours = Signer(BinanceCredentials(api_key="k", private_key=pem)).sign(payload)
    assert ours == sdk_ed25519(pem, payload).decode()
    assert ours == API("k", private_key=pem)._get_sign(payload).decode()
    public = load_ed25519_key(pem).public_key()
    public.verify(base64.b64decode(ours), payload.encode())  # raises if it does not verify


def test_an_ed25519_signature_is_percent_encoded_last_in_the_query() -> None:
    pem = ed25519_pem()
    signer = Signer(BinanceCredentials(api_key="k", private_key=pem))
    query = signer.signed_query({"symbol": NON_ASCII}, DOC_TIMESTAMP, 60_000)
    pairs = parse_qsl(query, strict_parsing=True)
    assert [name for name, _ in pairs] == ["symbol", "recvWindow", "timestamp", "signature"]
    payload = query.rpartition("&signature=")[0]
    assert dict(pairs)["signature"] == signer.sign(payload)
    assert "+" not in query.rpartition("&signature=")[2]  # base64's + / = are escaped


def test_an_encrypted_ed25519_key_loads_with_its_passphrase() -> None:
    pem = ed25519_pem(b"pass-phrase-7")
    creds = BinanceCredentials(api_key="k", private_key=pem, private_key_passphrase="pass-phrase-7")
    assert repr(Signer(creds)) == "Signer(ed25519)"
    with pytest.raises(ConfigError, match="not a readable PEM"):
        Signer(BinanceCredentials(api_key="k", private_key=pem, private_key_passphrase="wrong"))


def test_the_documented_websocket_api_signature() -> None:
    # WebSocket API signed requests sign their params sorted by name, signature excluded.
    request = orjson.loads(
        (DATA / "binance_spot_wsapi_order_place_signed_request.json").read_bytes()
    )
    params = {k: str(v) for k, v in request["params"].items() if k != "signature"}
    payload = query_string(dict(sorted(params.items())))
    assert hmac_signature(DOC_SECRET, payload) == request["params"]["signature"]


def test_keys_other_than_ed25519_are_refused_without_echo() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    for bad in (pem, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"):
        with pytest.raises(ConfigError) as caught:
            Signer(BinanceCredentials(api_key="k", private_key=bad))
        assert bad.splitlines()[1] not in str(caught.value)


def test_credentials_need_exactly_one_way_to_sign() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        BinanceCredentials(api_key="k")
    with pytest.raises(ValidationError, match="exactly one"):
        BinanceCredentials(api_key="k", secret_key="s", private_key=ed25519_pem())


def test_recv_window_is_bounded() -> None:
    with pytest.raises(ConfigError, match="recvWindow"):
        BinanceRest(HMAC, "http://127.0.0.1:1", recv_window=60_001)
    with pytest.raises(ConfigError, match="http"):
        BinanceRest(HMAC, "ftp://127.0.0.1:1")


def test_credentials_never_show() -> None:
    pem = ed25519_pem()
    ed = BinanceCredentials(api_key="edkey-5d4c3b2a", private_key=pem)
    venue = Binance("main", HMAC)
    texts = [repr(HMAC), str(HMAC), HMAC.model_dump_json(), repr(ed), ed.model_dump_json()]
    texts += [repr(venue), repr(venue.trading()), repr(Signer(HMAC)), repr(venue.listen_keys)]
    texts += [repr(Binance("main", ed).trading()), repr(Signer(ed))]
    for text in texts:
        for secret in (DOC_API_KEY, DOC_SECRET, "edkey-5d4c3b2a", pem.splitlines()[1]):
            assert secret not in text
