# SPDX-License-Identifier: ISC
"""A small client for PROTOCOL.md layer 1 (relay frames), for the tests.

Standard library only. Frames are 10-byte headers, big-endian:
version u8, type u8, src u16, dst u16, len u32, then len payload bytes.

    import relay
    host, port = relay.wait_listening(os.environ["TMPDIR"] + "/relayd.log")
    a = relay.Client(host, port)
    me, others = a.join(relay.room_id("lobby"))
    a.send_data(relay.BCAST, b"opaque")
    ftype, src, dst, payload = a.recv()
"""

import hashlib
import os
import re
import select
import socket
import struct
import time

VERSION = 1
HDR = struct.Struct(">BBHHI")
HDR_LEN = HDR.size  # 10

JOIN, WELCOME, JOINED, LEFT, DATA, PING, PONG, ERROR = range(1, 9)
TYPE_NAMES = {JOIN: "JOIN", WELCOME: "WELCOME", JOINED: "JOINED", LEFT: "LEFT",
              DATA: "DATA", PING: "PING", PONG: "PONG", ERROR: "ERROR"}
NONE, BCAST = 0x0000, 0xFFFF
(FE_MALFORMED, FE_OVERSIZE, FE_ROOM_FULL, FE_SERVER_FULL, FE_TIMEOUT,
 FE_NOT_JOINED, FE_REJOIN, FE_SLOW, FE_SHUTDOWN) = range(1, 10)
MAX_FRAME_DEFAULT = 16384


class Closed(Exception):
    """The relay closed the connection (after `error`, if it sent one)."""

    def __init__(self, error=None):
        super().__init__("connection closed" +
                         ("" if error is None else " after ERROR %d" % error))
        self.error = error


class ProtocolError(Exception):
    """The relay sent something PROTOCOL.md does not allow."""


def room_id(name):
    """The 32-byte room id chatc uses: SHA-256 of the public room name."""
    return hashlib.sha256(name.encode()).digest()


def encode(ftype, src=NONE, dst=NONE, payload=b"", version=VERSION, length=None):
    """One frame. `length` and `version` can lie, for malformed-frame tests."""
    n = len(payload) if length is None else length
    return HDR.pack(version, ftype, src, dst, n) + payload


def wait_listening(logpath, timeout=10.0, proc=None):
    """Waits for relayd's 'listening on ADDR:PORT' line in its stderr log.

    Returns (host, port). Raises RuntimeError on timeout or if proc exits.
    """
    pat = re.compile(r"relayd: listening on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(logpath, "r", errors="replace") as f:
                m = pat.search(f.read())
            if m:
                return m.group(1).strip("[]"), int(m.group(2))
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("relayd exited with %d" % proc.returncode)
        time.sleep(0.02)
    raise RuntimeError("relayd did not report listening in %.0fs" % timeout)


class Client:
    """One connection to relayd. Every blocking call has a timeout."""

    def __init__(self, host, port, timeout=5.0, connect=True):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = bytearray()
        self.member = None
        if connect:
            self.connect()

    def connect(self):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sending ---------------------------------------------------------
    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, ftype, src=NONE, dst=NONE, payload=b""):
        self.send_raw(encode(ftype, src, dst, payload))

    def send_data(self, dst, payload):
        self.send(DATA, NONE, dst, payload)

    def ping(self):
        self.send(PING)

    # -- receiving -------------------------------------------------------
    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no frame from relayd in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise TimeoutError("no frame from relayd in time") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed()
        self.buf += chunk

    def take_ready(self):
        """Reads whatever the socket holds now, without waiting.

        Returns the number of bytes read (frames then come from recv with
        timeout 0). Raises Closed if the relay closed the connection.
        """
        got = 0
        # Non-blocking for real: with a timeout set, Python polls first.
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = self.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    return got
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    raise Closed()
                self.buf += chunk
                got += len(chunk)
        finally:
            self.sock.settimeout(self.timeout)

    def recv(self, timeout=None):
        """Next frame as (type, src, dst, payload); checks the header shape.

        Raises Closed when the relay closes (Closed.error = the ERROR code
        if that was the last frame), TimeoutError after `timeout` seconds.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < HDR_LEN:
            self._fill(deadline)
        ver, ftype, src, dst, n = HDR.unpack_from(self.buf)
        if ver != VERSION or ftype not in TYPE_NAMES or ftype in (JOIN, PING):
            raise ProtocolError("bad header %r" % bytes(self.buf[:HDR_LEN]))
        if n > 65536:
            raise ProtocolError("frame of %d bytes" % n)
        while len(self.buf) < HDR_LEN + n:
            self._fill(deadline)
        payload = bytes(self.buf[HDR_LEN:HDR_LEN + n])
        del self.buf[:HDR_LEN + n]
        return ftype, src, dst, payload

    def expect(self, ftype, timeout=None):
        """Receives one frame and checks its type. Returns (src, dst, payload)."""
        got = self.recv(timeout)
        if got[0] != ftype:
            raise ProtocolError("wanted %s, got %s %r" %
                                (TYPE_NAMES[ftype], TYPE_NAMES.get(got[0]), got[1:]))
        return got[1:]

    def expect_error(self, code, timeout=None):
        """Expects ERROR(code) and then the close. Frames before it are skipped."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            ftype, _, _, payload = self.recv(max(0.01, deadline - time.monotonic()))
            if ftype == ERROR:
                if payload != bytes([code]):
                    raise ProtocolError("wanted ERROR %d, got %r" % (code, payload))
                self.expect_closed(max(0.01, deadline - time.monotonic()))
                return

    def expect_closed(self, timeout=None):
        """Waits for the relay to close the connection, skipping frames."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            while True:
                self.recv(max(0.01, deadline - time.monotonic()))
        except Closed:
            return

    def closed_by_peer(self, timeout=0.0):
        """True if the relay has closed (pending frames are consumed)."""
        try:
            while True:
                r, _, _ = select.select([self.sock], [], [], timeout)
                if not r and not self.buf:
                    return False
                self.recv(max(timeout, 0.01))
        except Closed:
            return True
        except TimeoutError:
            return False

    # -- protocol steps ---------------------------------------------------
    def join(self, room, timeout=None):
        """Sends JOIN, waits for WELCOME. Returns (my id, [ids already there])."""
        self.send(JOIN, payload=room)
        src, dst, payload = self.expect(WELCOME, timeout)
        if src != NONE or len(payload) < 2:
            raise ProtocolError("bad WELCOME")
        (n,) = struct.unpack_from(">H", payload)
        if len(payload) != 2 + 2 * n:
            raise ProtocolError("WELCOME length")
        self.member = dst
        return dst, list(struct.unpack_from(">%dH" % n, payload, 2))


class Sequence:
    """Checks a stream of numbered DATA frames (u32 number first in the payload).

    feed(bytes) parses whole frames out of what a reader got and returns
    their number; non-DATA frames are kept in `others` as (type, src,
    payload). Raises ProtocolError on a frame out of sequence.
    """

    def __init__(self, src=None):
        self.buf = bytearray()
        self.next = 0
        self.src = src
        self.others = []

    def feed(self, data):
        self.buf += data
        buf, off, n, got = self.buf, 0, len(self.buf), 0
        unpack = HDR.unpack_from
        while n - off >= HDR_LEN:
            ver, ftype, src, _, ln = unpack(buf, off)
            if ver != VERSION or ln > 65536:
                raise ProtocolError("bad header at %d" % off)
            if n - off < HDR_LEN + ln:
                break
            if ftype == DATA and (self.src is None or src == self.src):
                (k,) = struct.unpack_from(">I", buf, off + HDR_LEN)
                if k != self.next:
                    raise ProtocolError("frame %d where %d was due" % (k, self.next))
                self.next += 1
                got += 1
            else:
                self.others.append((ftype, src, bytes(buf[off + HDR_LEN:off + HDR_LEN + ln])))
            off += HDR_LEN + ln
        del buf[:off]
        return got


def stream(host, port, room, count, size, dst=BCAST):
    """Convenience for benchmarks: one member sending `count` DATA frames."""
    with Client(host, port) as c:
        c.join(room)
        frame = encode(DATA, NONE, dst, os.urandom(size))
        c.send_raw(frame * count)
