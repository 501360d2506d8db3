"""The simulator over TLS: https:// and wss:// with a CA made at start, trusted by the client
alone; websocket-client and python-okx's own WebSocket client (which insists on wss) connect."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from okx.websocket.WsPublicAsync import WsPublicAsync
from okx.websocket.WsUtils import initLoginParams

from simulator import Simulator
from tests.integration.sim_client import KEY, PASSPHRASE, SECRET, _config, _control

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def tls_sim() -> Iterator[Simulator]:
    """A simulator also serving https:// and wss://."""
    with Simulator(_config(tls=True)) as running:
        yield running


def _trusting(sim: Simulator) -> ssl.SSLContext:
    assert sim.certificates is not None
    return sim.certificates.client_context()


def test_websocket_client_subscribes_and_logs_in_over_wss(tls_sim: Simulator) -> None:
    endpoint = tls_sim.endpoint()
    assert endpoint.tls_port not in (0, endpoint.port)
    public = websocket.create_connection(
        endpoint.wss_url("public"), timeout=5, sslopt={"context": _trusting(tls_sim)}
    )
    private = websocket.create_connection(
        endpoint.wss_url("private"), timeout=5, sslopt={"context": _trusting(tls_sim)}
    )
    try:
        public.send(
            json.dumps({"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
        )
        assert json.loads(public.recv())["event"] == "subscribe"
        assert json.loads(public.recv())["data"][0]["last"] == "60000"
        _control(tls_sim, "price", {"instId": "BTC-USDT", "price": "60001.5"})
        assert json.loads(public.recv())["data"][0]["last"] == "60001.5"
        private.send(initLoginParams(False, KEY, PASSPHRASE, SECRET))
        assert json.loads(private.recv())["code"] == "0"
    finally:
        public.close()
        private.close()


def test_https_answers_and_an_untrusting_client_is_refused(tls_sim: Simulator) -> None:
    endpoint = tls_sim.endpoint()
    url = endpoint.https_url + "/api/v5/public/time"
    with urllib.request.urlopen(url, timeout=5, context=_trusting(tls_sim)) as response:
        assert json.loads(response.read())["code"] == "0"
    with pytest.raises(ssl.SSLCertVerificationError):
        websocket.create_connection(endpoint.wss_url("public"), timeout=5)


async def _first_ticker(url: str) -> dict[str, object]:
    frames: list[str] = []
    pushed = asyncio.Event()

    def received(frame: str) -> None:
        frames.append(frame)
        if '"data"' in frame:
            pushed.set()

    client = WsPublicAsync(url)
    await client.connect()
    consumer = asyncio.create_task(client.consume())
    try:
        await client.subscribe([{"channel": "tickers", "instId": "BTC-USDT"}], received)
        await asyncio.wait_for(pushed.wait(), 10)
    finally:
        consumer.cancel()
        await client.websocket.close()
    ticker: dict[str, object] = next(json.loads(f) for f in frames if '"data"' in f)
    return ticker


def test_python_okx_websocket_client_reads_a_ticker_over_wss(
    tls_sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_sim.certificates is not None
    # python-okx verifies against the default store plus certifi; the default store follows
    # SSL_CERT_FILE, which names the simulator's CA here.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_sim.certificates.write_ca(tmp_path / "ca.pem")))
    pushed = asyncio.run(_first_ticker(tls_sim.endpoint().wss_url("public")))
    assert pushed["arg"] == {"channel": "tickers", "instId": "BTC-USDT"}
    assert pushed["data"][0]["last"] == "60000"  # type: ignore[index]


def test_a_plain_simulator_has_no_tls_urls(sim: Simulator) -> None:
    assert sim.certificates is None
    with pytest.raises(RuntimeError, match="serves no TLS"):
        sim.endpoint().wss_url("public")
