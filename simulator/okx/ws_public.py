"""The public feed /ws/v5/public: tickers and mark-price by instId, index-tickers by index."""

from __future__ import annotations

from simulator.connection import Client
from simulator.okx import frames
from simulator.okx.push import PUBLIC_CHANNELS, index_market, push_frame, ticker_item
from simulator.okx.ws_ops import channel_arg, invalid, parse_op, wrong_channel
from simulator.venue import Venue


async def on_public_text(venue: Venue, client: Client, raw: str) -> None:
    """Answers one text frame of a public connection."""
    req = parse_op(raw)
    if req is None or req.op not in ("subscribe", "unsubscribe"):
        await client.send(invalid(raw, client.conn_id, req.req_id if req else None))
        return
    for given in req.args:
        arg = channel_arg(given)
        if arg is None:
            await client.send(invalid(raw, client.conn_id, req.req_id))
            continue
        inst_id = arg.get("instId", "")
        # index-tickers is subscribed by index (BTC-USDT): it follows one market's price.
        source = (
            index_market(venue.exchange.markets, inst_id)
            if arg["channel"] == "index-tickers"
            else inst_id
        )
        if (
            arg["channel"] not in PUBLIC_CHANNELS
            or source is None
            or source not in venue.exchange.markets
        ):
            await client.send(wrong_channel(arg, client.conn_id, req.req_id))
            continue
        await client.send(frames.event(req.op, client.conn_id, req.req_id, arg=arg))
        if req.op == "unsubscribe":
            client.unsubscribe(arg)
            continue
        client.subscribe(arg)
        # A new subscriber learns the current price at once, as OKX's first push tells it.
        item = ticker_item(arg["channel"], venue.exchange.ticker(source))
        await client.send(push_frame(arg, venue.config.uid, [item], "snapshot"))
