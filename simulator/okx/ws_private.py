"""The private feed /ws/v5/private: login, then orders, positions, account and
liquidation-warning (accepted; its warnings come only by /sim/inject)."""

from __future__ import annotations

import time

from simulator.connection import Client
from simulator.okx import frames
from simulator.okx.orders import position_inst_type
from simulator.okx.push import inst_matches, private_item, push_frame
from simulator.okx.signing import check_login
from simulator.okx.ws_ops import OpRequest, channel_arg, invalid, parse_op, wrong_channel
from simulator.venue import Venue

ORDER_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"})
POSITION_INST_TYPES = frozenset({"MARGIN", "SWAP", "FUTURES", "OPTION", "ANY"})


async def on_private_text(venue: Venue, client: Client, raw: str) -> None:
    """Answers one text frame of a private connection."""
    req = parse_op(raw)
    if req is None or req.op not in ("login", "subscribe", "unsubscribe"):
        await client.send(invalid(raw, client.conn_id, req.req_id if req else None))
    elif req.op == "login":
        await _login(venue, client, req, raw)
    elif not client.logged_in:
        await client.send(frames.error("60011", "Please log in", client.conn_id, req.req_id))
    else:
        await _subscribe(venue, client, req, raw)


async def _login(venue: Venue, client: Client, req: OpRequest, raw: str) -> None:
    if len(req.args) != 1:
        await client.send(invalid(raw, client.conn_id, req.req_id))
        return
    refused = check_login(venue.config, req.args[0], time.time())
    if refused is not None:
        await client.send(frames.error(refused.code, refused.msg, client.conn_id, req.req_id))
        return
    client.logged_in = True
    await client.send(frames.event("login", client.conn_id, req.req_id, code="0", msg=""))


def _acceptable(arg: dict[str, str]) -> bool | None:
    """Tells whether a private arg is served (None: a known channel with bad params)."""
    channel, kind = arg["channel"], arg.get("instType")
    if channel == "orders":
        return kind in ORDER_INST_TYPES or None
    if channel in ("positions", "liquidation-warning"):
        return kind in POSITION_INST_TYPES or None
    return channel == "account"


async def _subscribe(venue: Venue, client: Client, req: OpRequest, raw: str) -> None:
    for given in req.args:
        arg = channel_arg(given)
        verdict = None if arg is None else _acceptable(arg)
        if arg is None or verdict is None:
            await client.send(invalid(raw, client.conn_id, req.req_id))
            continue
        if not verdict:
            await client.send(wrong_channel(arg, client.conn_id, req.req_id))
            continue
        await client.send(frames.event(req.op, client.conn_id, req.req_id, arg=arg))
        if req.op == "unsubscribe":
            client.unsubscribe(arg)
            continue
        client.subscribe(arg)
        # positions and account open with a snapshot; orders has none (as on OKX).
        if arg["channel"] == "positions":
            data = [
                private_item(p)
                for p in venue.exchange.positions()
                if inst_matches(arg, position_inst_type(p.instrument), p.market)
            ]
        elif arg["channel"] == "account":
            data = [private_item(venue.exchange.balance())]
        else:
            continue
        await client.send(push_frame(arg, venue.config.uid, data, "snapshot"))
