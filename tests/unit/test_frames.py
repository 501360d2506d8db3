"""FrameReader on crafted byte streams: RFC 6455's own examples, and frames built by websockets.

The frames under test are encoded by an independent implementation (the websockets library's
Frame.serialize) or copied from RFC 6455 section 5.7, never by the code under test.
"""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from websockets.frames import Frame, Opcode

from watcher.frames import FrameReader


def wire(opcode: Opcode, data: bytes, fin: bool = True, mask: bool = False) -> bytes:
    """One frame as websockets puts it on the wire (servers do not mask)."""
    return Frame(opcode, data, fin=fin).serialize(mask=mask)


def decode_all(reader: FrameReader, limit: int = 10_000) -> tuple[list[bytes], list[bytes]]:
    """Every message and ping payload the buffered bytes hold, over as many decode() calls."""
    messages: list[bytes] = []
    pings: list[bytes] = []
    while True:
        batch = reader.decode(limit)
        pings += reader.pings
        if not batch:
            return messages, pings
        messages += batch


# RFC 6455 section 5.7, verbatim.
RFC_HELLO = bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
RFC_FRAGMENTED = bytes([0x01, 0x03, 0x48, 0x65, 0x6C]) + bytes([0x80, 0x02, 0x6C, 0x6F])
RFC_PING = bytes([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
RFC_MASKED = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
RFC_256 = bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(range(256))
RFC_64K = bytes([0x82, 0x7F]) + struct.pack("!Q", 65536) + b"\xa5" * 65536


@pytest.mark.parametrize(
    ("raw", "messages", "pings"),
    [
        (RFC_HELLO, [b"Hello"], []),
        (RFC_FRAGMENTED, [b"Hello"], []),
        (RFC_PING, [], [b"Hello"]),
        (RFC_256, [bytes(range(256))], []),  # 16-bit length
        (RFC_64K, [b"\xa5" * 65536], []),  # 64-bit length
    ],
    ids=["text", "fragmented", "ping", "16-bit length", "64-bit length"],
)
def test_rfc_examples(raw: bytes, messages: list[bytes], pings: list[bytes]) -> None:
    reader = FrameReader()
    reader.feed(raw)
    assert decode_all(reader) == (messages, pings)
    assert not reader.ended


# A stream with every kind of frame: 7-, 16- and 64-bit lengths, text and binary, a message in
# three fragments with a ping and a pong between them, an empty message, and a ping at the end.
TICKER = b'{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"9999.99"}]}'
HEAD = b"".join(
    [
        wire(Opcode.TEXT, TICKER),
        wire(Opcode.BINARY, b"\x00\xff" * 200),  # 400 bytes: 16-bit length
        wire(Opcode.TEXT, b"frag-1:", fin=False),
        wire(Opcode.PING, b"hb-1"),
        wire(Opcode.CONT, b"frag-2:", fin=False),
        wire(Opcode.PONG, b"ignored"),
        wire(Opcode.CONT, b"frag-3", fin=True),
        wire(Opcode.TEXT, b""),
    ]
)
BIG = wire(Opcode.TEXT, b"x" * 70_000)  # 64-bit length
STREAM = HEAD + BIG + wire(Opcode.PING, b"")
EXPECTED = [TICKER, b"\x00\xff" * 200, b"frag-1:frag-2:frag-3", b"", b"x" * 70_000]
EXPECTED_PINGS = [b"hb-1", b""]
# Every byte boundary, but inside the big payload only every 997th (they are all alike there).
CUTS = [
    *range(1, len(HEAD) + 11),
    *range(len(HEAD) + 11, len(HEAD) + len(BIG), 997),
    *range(len(HEAD) + len(BIG) - 2, len(STREAM)),
]


def test_the_whole_stream_at_once() -> None:
    reader = FrameReader()
    reader.feed(STREAM)
    assert decode_all(reader) == (EXPECTED, EXPECTED_PINGS)
    assert not reader.ready()


@pytest.mark.parametrize("read_size", [16_384, 1 << 20])  # the big frame outgrows the first
def test_split_at_every_byte_boundary(read_size: int) -> None:
    for cut in CUTS:
        reader = FrameReader(read_size)
        reader.feed(STREAM[:cut])
        first, first_pings = decode_all(reader)
        assert first == EXPECTED[: len(first)], cut  # only whole messages, in order
        reader.feed(STREAM[cut:])
        rest, rest_pings = decode_all(reader)
        assert (first + rest, first_pings + rest_pings) == (EXPECTED, EXPECTED_PINGS), cut


def test_one_byte_at_a_time() -> None:
    reader = FrameReader(16_384)
    messages: list[bytes] = []
    pings: list[bytes] = []
    for i in range(len(STREAM)):
        reader.feed(STREAM[i : i + 1])  # the reader compacts and grows its buffer as it goes
        got, got_pings = decode_all(reader)
        messages += got
        pings += got_pings
    assert (messages, pings) == (EXPECTED, EXPECTED_PINGS)


def test_decode_stops_at_the_limit_and_ready_tells_what_is_left() -> None:
    reader = FrameReader()
    assert not reader.ready()
    reader.feed(b"".join(wire(Opcode.TEXT, b"%d" % i) for i in range(5)) + RFC_HELLO[:3])
    assert reader.ready()
    assert reader.decode(2) == [b"0", b"1"]
    assert reader.decode(2) == [b"2", b"3"]
    assert reader.ready()
    assert reader.decode(2) == [b"4"]
    assert not reader.ready()  # only part of the next frame is there
    reader.feed(RFC_HELLO[3:])
    assert reader.ready()
    assert reader.decode(2) == [b"Hello"]


def test_close_ends_decoding_after_what_came_before() -> None:
    reader = FrameReader()
    close = wire(Opcode.CLOSE, struct.pack("!H", 1001) + b"going away")
    reader.feed(RFC_HELLO + close + RFC_HELLO)
    assert reader.decode(10) == [b"Hello"]
    assert reader.close == b"\x03\xe9going away"
    assert reader.ended
    assert not reader.ready()
    assert reader.decode(10) == []  # nothing after a close frame counts


def test_a_close_without_a_code() -> None:
    reader = FrameReader()
    reader.feed(wire(Opcode.CLOSE, b""))
    assert reader.decode(10) == []
    assert reader.close == b""


def test_a_masked_server_frame_is_refused() -> None:
    reader = FrameReader()
    reader.feed(RFC_HELLO + RFC_MASKED + RFC_HELLO)
    assert reader.decode(10) == [b"Hello"]
    assert reader.error == "the server masked a frame"
    assert reader.ended
    assert reader.decode(10) == []


VIOLATIONS: list[tuple[str, bytes, str]] = [
    ("masked", wire(Opcode.TEXT, b"abc", mask=True), "masked"),
    ("reserved bit", bytes([0xC1, 0x03]) + b"abc", "reserved bits"),  # FIN, RSV1, text
    ("unknown data opcode", bytes([0x83, 0x00]), "unknown opcode 0x3"),
    ("unknown control opcode", bytes([0x8B, 0x00]), "unknown opcode 0xb"),
    ("lone continuation", wire(Opcode.CONT, b"abc"), "continuation frame outside"),
    (
        "text inside a fragmented message",
        wire(Opcode.TEXT, b"a", fin=False) + wire(Opcode.TEXT, b"b"),
        "new message inside",
    ),
    ("fragmented ping", bytes([0x09, 0x00]), "fragmented control frame"),
    ("long ping", bytes([0x89, 0x7E, 0x00, 0x7E]) + b"p" * 126, "control frame over 125"),
    ("1-byte close", bytes([0x88, 0x01, 0x03]), "1-byte payload"),
    ("64-bit top bit", bytes([0x81, 0x7F, 0x80]) + bytes(7), "top bit"),
]


@pytest.mark.parametrize(("case", "raw", "error"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_protocol_violations_end_the_stream(case: str, raw: bytes, error: str) -> None:
    reader = FrameReader()
    reader.feed(RFC_HELLO + raw + RFC_HELLO)
    assert decode_all(reader)[0] == [b"Hello"]
    assert reader.error is not None
    assert error in reader.error
    assert reader.close is None


def test_a_frame_over_the_limit_is_refused_from_its_header() -> None:
    reader = FrameReader(max_message=100_000)
    header = bytes([0x82, 0x7F]) + struct.pack("!Q", 100_001)
    reader.feed(header)  # refused before a byte of the payload is awaited
    assert reader.decode(10) == []
    assert reader.error == "a 100001-byte frame (the limit is 100000)"


def test_a_fragmented_message_over_the_limit_is_refused() -> None:
    reader = FrameReader(max_message=100_000)
    reader.feed(wire(Opcode.BINARY, b"a" * 60_000, fin=False))
    reader.feed(wire(Opcode.CONT, b"b" * 60_000, fin=True))
    assert reader.decode(10) == []
    assert reader.error == "a message over 100000 bytes"


def test_reads_from_a_socket_a_batch_per_read_and_grows_for_a_big_frame() -> None:
    reader = FrameReader(read_size=16_384)
    big = b"y" * 100_000
    client, server = socket.socketpair()
    with client, server:
        server.sendall(RFC_HELLO * 3)
        assert reader.read(client) == 21
        assert reader.decode(10) == [b"Hello"] * 3

        # A frame six times the buffer: it arrives over several reads, into a grown buffer.
        sender = threading.Thread(target=server.sendall, args=(wire(Opcode.BINARY, big),))
        sender.start()
        got: list[bytes] = []
        while not got:
            assert reader.read(client) > 0
            got = reader.decode(10)
        sender.join()
        assert got == [big]

        server.sendall(RFC_HELLO)
        assert reader.read(client) == len(RFC_HELLO)
        assert reader.decode(10) == [b"Hello"]
        assert reader.room == 16_384 - len(RFC_HELLO)  # back to its size once the frame went
        server.shutdown(socket.SHUT_WR)
        assert reader.read(client) == 0  # the peer closed
