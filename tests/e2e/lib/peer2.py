# SPDX-License-Identifier: ISC
"""An independent veil/2 peer, written from protocol/PROTOCOL.md alone.

It implements layer 2 (the SIGMA-I handshake of 2.2, data messages under the
Double Ratchet with header encryption of 2.3, the inner kinds) and the names
of section 4 (room
secret, invite codes, fingerprints, safety numbers) with the `cryptography`
module (Debian: python3-cryptography) and the standard library only; layer 1
goes through relay.py. It shares no code with the C implementation, so
agreeing with it byte for byte is an interoperability check of the spec. It
is also the hostile member of the e2e tests: it can play any identity and
nickname it likes, claim a key it does not hold, rejoin with ever new keys.

    python3 peer2.py example PROTOCOL.md
        recomputes every value of the worked example (2.7) from its inputs
        and compares it with the text; exit 0 when all agree.
    python3 peer2.py member --relay HOST:PORT --invite CODE [options]
        joins a room and plays a member (see `member --help`); one JSON line
        per event on stdout.

For the e2e tests that show what the same attacks did on veil/1 (0.1.0), it
also speaks veil/1's handshake (`--proto 1`, from PROTOCOL.md version 1):
only as far as those attacks need it.
"""

import argparse
import base64
import select
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.exceptions import InvalidSignature, InvalidTag

VERSION = 2
HS_INIT, HS_RESP, HS_FIN, DATA = 0x01, 0x02, 0x03, 0x10
TEXT, CLOSE, ACK, PING, PONG, VIEW = 1, 4, 5, 6, 7, 8
PROTOCOL_NAME = b"veil/2 P-256 HKDF-SHA256 AES-256-GCM Ed25519"
LEN = {HS_INIT: 67, HS_RESP: 212, HS_FIN: 147}
BUCKETS = (64, 128, 256, 512, 1024, 2048, 4096)
N0 = bytes(12)
NICK_RE = re.compile(rb"^[A-Za-z0-9_.-]{1,32}$")


class Refused(Exception):
    """A message this side refuses (the reason names the rule of PROTOCOL.md)."""


# ---- primitives ------------------------------------------------------------

def H(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def extract(salt, ikm):
    return hmac.new(salt if salt else bytes(32), ikm, hashlib.sha256).digest()


def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def seal(key, nonce, ad, pt):
    return AESGCM(key).encrypt(nonce, pt, ad)


def unseal(key, nonce, ad, ct):
    try:
        return AESGCM(key).decrypt(nonce, ct, ad)
    except InvalidTag:
        raise Refused("bad tag") from None


def p256_from_scalar(scalar):
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def p256_new():
    return ec.generate_private_key(ec.SECP256R1())


def p256_pub(priv):
    return priv.public_key().public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)


def ecdh(priv, pub):
    """The 32-byte x coordinate of the shared point (2.2); the point is checked."""
    if len(pub) != 65 or pub[0] != 4:
        raise Refused("not an uncompressed P-256 point")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub)
    except ValueError:
        raise Refused("not a point on P-256") from None
    return priv.exchange(ec.ECDH(), peer)


class Identity:
    """An Ed25519 identity (RFC 8032 seed) and a nickname."""

    def __init__(self, seed, nick):
        self.seed = seed
        self.sk = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        self.pub = self.sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        self.nick = nick.encode() if isinstance(nick, str) else nick

    @classmethod
    def generate(cls, nick):
        return cls(os.urandom(32), nick)

    def sign(self, msg):
        return self.sk.sign(msg)


def verify(pub, msg, sig):
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        raise Refused("bad signature") from None


# ---- section 4: names ------------------------------------------------------

def identity_hash(pub):
    d = hashlib.sha512(b"veil/2 fingerprint" + pub).digest()
    for _ in range(5199):
        d = hashlib.sha512(d + pub).digest()
    return d


def fingerprint(pub):
    h = identity_hash(pub)[:20].hex()
    return ":".join(h[i:i + 4] for i in range(0, 40, 4))


def digits(pub):
    f = identity_hash(pub)
    return " ".join("%05d" % (int.from_bytes(f[5 * i:5 * i + 5], "big") % 100000)
                    for i in range(7))


def safety_number(a, b):
    return " ".join(sorted([digits(a), digits(b)]))


def room_from_secret(secret):
    """(room id, room key) from a 32-byte room secret."""
    prk = extract(b"veil/2 room", secret)
    return expand(prk, b"veil/2 room id", 32), expand(prk, b"veil/2 room key", 32)


def invite_decode(code):
    """(secret, [(addr, fingerprint)]) from an invite code; ValueError if not one."""
    if not code.startswith("veil:"):
        raise ValueError("not a veil invite code: no veil: prefix")
    body = code[5:]
    if not re.fullmatch(r"[A-Za-z0-9_-]*", body):
        raise ValueError("not a veil invite code: character outside base64url")
    b = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if base64.urlsafe_b64encode(b).decode().rstrip("=") != body:
        raise ValueError("not a veil invite code: not canonical")
    if len(b) < 2 + 32 + 1 + 4 or b[0] != 2 or b[1] != 0:
        raise ValueError("not a veil invite code: version, flags or length")
    if hashlib.sha256(b"veil/2 invite" + b[:-4]).digest()[:4] != b[-4:]:
        raise ValueError("not a veil invite code: check bytes differ")
    secret, n, o, relays = b[2:34], b[34], 35, []
    if not 1 <= n <= 8:
        raise ValueError("not a veil invite code: relay count")
    for _ in range(n):
        alen = b[o]
        addr = b[o + 1:o + 1 + alen]
        o += 1 + alen
        flen = b[o]
        if flen not in (0, 32):
            raise ValueError("not a veil invite code: fingerprint length")
        relays.append((addr.decode(), b[o + 1:o + 1 + flen]))
        o += 1 + flen
    if o != len(b) - 4:
        raise ValueError("not a veil invite code: bytes left over")
    return secret, relays


# ---- 2.2: the handshake ----------------------------------------------------

def idb(pub, nick):
    """The identity block: key, nick length, nick, zeros to 65 bytes."""
    return pub + bytes([len(nick)]) + nick + bytes(32 - len(nick))


def idb_decode(b):
    if len(b) != 65:
        raise Refused("identity block length")
    n = b[32]
    if not 1 <= n <= 32:
        raise Refused("identity block nick length")
    nick = b[33:33 + n]
    if not NICK_RE.match(nick):
        raise Refused("identity block nick")
    if any(b[33 + n:]):
        raise Refused("identity block padding")
    return b[:32], nick


def header(msg):
    """The header checks of section 2, in order: the type, or Refused."""
    if len(msg) > 4215:
        raise Refused("OVERSIZE")
    if len(msg) < 1:
        raise Refused("TRUNCATED")
    if msg[0] != VERSION:
        raise Refused("VERSION")
    if len(msg) < 2:
        raise Refused("TRUNCATED")
    t = msg[1]
    if t in LEN:
        if len(msg) < LEN[t]:
            raise Refused("TRUNCATED")
        if len(msg) > LEN[t]:
            raise Refused("TRAILING")
        if t in (HS_INIT, HS_RESP) and msg[2] != 4:
            raise Refused("INVALID")
        return t
    if t == DATA:
        if len(msg) < 183:
            raise Refused("TRUNCATED")
        if len(msg) - 103 - 16 not in BUCKETS:
            raise Refused("LENGTH")
        return t
    raise Refused("TYPE")


class Handshake:
    """One side of a handshake. The values of the transcript are kept in
    self.v (named as in 2.7) so the worked example can be checked.

    Hostile knobs: claim (a 32-byte key put in our identity block instead of
    ours: a claim without its proof, since we sign with our own key), nick
    (any bytes, even ones the nick rule refuses: the block is built as is).
    """

    def __init__(self, me, room, room_key, m_i, m_r, initiator, scalar=None, claim=None):
        self.me, self.room, self.room_key = me, room, room_key
        self.m_i, self.m_r, self.initiator = m_i, m_r, initiator
        self.eph = p256_from_scalar(scalar) if scalar else p256_new()
        self.claim = claim
        self.v = {}
        self.peer = None            # (key, nick) once proven
        self.session = None

    def _block(self):
        return idb(self.claim or self.me.pub, self.me.nick)

    def _h1(self, e_i):
        v = self.v
        v["h0"] = H(PROTOCOL_NAME)
        v["h1"] = H(v["h0"], self.room, struct.pack(">HH", self.m_i, self.m_r), e_i)

    def _keys(self, e_i, e_r):
        v = self.v
        v["h2"] = H(v["h1"], e_r)
        v["ss"] = ecdh(self.eph, e_r if self.initiator else e_i)
        v["prk_hs"] = extract(v["h2"], v["ss"] + self.room_key)
        v["k_r"] = expand(v["prk_hs"], b"veil/2 handshake r->i", 32)
        v["k_i"] = expand(v["prk_hs"], b"veil/2 handshake i->r", 32)

    def _session(self):
        v = self.v
        v["prk"] = extract(v["h5"], v["ss"] + self.room_key)
        # The responder's e_R is its first ratchet key; the initiator holds it as the peer's.
        self.session = Session(self.room, self.m_i, self.m_r, self.initiator, v["prk"],
                               self.eph, v["e_R"])

    def init(self):
        """Initiator: HS_INIT."""
        e_i = p256_pub(self.eph)
        self.v["e_I"] = e_i
        self._h1(e_i)
        msg = bytes([VERSION, HS_INIT]) + e_i
        self.v["hs_init"] = msg
        return msg

    def accept(self, msg):
        """Responder: HS_INIT in, HS_RESP out."""
        if header(msg) != HS_INIT:
            raise Refused("not an HS_INIT")
        v = self.v
        e_i, e_r = msg[2:], p256_pub(self.eph)
        v["e_I"], v["e_R"] = e_i, e_r
        self._h1(e_i)
        self._keys(e_i, e_r)
        v["idb_R"] = self._block()
        v["h3"] = H(v["h2"], v["idb_R"])
        v["signed_responder"] = b"veil/2 signature responder" + v["h3"]
        v["sig_R"] = self.me.sign(v["signed_responder"])
        v["resp_plaintext"] = v["idb_R"] + v["sig_R"]
        v["resp_ciphertext"] = seal(v["k_r"], N0, v["h2"], v["resp_plaintext"])
        v["h4"] = H(v["h3"], v["sig_R"])
        out = bytes([VERSION, HS_RESP]) + e_r + v["resp_ciphertext"]
        v["hs_resp"] = out
        return out

    def on_resp(self, msg):
        """Initiator: HS_RESP in; the responder's proof first, then HS_FIN out."""
        if header(msg) != HS_RESP:
            raise Refused("not an HS_RESP")
        v = self.v
        e_r = msg[2:67]
        v["e_R"] = e_r
        self._keys(v["e_I"], e_r)
        pt = unseal(v["k_r"], N0, v["h2"], msg[67:])
        key, nick = idb_decode(pt[:65])
        v["h3"] = H(v["h2"], pt[:65])
        verify(key, b"veil/2 signature responder" + v["h3"], pt[65:])
        self.peer = (key, nick)
        v["h4"] = H(v["h3"], pt[65:])
        v["idb_I"] = self._block()
        v["h5"] = H(v["h4"], v["idb_I"])
        v["signed_initiator"] = b"veil/2 signature initiator" + v["h5"]
        v["sig_I"] = self.me.sign(v["signed_initiator"])
        v["fin_plaintext"] = v["idb_I"] + v["sig_I"]
        v["fin_ciphertext"] = seal(v["k_i"], N0, v["h4"], v["fin_plaintext"])
        out = bytes([VERSION, HS_FIN]) + v["fin_ciphertext"]
        v["hs_fin"] = out
        self._session()
        return out

    def on_fin(self, msg):
        """Responder: HS_FIN in; the initiator's proof."""
        if header(msg) != HS_FIN:
            raise Refused("not an HS_FIN")
        v = self.v
        pt = unseal(v["k_i"], N0, v["h4"], msg[2:])
        key, nick = idb_decode(pt[:65])
        v["h5"] = H(v["h4"], pt[:65])
        verify(key, b"veil/2 signature initiator" + v["h5"], pt[65:])
        self.peer = (key, nick)
        self._session()


# ---- 2.3: data, the Double Ratchet with header encryption --------------------

def bucket(n):
    for b in BUCKETS:
        if n <= b:
            return b
    raise Refused("too long")


def pad(kind, body):
    need = 3 + len(body)
    return bytes([kind]) + struct.pack(">H", len(body)) + body + bytes(bucket(need) - need)


def body_ok(kind, body):
    """The inner kinds' body rules of 2.3, exactly."""
    n = len(body)
    if kind == TEXT:
        return 14 <= n <= 4013 and struct.unpack(">I", body[8:12])[0] != 0 and \
            body[12] & ~0x01 == 0
    if kind == CLOSE:
        return n == 0
    if kind == ACK:
        return n == 12
    if kind in (PING, PONG):
        return n == 4
    if kind == VIEW:
        if n < 1 or not 1 <= body[0] <= 64 or n != 1 + 32 * body[0]:
            return False
        ids = [body[1 + 32 * i:33 + 32 * i] for i in range(body[0])]
        return all(a < b for a, b in zip(ids, ids[1:]))
    return False


def unpad(p, ok=body_ok):
    if len(p) not in BUCKETS:
        raise Refused("not a bucket")
    kind, n = p[0], struct.unpack(">H", p[1:3])[0]
    if n > len(p) - 3 or bucket(3 + n) != len(p) or any(p[3 + n:]):
        raise Refused("padding")
    body = p[3:3 + n]
    if not ok(kind, body):
        raise Refused("kind")
    return kind, body


def text_body(stream, seq, text, flags=0):
    return stream + struct.pack(">IB", seq, flags) + text


def kdf_rk(rk, dh):
    out = expand(extract(rk, dh), b"veil/2 ratchet step", 96)
    return out[:32], out[32:64], out[64:]


def kdf_ck(ck):
    out = expand(ck, b"veil/2 ratchet", 64)
    return out[:32], out[32:]


class Session:
    """An established veil/2 session (2.3): the Double Ratchet with header
    encryption, stepped at send time. For the worked example, scalars (ratchet
    keys) and nonces (header nonces) can be fixed; self.last holds the values
    of the last message sealed."""

    def __init__(self, room, m_i, m_r, initiator, prk, eph, e_r):
        self.room, self.initiator = room, initiator
        self.me_id, self.peer_id = (m_i, m_r) if initiator else (m_r, m_i)
        self.rk = expand(prk, b"veil/2 root", 32)
        ck_r0 = expand(prk, b"veil/2 chain r0", 32)
        hk_r0 = expand(prk, b"veil/2 header r0", 32)
        nhk_i = expand(prk, b"veil/2 header i1", 32)
        nhk_r = expand(prk, b"veil/2 header r1", 32)
        self.start = {"rk0": self.rk, "ck_r0": ck_r0, "hk_r0": hk_r0, "nhk_i": nhk_i,
                      "nhk_r": nhk_r}
        self.ns = self.pn = self.nr = 0
        self.phkr = None
        if initiator:
            self.dhs, self.dhr = None, e_r
            self.cks = self.hks = None
            self.nhks = nhk_i
            self.ckr, self.hkr, self.nhkr = ck_r0, hk_r0, nhk_r
            self.due = True
        else:
            self.dhs, self.dhr = eph, None
            self.cks, self.hks, self.nhks = ck_r0, hk_r0, nhk_r
            self.ckr = self.hkr = None
            self.nhkr = nhk_i
            self.due = False
        self.scalars, self.nonces = [], []
        self.stream, self.seq = os.urandom(8), 0
        self.last = {}

    def _ids(self, sending):
        s, r = (self.me_id, self.peer_id) if sending else (self.peer_id, self.me_id)
        return self.room + struct.pack(">HH", s, r)

    def seal_inner(self, kind, body):
        last = {}
        if self.due:
            sc = self.scalars.pop(0) if self.scalars else None
            priv = p256_from_scalar(sc) if sc else p256_new()
            dh = ecdh(priv, self.dhr)
            self.rk, self.cks, nhk = kdf_rk(self.rk, dh)
            self.pn, self.ns, self.dhs = self.ns, 0, priv
            self.hks, self.nhks = self.nhks, nhk
            self.due = False
            last = {"scalar": sc, "dh": p256_pub(priv), "ecdh": dh, "rk": self.rk,
                    "ck": self.cks, "nhk": nhk}
        mk, self.cks = kdf_ck(self.cks)
        hn = self.nonces.pop(0) if self.nonces else os.urandom(12)
        hdr = p256_pub(self.dhs) + struct.pack(">II", self.pn, self.ns)
        adh = bytes([VERSION, DATA]) + self._ids(True)
        hct = seal(self.hks, hn, adh, hdr)
        nb = bytes(8) + struct.pack(">I", self.ns)
        adb = bytes([VERSION, DATA]) + hn + hct + self._ids(True)
        padded = pad(kind, body)
        msg = bytes([VERSION, DATA]) + hn + hct + seal(mk, nb, adb, padded)
        last.update({"mk": mk, "ck_next": self.cks, "hn": hn, "hdr": hdr, "ad_h": adh,
                     "hct": hct, "nb": nb, "ad_b": adb, "padded": padded, "data": msg})
        self.last = last
        self.ns += 1
        return msg

    def seal_text(self, text):
        self.seq += 1
        return self.seal_inner(TEXT, text_body(self.stream, self.seq, text))

    def _try(self, key, hn, ct, ad):
        if key is None:
            return None
        try:
            return AESGCM(key).decrypt(hn, ct, ad)
        except InvalidTag:
            return None

    def open(self, msg):
        """(kind, body, gap); Refused leaves the session as it was."""
        if header(msg) != DATA:
            raise Refused("not DATA")
        hn, hct, ct = msg[2:14], msg[14:103], msg[103:]
        adh = bytes([VERSION, DATA]) + self._ids(False)
        hdr, new = self._try(self.hkr, hn, hct, adh), False
        if hdr is None:
            hdr, new = self._try(self.nhkr, hn, hct, adh), True
        if hdr is None:
            if self._try(self.phkr, hn, hct, adh) is not None:
                raise Refused("REORDER")
            raise Refused("AUTH")
        dh, (pn, n) = hdr[:65], struct.unpack(">II", hdr[65:])
        if not new:
            if dh != self.dhr:
                raise Refused("header key")
            if n < self.nr:
                raise Refused("REPLAY")
            if n - self.nr > 1024:
                raise Refused("LIMIT")
            rk, ck, nhk, gap, steps = self.rk, self.ckr, self.nhkr, n - self.nr, n - self.nr + 1
        else:
            if dh == self.dhr or self.dhs is None or pn < self.nr:
                raise Refused("new chain")
            if pn - self.nr > 1024 or n > 1024:
                raise Refused("LIMIT")
            rk, ck, nhk = kdf_rk(self.rk, ecdh(self.dhs, dh))
            gap, steps = pn - self.nr + n, n + 1
        for _ in range(steps):
            mk, ck = kdf_ck(ck)
        adb = bytes([VERSION, DATA]) + hn + hct + self._ids(False)
        padded = unseal(mk, bytes(8) + struct.pack(">I", n), adb, ct)
        if new:
            self.phkr, self.hkr, self.nhkr = self.hkr, self.nhkr, nhk
            self.rk, self.dhr, self.due = rk, dh, True
        self.ckr, self.nr = ck, n + 1
        kind, body = unpad(padded)
        return kind, body, gap


class SessionV1:
    """veil/1's established session (2.3 and 2.4 of PROTOCOL.md version 1):
    chains per direction, epoch and counter in the clear; only what the
    tests against 0.1.0 need."""

    def __init__(self, room, m_i, m_r, initiator, root, ck_ir, ck_ri):
        self.room, self.initiator, self.root = room, initiator, root
        self.me_id, self.peer_id = (m_i, m_r) if initiator else (m_r, m_i)
        self.send = [ck_ir if initiator else ck_ri, 0]
        self.recv = [ck_ri if initiator else ck_ir, 0]

    def _ad(self, ctr, sending):
        s, r = (self.me_id, self.peer_id) if sending else (self.peer_id, self.me_id)
        return bytes([1, DATA]) + struct.pack(">II", 0, ctr) + self.room + struct.pack(">HH", s, r)

    def seal_inner(self, kind, body):
        out = expand(self.send[0], b"veil/1 ratchet", 64)
        mk, self.send[0] = out[:32], out[32:]
        ctr = self.send[1]
        ad = self._ad(ctr, True)
        self.send[1] += 1
        return ad[:10] + seal(mk, bytes(8) + struct.pack(">I", ctr), ad, pad(kind, body))

    def seal_text(self, text):
        return self.seal_inner(TEXT, text)

    def open(self, msg):
        if len(msg) < 90 or msg[1] != DATA or len(msg) - 26 not in BUCKETS:
            raise Refused("not DATA")
        epoch, ctr = struct.unpack(">II", msg[2:10])
        if epoch != 0 or ctr < self.recv[1] or ctr - self.recv[1] > 1024:
            raise Refused("counter")
        ck = self.recv[0]
        for _ in range(ctr - self.recv[1] + 1):
            out = expand(ck, b"veil/1 ratchet", 64)
            mk, ck = out[:32], out[32:]
        padded = unseal(mk, bytes(8) + struct.pack(">I", ctr), self._ad(ctr, False), msg[10:])
        self.recv = [ck, ctr + 1]
        kind, body = unpad(padded, lambda k, b: (k == TEXT and 1 <= len(b) <= 4000) or
                           (k in (2, 3) and len(b) == 65) or (k == CLOSE and not b))
        return kind, body, 0


# ---- veil/1, for the tests that show what an attack did on 0.1.0 ------------

class V1:
    """veil/1's handshake (PROTOCOL.md version 1, 2.2), responder and
    initiator, with the same hostile knobs as Handshake: a claim is put in
    the identity plaintext as is (veil/1 trusted it before any proof)."""

    NAME = b"veil/1 P-256 HKDF-SHA256 AES-256-GCM Ed25519"

    def __init__(self, me, room, room_key, m_i, m_r, initiator, claim=None):
        self.me, self.room, self.room_key = me, room, room_key
        self.m_i, self.m_r, self.initiator, self.claim = m_i, m_r, initiator, claim
        self.eph = p256_new()
        self.peer = None
        self.session = None

    def _start(self, e_i):
        self.h = H(H(self.NAME), self.room, struct.pack(">HH", self.m_i, self.m_r), e_i)

    def _keys(self, e_i, e_r):
        self.h = H(self.h, e_r)
        self.ss = ecdh(self.eph, e_r if self.initiator else e_i)
        prk = extract(self.h, self.ss + self.room_key)
        self.k_r = expand(prk, b"veil/1 handshake r->i", 32)
        self.k_i = expand(prk, b"veil/1 handshake i->r", 32)

    def _id(self):
        key = self.claim or self.me.pub
        return key + bytes([len(self.me.nick)]) + self.me.nick

    def _session(self):
        prk = extract(self.h, self.ss + self.room_key)
        self.session = SessionV1(self.room, self.m_i, self.m_r, self.initiator,
                                 expand(prk, b"veil/1 root", 32),
                                 expand(prk, b"veil/1 chain i->r", 32),
                                 expand(prk, b"veil/1 chain r->i", 32))

    def init(self):
        e_i = p256_pub(self.eph)
        self.e_i = e_i
        self._start(e_i)
        return bytes([1, HS_INIT]) + e_i

    def accept(self, msg):
        e_i, e_r = msg[2:67], p256_pub(self.eph)
        self._start(e_i)
        self._keys(e_i, e_r)
        pt = self._id()
        out = bytes([1, HS_RESP]) + e_r + seal(self.k_r, N0, self.h, pt)
        self.h = H(self.h, pt)
        return out

    def on_resp(self, msg):
        e_r = msg[2:67]
        self._keys(self.e_i, e_r)
        pt = unseal(self.k_r, N0, self.h, msg[67:])
        self.peer = (pt[:32], pt[33:33 + pt[32]])
        self.h = H(self.h, pt)
        h3, mine = self.h, self._id()
        self.h = H(self.h, mine)
        sig = self.me.sign(b"veil/1 signature initiator" + self.h)
        out = bytes([1, HS_FIN]) + seal(self.k_i, N0, h3, mine + sig)
        self._session()
        return out

    def on_fin(self, msg):
        pt = unseal(self.k_i, N0, self.h, msg[2:])
        key, nick = pt[:32], pt[33:33 + pt[32]]
        self.h = H(self.h, pt[:-64])
        verify(key, b"veil/1 signature initiator" + self.h, pt[-64:])
        self.peer = (key, nick)
        sig = self.me.sign(b"veil/1 signature responder" + self.h)
        n1 = bytes(11) + b"\x01"
        out = bytes([1, 4]) + seal(self.k_r, n1, self.h, sig)
        self._session()
        return out


# ---- a member of a room, over the relay ---------------------------------------

class Member:
    """One member over relay.py: answers HS_INIT, starts handshakes as a
    newcomer, opens DATA, answers PINGs, says --say lines to every peer it
    gets a session with. Prints one JSON line per event."""

    def __init__(self, a, rl, room, room_key, ident, out):
        self.a, self.rl, self.room, self.room_key = a, rl, room, room_key
        self.me, self.out = ident, out
        self.hs = {}            # member id -> handshake under way
        self.sess = {}          # member id -> (session, peer key, peer nick)
        self.said = set()

    def ev(self, **kw):
        self.out.write(json.dumps(kw) + "\n")
        self.out.flush()

    def _hs(self, mi, mr, initiator):
        if self.a.proto == 1:
            return V1(self.me, self.room, self.room_key, mi, mr, initiator, self.a.claim)
        return Handshake(self.me, self.room, self.room_key, mi, mr, initiator,
                         claim=self.a.claim)

    def send(self, dst, blob, what):
        self.ev(ev="send", member=dst, what=what, len=len(blob))
        self.rl.send_data(dst, blob)

    def start(self, peer):
        h = self._hs(self.rl.member, peer, True)
        self.hs[peer] = h
        self.send(peer, h.init(), "HS_INIT")

    def secure(self, peer, h):
        s = h.session
        self.sess[peer] = s
        self.hs.pop(peer, None)
        self.ev(ev="secure", member=peer, nick=h.peer[1].decode(errors="replace"),
                key=h.peer[0].hex(), fpr=fingerprint(h.peer[0]))
        if peer not in self.said:
            self.said.add(peer)
            for t in self.a.say:
                self.send(peer, s.seal_text(t.encode()), "DATA")

    def on_data(self, src, blob):
        if len(blob) < 2:
            return
        t = blob[1]
        self.ev(ev="recv", member=src, type=t, len=len(blob), version=blob[0])
        try:
            if t == HS_INIT:
                if src in self.hs and self.hs[src].initiator and self.rl.member < src:
                    return      # crossing: the lower member id stays initiator
                h = self._hs(src, self.rl.member, False)
                self.hs[src] = h
                self.send(src, h.accept(blob), "HS_RESP")
            elif t == HS_RESP and src in self.hs:
                h = self.hs[src]
                self.send(src, h.on_resp(blob), "HS_FIN")
                if self.a.proto == 2:
                    self.secure(src, h)
            elif t == HS_FIN and src in self.hs:
                h = self.hs[src]
                conf = h.on_fin(blob)
                if conf:
                    self.send(src, conf, "HS_CONFIRM")
                self.secure(src, h)
            elif t == 4 and self.a.proto == 1 and src in self.hs:
                self.secure(src, self.hs[src])      # veil/1's HS_CONFIRM (not checked)
            elif t == DATA and src in self.sess:
                s = self.sess[src]
                kind, body, gap = s.open(blob)
                if kind == TEXT:
                    text = body[13:] if self.a.proto == 2 else body
                    self.ev(ev="msg", member=src, text=text.decode(errors="replace"), gap=gap)
                elif kind == CLOSE:
                    self.ev(ev="closed", member=src)
                    del self.sess[src]
                elif kind == PING and self.a.proto == 2:
                    self.send(src, s.seal_inner(PONG, body), "DATA")
        except Refused as e:
            self.ev(ev="refused", member=src, type=t, why=str(e))
            self.hs.pop(src, None)


def member_args(argv):
    ap = argparse.ArgumentParser(prog="peer2.py member")
    ap.add_argument("--relay", required=True, help="HOST:PORT")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--invite", help="an invite code (PROTOCOL.md 4)")
    g.add_argument("--secret", help="the room secret, 64 hex digits")
    g.add_argument("--room-v1", help="veil/1: the room name (SHA-256 room id and key)")
    ap.add_argument("--nick", required=True)
    ap.add_argument("--seed", help="identity seed, 64 hex digits (default: a new one)")
    ap.add_argument("--claim", help="put this key (64 hex) in our identity block, "
                    "while signing with our own: a claim without proof")
    ap.add_argument("--proto", type=int, default=2, choices=(1, 2))
    ap.add_argument("--say", action="append", default=[], help="send to every peer once secure")
    ap.add_argument("--no-initiate", action="store_true",
                    help="do not start handshakes with the members already there")
    ap.add_argument("--hold", type=float, default=3600.0, help="seconds to stay")
    ap.add_argument("--rejoin", type=int, default=0,
                    help="flood: join N times, each with a new key and nick NICK<i>, "
                    "start a handshake with everyone there, leave once it is sent")
    a = ap.parse_args(argv)
    a.claim = bytes.fromhex(a.claim) if a.claim else None
    return a


def member(argv):
    import relay as rl
    a = member_args(argv)
    if a.invite:
        secret, _ = invite_decode(a.invite)
        room, room_key = room_from_secret(secret)
    elif a.secret:
        room, room_key = room_from_secret(bytes.fromhex(a.secret))
    else:
        name = a.room_v1.encode()
        room, room_key = H(b"veil/1 room id", name), H(b"veil/1 room key", name)
    host, port = a.relay.rsplit(":", 1)
    host = host.strip("[]")
    if a.rejoin:
        return flood(a, rl, host, int(port), room, room_key)
    seed = bytes.fromhex(a.seed) if a.seed else os.urandom(32)
    c = rl.Client(host, int(port), timeout=10)
    m = Member(a, c, room, room_key, Identity(seed, a.nick), sys.stdout)
    me, others = c.join(room)
    m.ev(ev="joined", member=me, others=others, key=m.me.pub.hex(),
         fpr=fingerprint(m.me.pub))
    if not a.no_initiate:
        for o in others:
            m.start(o)
    end, ping = time.monotonic() + a.hold, time.monotonic() + 10
    while time.monotonic() < end:
        r, _, _ = select.select([c.sock], [], [], 0.5)
        if time.monotonic() > ping:
            c.ping()
            ping = time.monotonic() + 10
        if not r and not c.buf:
            continue
        try:
            ftype, src, _, payload = c.recv(timeout=5)
        except rl.Closed:
            m.ev(ev="closed_by_relay")
            return 1
        if ftype == rl.DATA:
            m.on_data(src, payload)
        elif ftype == rl.JOINED:
            m.ev(ev="member_joined", member=src)
        elif ftype == rl.LEFT:
            m.ev(ev="member_left", member=src)
            m.hs.pop(src, None)
            m.sess.pop(src, None)
    return 0


def flood(a, rl, host, port, room, room_key):
    """Join, start a handshake with every member there, send HS_FIN when the
    answer comes, leave; a.rejoin times, each with a new identity."""
    done = t0 = 0
    t0 = time.monotonic()
    for i in range(a.rejoin):
        ident = Identity.generate("%s%d" % (a.nick, i))
        with rl.Client(host, port, timeout=10) as c:
            me, others = c.join(room)
            pend = {}
            for o in others:
                h = V1(ident, room, room_key, me, o, True) if a.proto == 1 else \
                    Handshake(ident, room, room_key, me, o, True)
                pend[o] = h
                c.send_data(o, h.init())
            deadline = time.monotonic() + 10
            while pend and time.monotonic() < deadline:
                try:
                    ftype, src, _, payload = c.recv(timeout=deadline - time.monotonic())
                except TimeoutError:
                    break
                if ftype == rl.LEFT:
                    # Our previous self, still listed in WELCOME: the relay saw
                    # that connection close after this one joined.
                    pend.pop(src, None)
                    continue
                if ftype != rl.DATA or src not in pend or len(payload) < 2 or \
                        payload[1] != HS_RESP:
                    continue
                try:
                    c.send_data(src, pend.pop(src).on_resp(payload))
                    done += 1
                except Refused:
                    pass
            if a.proto == 1:
                time.sleep(0.005)   # let HS_FIN leave before LEFT (veil/1 needs CONFIRM)
    sys.stdout.write(json.dumps({"ev": "flood", "joins": a.rejoin, "handshakes": done,
                                 "seconds": round(time.monotonic() - t0, 1)}) + "\n")
    return 0


# ---- the worked example (2.7) ----------------------------------------------

def example(path):
    """Recomputes 2.7 and compares each value with the text. Returns the
    number of values that differ (0: all agree)."""
    alice = Identity(bytes(range(32)), "alice")
    bob = Identity(bytes(range(32, 64)), "bob")
    secret = H(b"veil worked example room")
    room, room_key = room_from_secret(secret)
    sc_i, sc_r = H(b"veil example e_I"), H(b"veil example e_R")
    i = Handshake(alice, room, room_key, 2, 1, True, sc_i)
    r = Handshake(bob, room, room_key, 2, 1, False, sc_r)
    init = i.init()
    resp = r.accept(init)
    fin = i.on_resp(resp)
    r.on_fin(fin)
    assert i.peer == (bob.pub, b"bob") and r.peer == (alice.pub, b"alice")
    v = dict(i.v)
    mine = {
        "alice seed": alice.seed, "id_I = alice's Ed25519 public key": alice.pub,
        "bob seed": bob.seed, "id_R = bob's Ed25519 public key": bob.pub,
        'room secret = SHA-256("veil worked example room")': secret,
        'room = HKDF-Expand(HKDF-Extract("veil/2 room", secret), "veil/2 room id", 32)': room,
        'room_key = HKDF-Expand(same PRK, "veil/2 room key", 32)': room_key,
        'e_I scalar = SHA-256("veil example e_I")': sc_i, "e_I": v["e_I"],
        'e_R scalar = SHA-256("veil example e_R")': sc_r, "e_R": v["e_R"],
        "HS_INIT = 02 01 || e_I": init,
        "h0 = H(PROTOCOL_NAME)": v["h0"], "h1 = H(h0 || room || 0002 || 0001 || e_I)": v["h1"],
        "h2 = H(h1 || e_R)": v["h2"], "ss = ECDH(e_I, e_R), the x coordinate": v["ss"],
        "prk_hs = HKDF-Extract(h2, ss || room_key)": v["prk_hs"], "k_r": v["k_r"],
        "k_i": v["k_i"],
        'idb_R = id_R || 03 "bob" || 29 zero bytes': r.v["idb_R"], "h3 = H(h2 || idb_R)": v["h3"],
        'signed = "veil/2 signature responder" || h3': r.v["signed_responder"],
        "sig_R = Ed25519-Sign(bob, signed)": r.v["sig_R"],
        "plaintext = idb_R || sig_R": r.v["resp_plaintext"],
        "AEAD(k_r, n0, ad = h2, plaintext)": r.v["resp_ciphertext"],
        "HS_RESP = 02 02 || e_R || ciphertext": resp, "h4 = H(h3 || sig_R)": v["h4"],
        'idb_I = id_I || 05 "alice" || 27 zero bytes': v["idb_I"],
        "h5 = H(h4 || idb_I)": v["h5"],
        'signed = "veil/2 signature initiator" || h5': v["signed_initiator"],
        "sig_I = Ed25519-Sign(alice, signed)": v["sig_I"],
        "plaintext = idb_I || sig_I": v["fin_plaintext"],
        "AEAD(k_i, n0, ad = h4, plaintext)": v["fin_ciphertext"],
        "HS_FIN = 02 03 || ciphertext": fin,
        "prk = HKDF-Extract(h5, ss || room_key)": v["prk"],
    }
    a, b = i.session, r.session
    st = a.start
    assert st == b.start
    mine.update({
        'rk0 = HKDF-Expand(prk, "veil/2 root", 32)': st["rk0"],
        'ck_r0 = HKDF-Expand(prk, "veil/2 chain r0", 32)  (bob\'s first chain, unused here)':
        st["ck_r0"],
        'hk_r0 = HKDF-Expand(prk, "veil/2 header r0", 32)': st["hk_r0"],
        'nhk_i = HKDF-Expand(prk, "veil/2 header i1", 32)': st["nhk_i"],
        'nhk_r = HKDF-Expand(prk, "veil/2 header r1", 32)': st["nhk_r"],
    })
    # Alice sends, bob answers, alice answers: the values of each message in
    # the order the text gives them.
    stream_a, stream_b = bytes.fromhex("616c696365000001"), bytes.fromhex("626f620000000001")
    a.scalars = [H(b"veil example ratchet alice 1"), H(b"veil example ratchet alice 2")]
    b.scalars = [H(b"veil example ratchet bob 1")]
    a.nonces = [H(b"veil example hn 1")[:12], H(b"veil example hn 3")[:12]]
    b.nonces = [H(b"veil example hn 2")[:12]]
    rest = []
    for (src, dst, stream, seq, text) in ((a, b, stream_a, 1, b"hello bob"),
                                          (b, a, stream_b, 1, b"hi alice"),
                                          (a, b, stream_a, 2, b"how are you")):
        m = src.seal_inner(TEXT, text_body(stream, seq, text))
        kind, body, gap = dst.open(m)
        assert (kind, body[13:], gap) == (TEXT, text, 0)
        lv = src.last
        rest += [lv[k] for k in ("scalar", "dh", "ecdh", "rk", "ck", "nhk", "mk", "ck_next",
                                 "hn", "hdr", "ad_h", "hct", "nb", "ad_b", "padded", "data")]
    bad = checked = 0
    for title, want in example_sequence(path):
        got = mine.get(title)
        if got is None and rest:
            got = rest.pop(0)
        checked += 1
        if got is None:
            print("peer2: no value computed for %r" % title)
            bad += 1
        elif got != want:
            print("peer2: %s differs:\n  text %s\n  mine %s" % (title, want.hex(), got.hex()))
            bad += 1
    if rest:
        print("peer2: %d values computed but not in the text" % len(rest))
        bad += 1
    # The names of section 4 for the same identities.
    names = {"fingerprint(alice)": fingerprint(alice.pub), "fingerprint(bob)": fingerprint(bob.pub),
             "digits(alice)": digits(alice.pub), "digits(bob)": digits(bob.pub),
             "safety number": safety_number(alice.pub, bob.pub)}
    text = open(path).read()
    sec4 = text[text.index("**Example** (the identities of section 2.7)"):]
    for k, want in names.items():
        checked += 1
        m = re.search(r"^%s +(.+)$" % re.escape(k), sec4, re.M)
        if m is None or m.group(1).strip() != want:
            print("peer2: %s differs: text %r, mine %r" % (k, m and m.group(1), want))
            bad += 1
    print("peer2: worked example: %d values checked, %d differ" % (checked, bad))
    return bad


def example_sequence(path):
    """The values of 2.7 in the order the text gives them: [(title, bytes)]."""
    text = open(path).read()
    sec = text[text.index("### 2.7 Worked example"):text.index("## 3. keyd IPC")]
    out, title, hexs = [], None, ""
    for line in sec.splitlines() + ["```"]:
        m = re.match(r"^(\S.*?)  \((\d+) bytes\)$", line)
        if m or line.startswith("```"):
            if title:
                out.append((title, bytes.fromhex(hexs)))
            title, hexs = (m.group(1), "") if m else (None, "")
        elif title and re.match(r"^    [0-9a-f]+$", line):
            hexs += line.strip()
    return out


def main(argv):
    if len(argv) == 3 and argv[1] == "example":
        return 1 if example(argv[2]) else 0
    if len(argv) >= 2 and argv[1] == "member":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        return member(argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
