# SPDX-License-Identifier: ISC
"""A keyd IPC client for scripted tests (PROTOCOL.md section 3), stdlib only.

Every message: u32 len || u8 code || fields, len = 1 + size of fields, all
integers big-endian. Requests 0x01..0x0b; the answer to X is X | 0x80 (HS_START
and HS_ACCEPT are both answered by ANS_HS 0x82); 0xff is IPC_ANS_ERROR. IPC
version 2 (veil/2): HELLO and ANS_HELLO start with it.

Used as a module (tests/e2e/t_keyd_*.sh) or as a tool:
    python3 keydclient.py fpr SOCK            # HELLO, print keyd's fingerprint
    python3 keydclient.py bench SOCK [N]      # handshake and seal+open figures
"""
import os
import socket
import struct
import sys
import time

REQ_HELLO, REQ_HS_START, REQ_HS_ACCEPT, REQ_HS_NEXT = 0x01, 0x02, 0x03, 0x04
REQ_SEAL, REQ_OPEN, REQ_CLOSE = 0x05, 0x06, 0x08
REQ_FORGET, REQ_VERIFY, REQ_STATUS = 0x09, 0x0a, 0x0b
ANS_HELLO, ANS_HS, ANS_HS_NEXT, ANS_SEALED = 0x81, 0x82, 0x84, 0x85
ANS_OPENED, ANS_CLOSE, ANS_FORGET, ANS_VERIFY = 0x86, 0x88, 0x89, 0x8a
ANS_STATUS = 0x8b
ANS_ERROR = 0xff
IPC_VERSION = 2
IPC_MAX = 512 * 1024
FPR_LEN = 20
TRUST = {1: "new", 2: "pinned", 3: "expected", 4: "verified", 5: "refused"}
FLAGS = {0x01: "known_as", 0x02: "name_elsewhere", 0x04: "contested", 0x08: "not_pinned",
         0x10: "self"}
REASON = {0: None, 1: "pin", 2: "expect", 3: "own_name", 4: "swap"}
# Inner kinds (PROTOCOL.md 2.3); ANS_OPENED's kind is the inner kind.
TEXT, CLOSE, ACK, PING, PONG, VIEW = 1, 4, 5, 6, 7, 8
OPEN_TEXT, OPEN_CLOSED = TEXT, CLOSE
STREAM = b"kdclient"         # the TEXT stream of this client
ROOM_KEY = b"\x24" * 32      # the room key both ends use unless told otherwise

# enum veil_err, as positive numbers (IPC_ANS_ERROR carries -veil_err)
E_VERSION = 3
E_AUTH = 10
E_STATE, E_LIMIT, E_PIN, E_EXPECT, E_NOSESSION = 13, 14, 15, 16, 17
E_BUSY = 22


class Closed(Exception):
    """keyd closed the connection (with no answer)."""


class KeydError(Exception):
    """keyd answered IPC_ANS_ERROR."""

    def __init__(self, err, handle, message):
        super().__init__("keyd error %d (handle %d): %s" % (err, handle, message))
        self.err, self.handle, self.message = err, handle, message


def fpr_text(fpr):
    h = fpr.hex()
    return ":".join(h[i:i + 4] for i in range(0, len(h), 4))


def fpr_parse(text):
    b = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(b) != FPR_LEN:
        raise ValueError("fingerprint must be %d bytes" % FPR_LEN)
    return b


def str8(b):
    return struct.pack(">B", len(b)) + b


def str16(b):
    return struct.pack(">H", len(b)) + b


def str32(b):
    return struct.pack(">I", len(b)) + b


def frame(code, fields=b""):
    return struct.pack(">IB", 1 + len(fields), code) + fields


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if n > len(self.b) - self.o:
            raise ValueError("truncated answer")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def s8(self):
        return self.take(self.u8())

    def s16(self):
        return self.take(self.u16())

    def s32(self):
        return self.take(self.u32())

    def end(self):
        if self.o != len(self.b):
            raise ValueError("trailing bytes in answer")


def decode_answer(body):
    """Decodes one answer body (code and fields); returns a dict."""
    r = Reader(body)
    code = r.u8()
    a = {"code": code}
    if code == ANS_HELLO:
        a["version"] = r.u8()
        a["fpr"] = r.take(FPR_LEN)
        a["id"] = r.take(32)
    elif code in (ANS_HS, ANS_CLOSE):
        a["handle"], a["blob"] = r.u32(), r.s32()
    elif code == ANS_HS_NEXT:
        a["handle"], a["done"], a["blob"] = r.u32(), r.u8(), r.s32()
        if a["done"]:
            a["nick"] = r.s8().decode()
            a["fpr"] = r.take(FPR_LEN)
            a["id"] = r.take(32)
            a["trust"] = TRUST[r.u8()]
            f = r.u8()
            a["flags"] = sorted(name for bit, name in FLAGS.items() if f & bit)
            a["reason"] = REASON[r.u8()]
            a["label"] = r.s8().decode()
            a["fpr2"] = r.take(FPR_LEN)
    elif code == ANS_SEALED:
        a["items"] = []
        for _ in range(r.u16()):
            a["items"].append({"handle": r.u32(), "status": r.u8(), "flags": r.u8(),
                               "blob": r.s32()})
    elif code == ANS_OPENED:
        a["handle"], a["kind"], a["gap"] = r.u32(), r.u8(), r.u32()
        a["body"] = r.s16()
        a["text"] = a["body"][13:] if a["kind"] == TEXT else b""
    elif code == ANS_FORGET:
        a["existed"], a["fpr"] = r.u8(), r.take(FPR_LEN)
    elif code == ANS_VERIFY:
        a["nick"] = r.s8().decode()
        a["peer"], a["mine"] = r.take(FPR_LEN), r.take(FPR_LEN)
        a["trust"] = TRUST[r.u8()]
        a["safety"] = r.s8().decode()
    elif code == ANS_STATUS:
        a["generation"] = r.u32()
    elif code == ANS_ERROR:
        a["err"], a["handle"], a["ended"] = r.u8(), r.u32(), r.u8()
        a["message"] = r.s16().decode()
    else:
        raise ValueError("unknown answer code 0x%02x" % code)
    r.end()
    return a


class Client:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def close(self):
        self.s.close()

    def send_raw(self, b):
        try:
            self.s.sendall(b)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed("keyd closed the connection") from e

    def _recvn(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.s.recv(n - len(out))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise Closed("keyd closed the connection")
            out += chunk
        return out

    def recv(self):
        (n,) = struct.unpack(">I", self._recvn(4))
        if n < 1 or n > IPC_MAX:
            raise ValueError("bad answer length %d" % n)
        return decode_answer(self._recvn(n))

    def call(self, code, fields=b"", expect=None, raw=False):
        """Sends one request; returns the decoded answer. Raises KeydError
        for IPC_ANS_ERROR unless raw, and checks the answer code (like
        OpenSSH's mm_request_receive_expect)."""
        self.send_raw(frame(code, fields))
        a = self.recv()
        if a["code"] == ANS_ERROR and not raw:
            raise KeydError(a["err"], a["handle"], a["message"])
        want = expect if expect is not None else code | 0x80
        if a["code"] != ANS_ERROR and a["code"] != want:
            raise ValueError("answer 0x%02x to request 0x%02x" % (a["code"], code))
        return a

    def hello(self, nick, expects=(), version=IPC_VERSION):
        f = struct.pack(">B", version) + str8(nick.encode()) + struct.pack(">B", len(expects))
        for n, fpr in expects:
            f += str8(n.encode()) + fpr
        return self.call(REQ_HELLO, f)["fpr"]

    # room_key: from the room secret in chatc (PROTOCOL.md 4); both ends of a
    # handshake need the same one (PROTOCOL.md 2.2). Any 32 bytes here.
    def hs_start(self, room, me, peer, room_key=ROOM_KEY, replaces=0):
        return self.call(REQ_HS_START,
                         room + room_key + struct.pack(">HHI", me, peer, replaces), ANS_HS)

    def hs_accept(self, room, me, peer, blob, room_key=ROOM_KEY, replaces=0):
        return self.call(REQ_HS_ACCEPT,
                         room + room_key + struct.pack(">HHI", me, peer, replaces)
                         + str32(blob), ANS_HS)

    def hs_next(self, handle, blob, raw=False):
        return self.call(REQ_HS_NEXT, struct.pack(">I", handle) + str32(blob), raw=raw)

    def send_hs_next(self, handle, blob):
        """Sends HS_NEXT without reading its answer (recv() it later)."""
        self.send_raw(frame(REQ_HS_NEXT, struct.pack(">I", handle) + str32(blob)))

    def seal(self, handles, text, kind=TEXT):
        """SEAL of a TEXT (stream STREAM, the next seq) of text; with another
        kind, text is that kind's body as is."""
        if kind == TEXT:
            self.seq = getattr(self, "seq", 0) + 1
            text = STREAM + struct.pack(">IB", self.seq, 0) + text
        f = struct.pack(">H", len(handles)) + b"".join(struct.pack(">I", h) for h in handles)
        return self.call(REQ_SEAL, f + bytes([kind]) + str16(text))["items"]

    def open(self, handle, blob, raw=False):
        return self.call(REQ_OPEN, struct.pack(">I", handle) + str32(blob), raw=raw)

    def close_session(self, handle, raw=False):
        return self.call(REQ_CLOSE, struct.pack(">I", handle), raw=raw)

    def forget(self, nick):
        return self.call(REQ_FORGET, str8(nick.encode()))

    def verify(self, handle, raw=False):
        return self.call(REQ_VERIFY, struct.pack(">I", handle), raw=raw)

    def status(self):
        return self.call(REQ_STATUS)["generation"]


def handshake(ci, cr, room=b"\x42" * 32, mi=1, mr=2, raw=False, key_i=ROOM_KEY,
              key_r=ROOM_KEY):
    """Runs a full handshake (HS_INIT, HS_RESP, HS_FIN) between initiator
    connection ci and responder connection cr (they may be the same keyd or
    two), with room keys key_i and key_r. Returns (hi, hr, ai, ar): both
    handles and the done answers of each side (ar is None when the
    initiator's step failed). The initiator's HS_FIN goes to the responder
    whatever the initiator decided about trust."""
    a = ci.hs_start(room, mi, mr, room_key=key_i)
    hi = a["handle"]
    b = cr.hs_accept(room, mr, mi, a["blob"], room_key=key_r)
    hr = b["handle"]
    c = ci.hs_next(hi, b["blob"], raw=raw)
    if c["code"] == ANS_ERROR:
        return hi, hr, c, None
    d = cr.hs_next(hr, c["blob"], raw=raw)
    return hi, hr, c, d


def bench(path, n=2000):
    """Handshake time and seal+open throughput for 256-byte messages over the
    socket: one handle per SEAL, and 30 handles per SEAL (a room of 31)."""
    ci, cr = Client(path), Client(path)
    ci.hello("benchi")
    cr.hello("benchr")
    text = os.urandom(128).hex().encode()  # 256 bytes
    hs = []
    for _ in range(50):
        t = time.perf_counter()
        hi, hr, _, _ = handshake(ci, cr)
        hs.append(time.perf_counter() - t)
        ci.close_session(hi)
        cr.close_session(hr)
    hs.sort()
    print("handshake (3 messages, both sides, one keyd): median %.0f us, p90 %.0f us"
          % (hs[len(hs) // 2] * 1e6, hs[len(hs) * 9 // 10] * 1e6))
    hi, hr, _, _ = handshake(ci, cr)
    t = time.perf_counter()
    for _ in range(n):
        blob = ci.seal([hi], text)[0]["blob"]
        o = cr.open(hr, blob)
        assert o["text"] == text
    dt = time.perf_counter() - t
    print("seal+open, 1 handle per SEAL, 256 B: %d msgs in %.2f s = %.0f msg/s (%.1f us each)"
          % (n, dt, n / dt, dt / n * 1e6))
    pairs = [handshake(ci, cr)[:2] for _ in range(30)]
    his = [p[0] for p in pairs]
    rounds = max(1, n // 30)
    t = time.perf_counter()
    for _ in range(rounds):
        items = ci.seal(his, text)
        for (hi2, hr2), it in zip(pairs, items):
            assert it["status"] == 0
            cr.open(hr2, it["blob"])
    dt = time.perf_counter() - t
    sealed = rounds * 30
    print("seal batched x30 + 30 opens, 256 B: %d msgs in %.2f s = %.0f msg/s (%.1f us each)"
          % (sealed, dt, sealed / dt, dt / sealed * 1e6))
    t = time.perf_counter()
    for _ in range(rounds):
        ci.seal(his, text)
    dt = time.perf_counter() - t
    print("seal only, batched x30: %d msgs in %.2f s = %.0f msg/s (%.1f us each)"
          % (sealed, dt, sealed / dt, dt / sealed * 1e6))
    ci.close()
    cr.close()


def main(argv):
    if len(argv) >= 3 and argv[1] == "fpr":
        c = Client(argv[2])
        print(fpr_text(c.hello("probe")))
        return 0
    if len(argv) >= 3 and argv[1] == "bench":
        bench(argv[2], int(argv[3]) if len(argv) > 3 else 2000)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
