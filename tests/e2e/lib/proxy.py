#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""A TCP proxy between chatc and relayd for the end-to-end tests.

    proxy.py serve --upstream HOST:PORT [--listen 127.0.0.1:0] [--record DIR]
                   [--attack ACTION:CONN:NTH]... [--raw] [--control FIFO]
                   [--tls-key KEY --tls-cert CERT] [--upstream-tls]
    proxy.py scan DIR [--text STR]... [--fpr FPR]... [--identity SEEDFILE]...
                  [--min-data N] [--hs-fixed] [--unlinkable] [--tls] [--hex HEX]...

serve: accepts clients (numbered 0, 1, ... in accept order), connects each to
the relay, and forwards relay frames (PROTOCOL.md section 1: a 10-byte header
ver u8, type u8, src u16, dst u16, len u32, then the payload) both ways. With
--record it writes every byte it received, per connection and direction, to
DIR/connN.c2r and DIR/connN.r2c. It says what it saw and did on stderr, one
line each, so a test can wait for it:

    proxy: listening on 127.0.0.1:PORT
    proxy: conn N accepted | member ID | closed | upstream refused
    proxy: conn N c2r HS_INIT eph HEX        (also HS_RESP)
    proxy: attack ACTION conn N frame NTH done

--raw forwards bytes as they come, parsing nothing (the link is TLS: a
recording of what a network observer sees). --tls-key/--tls-cert make the
proxy a TLS server with that key towards clients (a man in the middle
posing as the relay; clients that pin the relay's key refuse it), and
--upstream-tls makes it a TLS client towards the relay (checking nothing):
frames then flow, and are parsed, in between.

An attack acts once, on the NTH (1-based) frame of its kind that client CONN
sends towards the relay. Kinds: the e2e type of a DATA frame's payload
(PROTOCOL.md section 2: ver u8, type u8, ...). Actions on e2e DATA (0x10):

    flip-ct     flip one bit in the middle of the ciphertext
    flip-tag    flip one bit of the GCM tag (last byte)
    flip-ctr    flip one bit of the sealed header (where veil/1 had its counter)
    flip-epoch  flip one bit of the header nonce (where veil/1 had its epoch)
    flip-ver    change the e2e version byte
    truncate    drop the 16-byte tag (the relay frame stays well formed)
    truncate-short  keep only the first 12 bytes
    drop        never deliver it (the receiver must report a gap)
    replay      deliver it twice in a row
    replay-late deliver it again after the next DATA frame
    reorder     hold it back and deliver it after the next DATA frame
    reflect     deliver it, and also send it back to its sender as if it came
                from the peer it was addressed to

and on handshake messages:

    swap-init   replace the ephemeral key in the NTH HS_INIT with our own
    swap-resp   replace the ephemeral key in the NTH HS_RESP with our own
    flip-resp, flip-fin
                flip one bit in the sealed part of HS_RESP, HS_FIN
    reflect-init, reflect-resp, reflect-fin
                deliver the handshake message, and also send it back to its
                sender as if it came from the peer
    drop-init, drop-resp, drop-fin
                never deliver the handshake message

(veil/2 has three handshake messages, PROTOCOL.md 2.2; veil/1's fourth,
HS_CONFIRM, is still named when seen, for recordings of 0.1.0.)

With --control FIFO the proxy also reads commands, one a line, from FIFO
(reopened at each EOF), and says "proxy: ctl LINE ok" once each applies.
CONN is a connection number or '*' (every connection, those accepted later
too: give each client its own proxy to act on one link); DIR is c2r, r2c
or both:

    stall CONN DIR       hold every frame (kept in order, nothing is closed)
    resume CONN DIR      send what was held, and forward again
    drop CONN DIR        drop every relay DATA frame (keepalives pass, so the
                         relay still lists the member)
    pass CONN DIR        stop dropping
    droplast CONN        once: the last DATA frame CONN sends before 300 ms
                         of quiet is dropped ("proxy: droplast conn N done")
    hide CONN1 CONN2     the relay hides these two members from each other:
                         their WELCOME, JOINED and LEFT lose the other's id
                         and DATA between them is dropped (a split room)

scan: reads every recorded file in DIR and fails (exit 1, naming each hit) if a
--text (UTF-8; also searched as UTF-16) or a --fpr (searched as lower/upper
hex, bare or grouped by ':' or '-', raw bytes and base64) or the Ed25519
public key of an --identity seed file (keyd's HOME/identity: raw, hex, base64,
either end) occurs anywhere; it
also checks the recording is not empty and holds at least --min-data e2e DATA
frames, so a scan of nothing cannot pass, and that every e2e DATA message is
103 + a padding bucket (64 .. 4096) + 16 bytes long (length hiding: 2 bytes
of version and type, the 12-byte header nonce and the 89-byte sealed header,
PROTOCOL.md 2.3). With --unlinkable, two DATA messages of the same size sent
one after the other on a connection may have at most 4 equal bytes among the
16 after the type (veil/2's header nonce is random and its header sealed;
veil/1's epoch and counter, in the clear, shared 7). It prints
the sizes of the handshake messages seen, by type; with --hs-fixed every one
must have its veil/2 length (HS_INIT 67, HS_RESP 212, HS_FIN 147, whatever
the nicknames: PROTOCOL.md 2.2).
With --tls (a --raw recording of a TLS link) it checks instead that every
byte of each direction belongs to a well-formed TLS record, that after the
first (ClientHello, ServerHello) nothing but encrypted records, alerts and
change_cipher_spec go by (TLS 1.3 hides the rest of the handshake), and
that at least --min-data encrypted records went each way; --hex needles
(a room id, a frame header with a member id) are searched like --text.

Python 3 standard library only.
"""

import argparse
import base64
import binascii
import hashlib
import os
import re
import secrets
import socket
import ssl
import sys
import threading

HDR = 10
FT_JOIN, FT_WELCOME, FT_JOINED, FT_LEFT, FT_DATA = 1, 2, 3, 4, 5
FT_NAMES = {1: "JOIN", 2: "WELCOME", 3: "JOINED", 4: "LEFT", 5: "DATA",
            6: "PING", 7: "PONG", 8: "ERROR"}
E2E_NAMES = {1: "HS_INIT", 2: "HS_RESP", 3: "HS_FIN", 4: "HS_CONFIRM",
             16: "DATA"}
E2E_DATA = 0x10
DATA_ACTIONS = {"flip-ct", "flip-tag", "flip-ctr", "flip-epoch", "flip-ver",
                "truncate", "truncate-short", "drop", "replay",
                "replay-late", "reorder", "reflect"}
HS_ACTIONS = {"swap-init": 1, "swap-resp": 2, "flip-resp": 2, "flip-fin": 3,
              "reflect-init": 1, "reflect-resp": 2, "reflect-fin": 3,
              "drop-init": 1, "drop-resp": 2, "drop-fin": 3}
HS_FIXED = {1: 67, 2: 212, 3: 147}     # veil/2 handshake lengths

# P-256 (SEC 2), just enough to make a valid public key of our own.
P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
A = P - 3
B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
     0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return (x3, (lam * (x1 - x3) - y1) % P)


def p256_pub():
    """A fresh uncompressed P-256 public key (04 || X || Y), checked on the curve."""
    k = secrets.randbelow(N - 1) + 1
    r, q = None, G
    while k:
        if k & 1:
            r = _add(r, q)
        q = _add(q, q)
        k >>= 1
    x, y = r
    assert (y * y - (x * x * x + A * x + B)) % P == 0
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


# Ed25519 (RFC 8032 section 5.1), only to derive a public key from a keyd
# identity seed so scan can look for the raw identity key on the wire.
EP = 2 ** 255 - 19
ED = -121665 * pow(121666, -1, EP) % EP


def _ed_add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % EP
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % EP
    c = 2 * p1[3] * p2[3] * ED % EP
    d = 2 * p1[2] * p2[2] % EP
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % EP, g * h % EP, f * g % EP, e * h % EP)


def ed25519_pub(seed):
    """The public key (32 bytes) of an Ed25519 secret seed."""
    gy = 4 * pow(5, -1, EP) % EP
    x2 = (gy * gy - 1) * pow(ED * gy * gy + 1, -1, EP) % EP
    gx = pow(x2, (EP + 3) // 8, EP)
    if (gx * gx - x2) % EP:
        gx = gx * pow(2, (EP - 1) // 4, EP) % EP
    if gx & 1:
        gx = EP - gx
    pt, acc = (gx, gy, 1, gx * gy % EP), (0, 1, 1, 0)
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    while a:
        if a & 1:
            acc = _ed_add(acc, pt)
        pt = _ed_add(pt, pt)
        a >>= 1
    zi = pow(acc[2], -1, EP)
    x, y = acc[0] * zi % EP, acc[1] * zi % EP
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def veil_fpr(pub):
    """keyd's fingerprint text of an identity public key (PROTOCOL.md)."""
    d = hashlib.sha512(b"veil/2 fingerprint" + pub).digest()
    for _ in range(5199):
        d = hashlib.sha512(d + pub).digest()
    d = d.hex()[:40]
    return ":".join(d[i:i + 4] for i in range(0, 40, 4))


class Log:
    lock = threading.Lock()

    @classmethod
    def say(cls, msg):
        with cls.lock:
            sys.stderr.write("proxy: " + msg + "\n")
            sys.stderr.flush()


def hdr(ftype, src, dst, n):
    return bytes([1, ftype]) + src.to_bytes(2, "big") + dst.to_bytes(2, "big") \
        + n.to_bytes(4, "big")


class Frames:
    """Splits a byte stream into relay frames (header + payload)."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= HDR:
            n = int.from_bytes(self.buf[6:10], "big")
            if len(self.buf) < HDR + n:
                break
            out.append(self.buf[:HDR + n])
            self.buf = self.buf[HDR + n:]
        return out


class Attack:
    def __init__(self, spec):
        try:
            action, conn, nth = spec.split(":")
            self.action, self.conn, self.nth = action, int(conn), int(nth)
        except ValueError:
            raise SystemExit("proxy: bad --attack %r (ACTION:CONN:NTH)" % spec)
        if action not in DATA_ACTIONS and action not in HS_ACTIONS:
            raise SystemExit("proxy: unknown attack action %r" % action)
        if self.nth < 1:
            raise SystemExit("proxy: NTH counts from 1")
        self.seen = 0
        self.fired = False

    def etype(self):
        return HS_ACTIONS.get(self.action, E2E_DATA)


class Conn:
    def __init__(self, server, cid, client):
        self.server = server
        self.cid = cid
        self.client = client
        self.upstream = None
        self.member = None
        self.welcomed = threading.Event()
        self.joined = False     # JOIN forwarded
        self.stalled = {}       # direction -> frames held
        self.dropping = set()   # directions whose DATA frames are dropped
        self.droplast = None    # [frame or None, timer] while armed
        self.flock = threading.Lock()
        self.wlock = {"c": threading.Lock(), "u": threading.Lock()}
        self.held = []          # frames to send after the next DATA frame
        self.closed = False
        self.rec = {}
        if server.record:
            for d in ("c2r", "r2c"):
                self.rec[d] = open(os.path.join(server.record,
                                   "conn%d.%s" % (cid, d)), "wb")

    def send(self, which, data):
        sock = self.client if which == "c" else self.upstream
        with self.wlock[which]:
            sock.sendall(data)

    def forward(self, which, f):
        """Sends f on, unless a control command holds or drops it."""
        d = "r2c" if which == "c" else "c2r"
        with self.flock:
            if d in self.stalled:
                self.stalled[d].append(f)
                return
            if f[1] == FT_DATA and d in self.dropping:
                return
            if d == "c2r" and f[1] == FT_DATA and self.droplast is not None:
                prev, self.droplast[0] = self.droplast[0], f
                if self.droplast[1] is not None:
                    self.droplast[1].cancel()
                t = threading.Timer(0.3, self.droplast_fire)
                t.daemon = True
                self.droplast[1] = t
                t.start()
                if prev is None:
                    return
                f = prev
        try:
            self.send(which, f)
        except OSError:
            pass

    def droplast_fire(self):
        with self.flock:
            if self.droplast is None or self.droplast[0] is None:
                return
            self.droplast = None
        Log.say("droplast conn %d done" % self.cid)

    def control(self, cmd, dirs):
        held = []
        with self.flock:
            for d in dirs:
                if cmd == "stall":
                    self.stalled.setdefault(d, [])
                elif cmd == "resume":
                    held += [(d, f) for f in self.stalled.pop(d, [])]
                elif cmd == "drop":
                    self.dropping.add(d)
                elif cmd == "pass":
                    self.dropping.discard(d)
            if cmd == "droplast":
                self.droplast = [None, None]
        for d, f in held:
            try:
                self.send("c" if d == "r2c" else "u", f)
            except OSError:
                pass

    def hidden(self):
        """Member ids of the connections hidden from this one."""
        out = set()
        for a, b in self.server.hides:
            other = b if a == self.cid else a if b == self.cid else None
            if other is None:
                continue
            oc = self.server.conns.get(other)
            if oc is None:
                continue
            if oc.member is None and oc.joined:
                oc.welcomed.wait(5)
            if oc.member is not None:
                out.add(oc.member)
        return out

    def close(self):
        if self.closed:
            return
        self.closed = True
        for s in (self.client, self.upstream):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for f in self.rec.values():
            f.close()
        Log.say("conn %d closed" % self.cid)

    def run(self):
        try:
            if self.server.tls_server is not None:
                self.client = self.server.tls_server.wrap_socket(
                    self.client, server_side=True)
        except (OSError, ssl.SSLError) as e:
            Log.say("conn %d TLS with the client failed: %s" % (self.cid, e))
            self.close()
            return
        try:
            self.upstream = socket.create_connection(self.server.upstream,
                                                     timeout=5)
            self.upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.server.upstream_tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.set_alpn_protocols(["veil/1"])
                self.upstream = ctx.wrap_socket(self.upstream)
            self.upstream.settimeout(None)
        except OSError:
            Log.say("conn %d upstream refused" % self.cid)
            self.upstream = None
            self.close()
            return
        t = threading.Thread(target=self.pump, args=("r2c",), daemon=True)
        t.start()
        self.pump("c2r")
        t.join()

    def pump(self, d):
        src = self.client if d == "c2r" else self.upstream
        fr = Frames()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if d in self.rec:
                    self.rec[d].write(data)
                    self.rec[d].flush()
                if self.server.raw:
                    self.send("c" if d == "r2c" else "u", data)
                    continue
                for f in fr.feed(data):
                    if d == "c2r":
                        self.from_client(f)
                    else:
                        self.from_relay(f)
        except OSError:
            pass
        self.close()

    def from_relay(self, f):
        if f[1] == FT_WELCOME:
            self.member = int.from_bytes(f[4:6], "big")
            self.welcomed.set()
            Log.say("conn %d member %d" % (self.cid, self.member))
        if self.server.hides:
            hid = self.hidden()
            if f[1] == FT_WELCOME and hid:
                n = int.from_bytes(f[HDR:HDR + 2], "big")
                ids = [int.from_bytes(f[HDR + 2 + 2 * i:HDR + 4 + 2 * i], "big")
                       for i in range(n)]
                keep = [i for i in ids if i not in hid]
                pl = len(keep).to_bytes(2, "big") + b"".join(
                    i.to_bytes(2, "big") for i in keep)
                f = hdr(FT_WELCOME, 0, self.member, len(pl)) + pl
                Log.say("conn %d hid %s in WELCOME" % (self.cid, sorted(hid)))
            elif f[1] in (FT_JOINED, FT_LEFT, FT_DATA) and \
                    int.from_bytes(f[2:4], "big") in hid:
                return
        self.forward("c", f)

    def from_client(self, f):
        if f[1] == FT_JOIN:
            self.joined = True
        if f[1] == FT_DATA and self.server.hides and \
                int.from_bytes(f[4:6], "big") in self.hidden():
            return
        if f[1] != FT_DATA or len(f) < HDR + 2:
            self.forward("u", f)
            return
        etype = f[HDR + 1]
        name = E2E_NAMES.get(etype, "type%d" % etype)
        if etype in (1, 2) and len(f) >= HDR + 67:
            Log.say("conn %d c2r %s eph %s" % (self.cid, name,
                    f[HDR + 2:HDR + 67].hex()))
        else:
            Log.say("conn %d c2r %s" % (self.cid, name))
        out = [f]
        release = etype == E2E_DATA and bool(self.held)
        for a in self.server.attacks:
            if a.fired or a.conn != self.cid or a.etype() != etype:
                continue
            a.seen += 1
            if a.seen != a.nth:
                continue
            a.fired = True
            out = self.attack(a, f)
            Log.say("attack %s conn %d frame %d done" % (a.action, self.cid,
                                                         a.nth))
            break
        for o in out:
            self.forward("u", o)
        if release:
            held, self.held = self.held, []
            for o in held:
                self.forward("u", o)

    def attack(self, a, f):
        """Returns the frames to send upstream instead of f."""
        h, pl = f[:HDR], bytearray(f[HDR:])
        act = a.action
        if act.startswith("swap-"):
            pl[2:67] = p256_pub()
            return [h + bytes(pl)]
        if act.startswith("reflect-"):
            act = "reflect"
        elif act.startswith("drop-"):
            return []
        elif act in HS_ACTIONS:
            pl[-20] ^= 0x01         # inside the sealed part, before the tag
            return [h + bytes(pl)]
        if act != "reflect" and len(pl) < 103 + 16 + 64:
            raise SystemExit("proxy: DATA frame too short to attack")
        if act == "flip-ct":
            pl[103 + (len(pl) - 119) // 2] ^= 0x01
        elif act == "flip-tag":
            pl[-1] ^= 0x80
        elif act == "flip-ctr":
            pl[14 + 70] ^= 0x01
        elif act == "flip-epoch":
            pl[5] ^= 0x01
        elif act == "flip-ver":
            pl[0] ^= 0x02
        elif act == "truncate":
            pl = pl[:-16]
        elif act == "truncate-short":
            pl = pl[:12]
        elif act == "drop":
            return []
        elif act == "replay":
            return [f, f]
        elif act == "replay-late":
            self.held.append(f)
            return [f]
        elif act == "reorder":
            self.held.append(f)
            return []
        elif act == "reflect":
            if self.member is None:
                raise SystemExit("proxy: reflect before WELCOME")
            peer = int.from_bytes(f[4:6], "big")
            self.send("c", hdr(FT_DATA, peer, self.member, len(pl)) + bytes(pl))
            return [f]
        return [hdr(f[1], int.from_bytes(h[2:4], "big"),
                    int.from_bytes(h[4:6], "big"), len(pl)) + bytes(pl)]


class Server:
    def __init__(self, args):
        host, port = args.upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.record = args.record
        self.attacks = [Attack(s) for s in args.attack]
        self.raw = args.raw
        self.upstream_tls = args.upstream_tls
        self.tls_server = None
        if args.tls_key:
            self.tls_server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_server.minimum_version = ssl.TLSVersion.TLSv1_3
            self.tls_server.load_cert_chain(args.tls_cert, args.tls_key)
            self.tls_server.set_alpn_protocols(["veil/1"])
        self.conns = {}
        self.clock = threading.Lock()
        self.hides = []
        self.wild = {}          # control commands for '*': applied to new conns
        self.control_path = args.control
        if self.record:
            os.makedirs(self.record, exist_ok=True)
        lhost, lport = args.listen.rsplit(":", 1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((lhost, int(lport)))
        self.sock.listen(64)

    def run(self):
        h, p = self.sock.getsockname()
        if self.control_path:
            threading.Thread(target=self.control_loop, daemon=True).start()
        Log.say("listening on %s:%d" % (h, p))
        cid = 0
        while True:
            c, _ = self.sock.accept()
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Log.say("conn %d accepted" % cid)
            conn = Conn(self, cid, c)
            with self.clock:
                self.conns[cid] = conn
                for cmd, dirs in self.wild.items():
                    conn.control(cmd, dirs)
            threading.Thread(target=conn.run, daemon=True).start()
            cid += 1

    def control_loop(self):
        while True:
            with open(self.control_path) as fh:
                for line in fh:
                    if line.strip():
                        self.command(line.split())

    def command(self, w):
        dirs = {"c2r": ["c2r"], "r2c": ["r2c"], "both": ["c2r", "r2c"]}
        try:
            cmd = w[0]
            if cmd == "hide":
                self.hides.append((int(w[1]), int(w[2])))
            elif cmd in ("stall", "resume", "drop", "pass", "droplast"):
                ds = dirs[w[2]] if cmd != "droplast" else []
                with self.clock:
                    targets = list(self.conns.values()) if w[1] == "*" else \
                        [self.conns[int(w[1])]]
                    if w[1] == "*":
                        undo = {"resume": "stall", "pass": "drop"}.get(cmd)
                        if undo:
                            self.wild.pop(undo, None)
                        elif cmd != "droplast":
                            self.wild[cmd] = ds
                for c in targets:
                    c.control(cmd, ds)
            else:
                raise KeyError(cmd)
        except (IndexError, KeyError, ValueError):
            Log.say("ctl %s refused" % " ".join(w))
            return
        Log.say("ctl %s ok" % " ".join(w))


def fpr_forms(fpr):
    hexs = re.sub(r"[^0-9a-fA-F]", "", fpr).lower()
    if len(hexs) < 16 or len(hexs) % 2:
        raise SystemExit("proxy: --fpr %r is not a hex fingerprint" % fpr)
    raw = binascii.unhexlify(hexs)
    groups = [hexs[i:i + 4] for i in range(0, len(hexs), 4)]
    forms = {fpr.encode(), hexs.encode(), hexs.upper().encode(), raw,
             raw[:8], raw[-8:], base64.b64encode(raw).rstrip(b"="),
             hexs[:16].encode(), hexs[-16:].encode()}
    for sep in (":", "-", " "):
        g = sep.join(groups)
        forms.add(g.encode())
        forms.add(g.upper().encode())
    return forms


BUCKETS = (64, 128, 256, 512, 1024, 2048, 4096)


def data_frames(blob, sizes, hs, heads=None):
    """Counts relay DATA frames carrying e2e DATA in one direction's bytes,
    adding each e2e message length to sizes, and each handshake message's
    (type, length) to hs; each DATA message's (length, 16 bytes after the
    type) to heads, in order."""
    n = 0
    for f in Frames().feed(blob):
        if f[1] != FT_DATA or len(f) <= HDR + 1:
            continue
        if f[HDR + 1] == E2E_DATA:
            n += 1
            sizes[len(f) - HDR] = sizes.get(len(f) - HDR, 0) + 1
            if heads is not None:
                heads.append((len(f) - HDR, bytes(f[HDR + 2:HDR + 18])))
        elif f[HDR + 1] in E2E_NAMES:
            k = (f[HDR + 1], len(f) - HDR)
            hs[k] = hs.get(k, 0) + 1
    return n


def tls_records(blob):
    """Splits one direction of a TLS link into (type, length) records.
    Raises ValueError if any byte is not part of a well-formed record."""
    out, off = [], 0
    while off < len(blob):
        if len(blob) - off < 5:
            raise ValueError("%d bytes left over at offset %d" % (len(blob) - off, off))
        t, major, minor, n = blob[off], blob[off + 1], blob[off + 2], \
            int.from_bytes(blob[off + 3:off + 5], "big")
        if t not in (20, 21, 22, 23) or major != 3 or minor not in (1, 3) \
                or n == 0 or n > 16384 + 256:
            raise ValueError("no TLS record at offset %d: %s" % (off, blob[off:off + 5].hex()))
        if len(blob) - off - 5 < n:
            raise ValueError("record cut at offset %d" % off)
        out.append((t, n))
        off += 5 + n
    return out


def scan_tls(args, blobs):
    """--tls: the recording holds TLS records and nothing else. Returns the
    problems found and the encrypted records counted."""
    bad = napp = 0
    for name, blob in sorted(blobs.items()):
        try:
            recs = tls_records(blob)
        except ValueError as e:
            print("scan: FOUND bytes outside TLS in %s: %s" % (name, e))
            bad += 1
            continue
        if not recs:
            continue
        first, rest = recs[0], recs[1:]
        later = sorted({t for t, _ in rest})
        n_app = sum(1 for t, _ in rest if t == 23)
        napp += n_app
        print("scan: %s: %d records (first type %d, then types %s), %d encrypted"
              % (name, len(recs), first[0], later, n_app))
        if first[0] != 22 or any(t == 22 for t, _ in rest):
            print("scan: FOUND a handshake record in the clear after the hello in %s" % name)
            bad += 1
        if n_app < args.min_data:
            print("scan: FOUND only %d encrypted records in %s (need %d)"
                  % (n_app, name, args.min_data))
            bad += 1
    return bad, napp


def scan(args):
    files = sorted(os.listdir(args.dir))
    if not files:
        print("scan: no recording in %s" % args.dir)
        return 1
    blobs = {}
    for name in files:
        with open(os.path.join(args.dir, name), "rb") as fh:
            blobs[name] = fh.read()
    total = sum(len(b) for b in blobs.values())
    sizes, hs, heads = {}, {}, {}
    if args.tls:
        tls_bad, ndata = scan_tls(args, blobs)
    else:
        ndata = sum(data_frames(b, sizes, hs, heads.setdefault(n, []))
                    for n, b in blobs.items() if n.endswith(".c2r"))
        tls_bad = 0
    needles = []
    for h in args.hex:
        needles.append(("bytes %s" % h, binascii.unhexlify(h)))
    for t in args.text:
        needles.append(("text %r" % t, t.encode()))
        needles.append(("text %r as UTF-16" % t, t.encode("utf-16-le")))
    for path in args.identity:
        with open(path, "rb") as fh:
            seed = fh.read()
        if len(seed) != 32:
            print("scan: %s is not a 32-byte identity seed" % path)
            return 1
        pub = ed25519_pub(seed)
        # The test compares this with keyd --fingerprint, which proves the
        # derived key is the one to look for.
        print("scan: identity %s: public key %s, fingerprint %s" % (
            path, pub.hex(), veil_fpr(pub)))
        for label, form in (("raw", pub), ("hex", pub.hex().encode()),
                            ("HEX", pub.hex().upper().encode()),
                            ("base64", base64.b64encode(pub).rstrip(b"=")),
                            ("first 12 bytes", pub[:12]),
                            ("last 12 bytes", pub[-12:])):
            needles.append(("identity key of %s (%s)" % (path, label), form))
    for fp in args.fpr:
        for form in fpr_forms(fp):
            needles.append(("fingerprint %s as %r" % (fp, form), form))
    hits = tls_bad
    for label, needle in needles:
        for name, blob in blobs.items():
            at = blob.find(needle)
            if at >= 0:
                print("scan: FOUND %s in %s at offset %d" % (label, name, at))
                hits += 1
    # Length hiding (PROTOCOL.md 2.3): header 103 + a padding bucket + tag 16.
    for size in sorted(sizes):
        if size - 103 - 16 not in BUCKETS:
            print("scan: FOUND an e2e DATA message of %d bytes, not a padding "
                  "bucket" % size)
            hits += 1
    if not args.tls:
        print("scan: DATA message sizes: %s" % ", ".join(
            "%d x%d" % (k, v) for k, v in sorted(sizes.items())))
        print("scan: handshake message sizes: %s" % (", ".join(
            "%s %d x%d" % (E2E_NAMES[t], size, v)
            for (t, size), v in sorted(hs.items())) or "none"))
        pairs = same = 0
        for name, hl in sorted(heads.items()):
            for (n1, h1), (n2, h2) in zip(hl, hl[1:]):
                if n1 != n2:
                    continue
                eq = sum(a == b for a, b in zip(h1, h2))
                pairs += 1
                same = max(same, eq)
                if args.unlinkable and eq > 4:
                    print("scan: FOUND two DATA messages of %d bytes in a row in %s sharing "
                          "%d of their first 16 bytes after the type: %s / %s"
                          % (n1, name, eq, h1.hex(), h2.hex()))
                    hits += 1
        print("scan: DATA headers: %d same-size pairs in a row, at most %d of 16 bytes equal"
              % (pairs, same))
        if args.unlinkable and pairs == 0:
            print("scan: FOUND no two DATA messages of one size in a row to compare")
            hits += 1
    if args.hs_fixed:
        for (t, size), v in sorted(hs.items()):
            if HS_FIXED.get(t) != size:
                print("scan: FOUND %s of %d bytes (x%d), not veil/2's fixed "
                      "length" % (E2E_NAMES[t], size, v))
                hits += 1
    print("scan: %d files, %d bytes, %d %s, %d needles, %d hits" % (
        len(blobs), total, ndata, "encrypted TLS records" if args.tls else
        "e2e DATA frames sent", len(needles), hits))
    if total == 0 or ndata < args.min_data:
        print("scan: recording too small (need %d DATA frames)" % args.min_data)
        return 1
    return 1 if hits else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--upstream", required=True)
    s.add_argument("--listen", default="127.0.0.1:0")
    s.add_argument("--record")
    s.add_argument("--attack", action="append", default=[])
    s.add_argument("--raw", action="store_true")
    s.add_argument("--tls-key")
    s.add_argument("--tls-cert")
    s.add_argument("--upstream-tls", action="store_true")
    s.add_argument("--control")
    c = sub.add_parser("scan")
    c.add_argument("dir")
    c.add_argument("--text", action="append", default=[])
    c.add_argument("--fpr", action="append", default=[])
    c.add_argument("--identity", action="append", default=[])
    c.add_argument("--min-data", type=int, default=1)
    c.add_argument("--hs-fixed", action="store_true")
    c.add_argument("--tls", action="store_true")
    c.add_argument("--hex", action="append", default=[])
    c.add_argument("--unlinkable", action="store_true")
    args = ap.parse_args()
    if args.cmd == "scan":
        return scan(args)
    try:
        Server(args).run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
