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

The link (PROTOCOL.md 1.0): TLS 1.3 when the environment names the relay's
key fingerprint in RELAY_FP (what `relayd --fingerprint --key FILE` prints;
the client checks the relay presents that key and fails otherwise), plain TCP
when RELAY_FP is unset or empty (a relayd --plaintext). Client(tls=...)
overrides: False for plain TCP, a fingerprint to pin, True for TLS without
checking the key. Over TLS a relay over a cap refuses with a fatal alert
before the handshake; Client records that as ERROR SERVER_FULL, which is
what it means (expect_error(FE_SERVER_FULL) passes).
"""

import base64
import hashlib
import os
import re
import select
import socket
import ssl
import struct
import sys
import time

VERSION = 1
HDR = struct.Struct(">BBHHI")
HDR_LEN = HDR.size  # 10

JOIN, WELCOME, JOINED, LEFT, DATA, PING, PONG, ERROR = range(1, 9)
TYPE_NAMES = {JOIN: "JOIN", WELCOME: "WELCOME", JOINED: "JOINED", LEFT: "LEFT",
              DATA: "DATA", PING: "PING", PONG: "PONG", ERROR: "ERROR"}
NONE, BCAST = 0x0000, 0xFFFF
(FE_MALFORMED, FE_OVERSIZE, FE_ROOM_FULL, FE_SERVER_FULL, FE_TIMEOUT,
 FE_NOT_JOINED, FE_REJOIN, FE_SLOW, FE_SHUTDOWN, FE_UNAVAILABLE) = range(1, 11)
MAX_FRAME_DEFAULT = 16384


class Closed(Exception):
    """The relay closed the connection (after `error`, if it sent one)."""

    def __init__(self, error=None):
        super().__init__("connection closed" +
                         ("" if error is None else " after ERROR %d" % error))
        self.error = error


class ProtocolError(Exception):
    """The relay sent something PROTOCOL.md does not allow."""


class KeyMismatch(Exception):
    """Over TLS, the relay presented another key than the one pinned."""


ALPN = "veil/1"


def _der_item(b, off):
    """(tag, content offset, content length) of the DER item at off."""
    tag, ln = b[off], b[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        if n == 0 or n > 4:
            raise ProtocolError("DER length of %d bytes" % n)
        ln = int.from_bytes(b[off:off + n], "big")
        off += n
    if off + ln > len(b):
        raise ProtocolError("DER item runs past the end")
    return tag, off, ln


def spki_of_cert(der):
    """The DER SubjectPublicKeyInfo of an X.509 certificate (DER)."""
    _, off, _ = _der_item(der, 0)          # Certificate
    _, off, _ = _der_item(der, off)        # tbsCertificate: walk its fields
    tag, c, ln = _der_item(der, off)
    if tag == 0xA0:                        # [0] version
        off = c + ln
    # serial, signature, issuer, validity, subject, then the key
    for _ in range(5):
        _, c, ln = _der_item(der, off)
        off = c + ln
    _, c, ln = _der_item(der, off)
    return der[off:c + ln]


def fingerprint_of_spki(spki):
    """PROTOCOL.md 1.0: "SHA256:" + base64 (no padding) of SHA-256(SPKI)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode().rstrip("=")


def tls_context():
    """A TLS 1.3 client context as chatc's, without certificate checks
    (the key is checked against the pin instead)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols([ALPN])
    return ctx


def default_tls():
    """The link the environment asks for: RELAY_FP's fingerprint, or None (plain TCP)."""
    return os.environ.get("RELAY_FP") or None


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

    def __init__(self, host, port, timeout=5.0, connect=True, tls=None):
        self.host, self.port, self.timeout = host, port, timeout
        self.tls = default_tls() if tls is None else tls
        self.sock = None
        self.buf = bytearray()
        self.member = None
        self.refused = None         # FE_SERVER_FULL once refused before TLS
        self.fingerprint = None     # the relay's, over TLS
        if connect:
            self.connect()

    def connect(self, sock=None):
        """Connects (sock: an unconnected socket to use, options already set)
        and, over TLS, runs the handshake and checks the relay's key."""
        if sock is None:
            fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock = sock
        self.sock.settimeout(self.timeout)
        self.sock.connect((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls:
            self._handshake()
        return self

    def _handshake(self):
        raw = self.sock
        self.sock = tls_context().wrap_socket(raw, do_handshake_on_connect=False)
        try:
            self.sock.do_handshake()
        except ssl.SSLError as e:
            # relayd over a cap: a fatal internal_error alert, in the clear.
            if "INTERNAL_ERROR" in str(e):
                self.refused = FE_SERVER_FULL
                return
            raise
        except (ConnectionResetError, BrokenPipeError):
            self.refused = FE_SERVER_FULL
            return
        der = self.sock.getpeercert(binary_form=True)
        self.fingerprint = fingerprint_of_spki(spki_of_cert(der))
        if isinstance(self.tls, str) and self.fingerprint != self.tls:
            raise KeyMismatch("relay key %s, pinned %s" % (self.fingerprint, self.tls))
        if self.sock.selected_alpn_protocol() != ALPN:
            raise ProtocolError("ALPN %r" % self.sock.selected_alpn_protocol())

    def pending(self):
        """True if frames or bytes wait here already (select cannot see them)."""
        return bool(self.buf) or (self.tls and self.sock is not None and
                                  isinstance(self.sock, ssl.SSLSocket) and
                                  self.sock.pending() > 0)

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
        if self.refused is not None:
            raise Closed(self.refused)
        self.sock.sendall(data)

    def send(self, ftype, src=NONE, dst=NONE, payload=b""):
        self.send_raw(encode(ftype, src, dst, payload))

    def send_data(self, dst, payload):
        self.send(DATA, NONE, dst, payload)

    def ping(self):
        self.send(PING)

    # -- receiving -------------------------------------------------------
    def _fill(self, deadline):
        if self.refused is not None:
            raise Closed(self.refused)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no frame from relayd in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout:
            raise TimeoutError("no frame from relayd in time") from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
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
        if self.refused is not None:
            raise Closed(self.refused)
        # Non-blocking for real: with a timeout set, Python polls first.
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = self.sock.recv(262144)
                except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                        ssl.SSLWantWriteError):
                    return got
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
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
        if self.refused is not None:
            if code != self.refused:
                raise ProtocolError("wanted ERROR %d, was refused before TLS" % code)
            return
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
        if self.refused is not None:
            return True
        try:
            while True:
                r, _, _ = select.select([self.sock], [], [], 0 if self.pending() else timeout)
                if not r and not self.pending():
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


def fork_flooder(host, port, room, count, size, per_send=1, dst=BCAST, timeout=60):
    """Forks a member of room that sends `count` DATA frames of `size` bytes
    (at least 4) to dst as fast as TCP lets it, `per_send` frames per send();
    frame k's payload starts with k (u32). Then it PINGs and waits for PONG
    (nobody dropped it either) and exits 0, or 1 on any failure. Returns the
    child's pid, for os.waitpid."""
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        c = Client(host, port, timeout=timeout)
        c.join(room)
        pad = os.urandom(size - 4)
        hdr = HDR.pack(VERSION, DATA, NONE, dst, size)
        for k in range(0, count, per_send):
            c.send_raw(b"".join(hdr + struct.pack(">I", j) + pad
                                for j in range(k, min(count, k + per_send))))
        c.ping()
        while c.recv(timeout=timeout)[0] != PONG:
            pass
        os._exit(0)
    except Exception as e:  # the child reports, the parent judges its status
        print("flooder:", repr(e), file=sys.stderr)
        os._exit(1)


def stream(host, port, room, count, size, dst=BCAST):
    """Convenience for benchmarks: one member sending `count` DATA frames."""
    with Client(host, port) as c:
        c.join(room)
        frame = encode(DATA, NONE, dst, os.urandom(size))
        c.send_raw(frame * count)
