"""RFC 6455 frames as a client receives them, decoded in batches straight from the socket's bytes.

websocket-client connects, upgrades, sends and closes; reading is ours, because its recv() costs
tens of microseconds per small frame. FrameReader reads into one large buffer (recv_into, no
per-frame copy of the stream) and slices out every complete frame in it: one socket read gives
a batch. It handles 7-, 16- and 64-bit lengths, fragmented messages (with control frames between
the fragments), ping, pong and close, and refuses what a server must not send (masked frames,
reserved bits without an extension, unknown opcodes, oversized or fragmented control frames).
UTF-8 is not checked here: the venue's JSON decoder validates text as it decodes it, and a frame
it refuses is a malformed frame. https://www.rfc-editor.org/rfc/rfc6455#section-5
"""

from __future__ import annotations

from typing import Protocol

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_FIN = 0x80
_RSV = 0x70
_MASK = 0x80
# First bytes of a whole unfragmented text or binary frame: the case the hot loop handles inline.
_WHOLE_DATA = frozenset({_FIN | OP_TEXT, _FIN | OP_BINARY})
_MIN_READ = 16_384  # never offer the socket less room than this


class Readable(Protocol):
    """A socket, or anything that reads into a buffer like one (socket and SSLSocket do)."""

    def recv_into(self, buffer: memoryview, /) -> int:
        """Read up to len(buffer) bytes into `buffer`; return how many (0: the peer closed)."""


class FrameReader:
    """Decodes the frames a WebSocket server sends on one connection, a batch per read."""

    def __init__(self, read_size: int = 1 << 20, max_message: int = 1 << 24) -> None:
        self.read_size = max(read_size, _MIN_READ)
        self.max_message = max(max_message, 0xFFFF)  # a 16-bit length never needs checking
        self.pings: list[bytes] = []  # payloads of the pings the last decode() met: answer them
        self.close: bytes | None = None  # the close frame's payload, once one came
        self.error: str | None = None  # why the server's bytes are not RFC 6455, once they were not
        self._buf = bytearray(self.read_size)
        self._view = memoryview(self._buf)
        self._start = 0  # the first byte not decoded yet
        self._end = 0  # the end of the bytes read
        self._need = 0  # the size of the frame waiting for more bytes at _start
        self._opcode = 0  # opcode of the fragmented message in progress, 0 if none
        self._parts: list[bytes] = []
        self._size = 0

    @property
    def ended(self) -> bool:
        """Whether a close frame or a protocol error ended the stream: nothing more is decoded."""
        return self.close is not None or self.error is not None

    @property
    def room(self) -> int:
        """How many more bytes the buffer takes before decode() must make room."""
        return len(self._buf) - self._end

    def read(self, sock: Readable) -> int:
        """Read once from `sock` into the buffer; return the byte count (0: the peer closed)."""
        self._make_room()
        count = sock.recv_into(self._view[self._end :])
        self._end += count
        return count

    def feed(self, data: bytes) -> None:
        """Append bytes received some other way (tests, or bytes read ahead by someone else)."""
        while len(self._buf) - self._end < len(data):
            self._make_room(len(data))
        self._buf[self._end : self._end + len(data)] = data
        self._end += len(data)

    def ready(self) -> bool:
        """Whether a whole frame is already buffered, so decode() has work without a read."""
        if self.ended:
            return False
        if self._end - self._start < 2:
            return False
        try:
            length, head = self._length(self._start)
        except _Violation:
            return True  # decode() meets it and reports it
        return head >= 0 and head + length <= self._end

    def decode(self, limit: int) -> list[bytes]:
        """Return the payloads of up to `limit` whole text or binary messages, in order.

        Control frames met on the way are handled here: pings are kept in `pings` (to answer
        with pongs), pongs are dropped, a close frame stops decoding and sets `close`. A frame
        that breaks RFC 6455 stops decoding and sets `error`; what came before it is returned.
        """
        self.pings = []
        self._need = 0
        messages: list[bytes] = []
        if self.ended:
            return messages
        buf, view, end = self._buf, self._view, self._end
        pos = self._start
        try:
            while len(messages) < limit and end - pos >= 2:
                b0, length = buf[pos], buf[pos + 1]
                if length & _MASK:
                    raise _Violation("the server masked a frame")
                if length < 126:
                    head = pos + 2
                elif length == 126:  # inline: most ticker frames are 126..65535 bytes long
                    head = pos + 4
                    if head > end:
                        break
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                else:
                    length, head = self._length(pos)
                    if head < 0:
                        break
                stop = head + length
                if stop > end:
                    self._need = stop - pos
                    break
                pos = stop
                if b0 in _WHOLE_DATA and not self._opcode:
                    messages.append(view[head:stop].tobytes())
                    continue
                message = self._other(b0, view[head:stop])
                if message is not None:
                    messages.append(message)
                if self.close is not None:
                    break
        except _Violation as exc:
            self.error = str(exc)
        self._start = pos
        return messages

    def _length(self, pos: int) -> tuple[int, int]:
        """Return (payload length, payload start) of the frame at `pos`; start -1 if unknown yet."""
        buf = self._buf
        length = buf[pos + 1] & 0x7F
        if buf[pos + 1] & _MASK:
            raise _Violation("the server masked a frame")
        if length < 126:
            return length, pos + 2
        if length == 126:
            if self._end - pos < 4:
                return 0, -1
            length, head = (buf[pos + 2] << 8) | buf[pos + 3], pos + 4
        else:
            if self._end - pos < 10:
                return 0, -1
            length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if length >> 63:
                raise _Violation("a 64-bit length with its top bit set")
        if length > self.max_message:
            raise _Violation(f"a {length}-byte frame (the limit is {self.max_message})")
        return length, head

    def _other(self, b0: int, payload: memoryview) -> bytes | None:
        """Handle every frame but a whole text or binary one; return a completed message."""
        if b0 & _RSV:
            raise _Violation("reserved bits set, and no extension was negotiated")
        fin, opcode = b0 & _FIN, b0 & 0x0F
        if opcode >= OP_CLOSE:
            self._control(fin, opcode, payload)
            return None
        if opcode == OP_CONTINUATION:
            if not self._opcode:
                raise _Violation("a continuation frame outside a fragmented message")
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._opcode:
                raise _Violation("a new message inside a fragmented one")
            if fin:
                return payload.tobytes()
            self._opcode = opcode
        else:
            raise _Violation(f"unknown opcode {opcode:#x}")
        self._size += len(payload)
        if self._size > self.max_message:
            raise _Violation(f"a message over {self.max_message} bytes")
        self._parts.append(payload.tobytes())
        if not fin:
            return None
        message = b"".join(self._parts)
        self._opcode, self._parts, self._size = 0, [], 0
        return message

    def _control(self, fin: int, opcode: int, payload: memoryview) -> None:
        if not fin:
            raise _Violation("a fragmented control frame")
        if len(payload) > 125:
            raise _Violation("a control frame over 125 bytes")
        if opcode == OP_PING:
            self.pings.append(payload.tobytes())
        elif opcode == OP_CLOSE:
            if len(payload) == 1:
                raise _Violation("a close frame with a 1-byte payload")
            self.close = payload.tobytes()
        elif opcode != OP_PONG:
            raise _Violation(f"unknown opcode {opcode:#x}")

    def _make_room(self, extra: int = 0) -> None:
        """Move the undecoded bytes to the front; grow for a frame bigger than the buffer."""
        start, end = self._start, self._end
        keep = end - start
        need = max(self._need if keep else 0, keep + extra, keep + _MIN_READ, self.read_size)
        if need > len(self._buf) or (not keep and len(self._buf) > self.read_size):
            buf = bytearray(need)  # a bigger frame than ever, or back to size after one
            buf[:keep] = self._buf[start:end]
            self._view.release()
            self._buf, self._view = buf, memoryview(buf)
        elif start:
            self._buf[:keep] = self._buf[start:end]
        self._start, self._end = 0, keep
        if not keep:
            self._need = 0


class _Violation(Exception):
    """The server broke RFC 6455; the text says how."""
