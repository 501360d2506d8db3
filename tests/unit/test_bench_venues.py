"""The benchmark's frames of each venue are what that venue's parser reads: the market the rules
name, the path's price, and the timestamp the generator patches in at send time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench.loadgen import Load, build_frames, market_name, price_paths
from bench.venues import VENUES

SENT_AT = b"1767225600123"  # what the generator writes over each frame's timestamp
SPREAD = Decimal("0.1")  # the generator's bid and ask sit this far either side of the price


def payloads(buf: bytearray, ends: list[int]) -> list[bytes]:
    """The payloads of the generator's unmasked server text frames (all under 126 bytes or
    with a 16-bit length here)."""
    out, start = [], 0
    for end in ends:
        frame = bytes(buf[start:end])
        assert frame[0] == 0x81  # FIN, text
        out.append(frame[4:] if frame[1] == 126 else frame[2:])
        start = end
    return out


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_every_frame_parses_to_its_markets_price_at_the_patched_time(venue: str) -> None:
    load = Load(markets=3, phases=((1, 1.0),), steps=4, venue=venue)
    buf, ends, ts_at = build_frames(load)
    for offset in ts_at:
        buf[offset : offset + 13] = SENT_AT
    paths = price_paths(load)
    parse = VENUES[venue].parser()
    for n, raw in enumerate(payloads(buf, ends)):
        step, m = divmod(n, load.markets)
        (row,) = [r for r in parse(raw).ticks if r[1] == "last"]
        price = paths[m][step]
        assert row == (
            market_name(m, venue), "last", str(price), str(price - SPREAD), str(price + SPREAD),
            int(SENT_AT),
        )  # fmt: skip
