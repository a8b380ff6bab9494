#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Writes the seed corpora in tests/fuzz/corpus/<harness>/: one small valid
message per type, built here from PROTOCOL.md independently of the C codecs
(so a seed the codecs refuse points at a disagreement). Run from anywhere:
    python3 tests/fuzz/mkcorpus.py
"""
import os
import base64
import hashlib
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def str8(b): return u8(len(b)) + b
def str16(b): return u16(len(b)) + b
def str32(b): return u32(len(b)) + b


def frame(t, src, dst, payload=b""):
    return u8(1) + u8(t) + u16(src) + u16(dst) + u32(len(payload)) + payload


ROOM = bytes(range(32))
ROOM_KEY = bytes(range(0x40, 0x60))
EPH = b"\x04" + bytes(range(1, 65))
ID = bytes(range(0x20, 0x40))
SIG = b"\x5e" * 64
FPR_A = b"\x11" * 20
FPR_B = bytes(range(20))

FRAMES_TO_RELAY = {
    "join": frame(1, 0, 0, ROOM),
    "data_unicast": frame(5, 0, 2, b"\x02\x01" + EPH),
    "data_bcast": frame(5, 0, 0xFFFF, b"hi"),
    "ping": frame(6, 0, 0),
}
FRAMES_TO_CLIENT = {
    "welcome": frame(2, 0, 3, u16(2) + u16(1) + u16(2)),
    "welcome_alone": frame(2, 0, 1, u16(0)),
    "joined": frame(3, 4, 0),
    "left": frame(4, 4, 0),
    "data": frame(5, 1, 3, b"\x02\x10" + b"\0" * 181),
    "pong": frame(7, 0, 0),
    "error": frame(8, 0, 0, u8(3)),
}


def inner(kind, body):
    need = 3 + len(body)
    bucket = 64
    while bucket < need:
        bucket *= 2
    return u8(kind) + u16(len(body)) + body + b"\0" * (bucket - need)


def idb(key, nick):
    """PROTOCOL.md 2.2: an identity block, 65 bytes whatever the nick."""
    return key + str8(nick) + bytes(32 - len(nick))


IDB_BOB = idb(ID, b"bob")
# A TEXT body (PROTOCOL.md 2.3): u64 stream, u32 seq, u8 flags, the text.
TEXT_HELLO = b"kdclient" + u32(1) + u8(0) + b"hello"
IDB_LONG = idb(ID, b"n" * 32)
E2E = {
    "hs_init": b"\x02\x01" + EPH,
    "hs_resp": b"\x02\x02" + EPH + bytes(65 + 64 + 16),
    "hs_fin": b"\x02\x03" + bytes(65 + 64 + 16),
    # PROTOCOL.md 2.3: header nonce (12), sealed header (89), body (bucket + 16).
    "data_64": b"\x02\x10" + bytes(range(12)) + b"\xee" * 89 + bytes(64 + 16),
    "data_128": b"\x02\x10" + bytes(12) + bytes(89) + bytes(128 + 16),
    "inner_text": inner(1, TEXT_HELLO),
    "inner_close": inner(4, b""),
    "inner_ack": inner(5, b"kdclient" + u32(9)),
    "inner_ping": inner(6, u32(0x01020304)),
    "inner_pong": inner(7, u32(7)),
    "inner_view": inner(8, u8(2) + b"\x01" * 32 + b"\x02" * 32),
    "inner_rekey_v1": inner(2, EPH),
    "idb": IDB_BOB,
    "idb_long": IDB_LONG,
    "fpr_colon": b"0011:2233:4455:6677:8899:aabb:ccdd:eeff:0123:4567",
    "fpr_dash": b"0011-2233-4455-6677-8899-AABB-CCDD-EEFF-0123-4567",
    "fpr_bare": b"00112233445566778899aabbccddeeff01234567",
}


def ipc(code, fields):
    body = u8(code) + fields
    return u32(len(body)) + body


ROUTE = ROOM + ROOM_KEY + u16(1) + u16(2) + u32(0)
TRUST_NONE = u8(0) + u8(0) + str8(b"") + bytes(20)     # flags, reason, label, fpr2
REQUESTS = {
    "hello": ipc(0x01, u8(2) + str8(b"alice") + u8(1) + str8(b"bob") + FPR_A),
    "hs_start": ipc(0x02, ROUTE),
    "hs_accept": ipc(0x03, ROOM + ROOM_KEY + u16(1) + u16(2) + u32(7)
                     + str32(E2E["hs_init"])),
    "hs_next": ipc(0x04, u32(1) + str32(E2E["hs_resp"])),
    "seal": ipc(0x05, u16(2) + u32(1) + u32(2) + u8(1) + str16(TEXT_HELLO)),
    "seal_ping": ipc(0x05, u16(1) + u32(1) + u8(6) + str16(u32(5))),
    "seal_view": ipc(0x05, u16(1) + u32(1) + u8(8) + str16(u8(1) + ID)),
    "open": ipc(0x06, u32(1) + str32(E2E["data_64"])),
    "close": ipc(0x08, u32(1)),
    "forget": ipc(0x09, str8(b"bob")),
    "verify": ipc(0x0A, u32(1)),
    "status": ipc(0x0B, b""),
}
ANSWERS = {
    "hello": ipc(0x81, u8(2) + FPR_A),
    "hs": ipc(0x82, u32(1) + str32(E2E["hs_init"])),
    "hs_next": ipc(0x84, u32(1) + u8(0) + str32(E2E["hs_fin"])),
    "hs_next_done": ipc(0x84, u32(1) + u8(1) + str32(b"") + str8(b"bob") + FPR_B + u8(2)
                        + TRUST_NONE),
    "hs_next_refused": ipc(0x84, u32(1) + u8(1) + str32(E2E["hs_fin"]) + str8(b"bob")
                           + FPR_B + u8(5) + u8(0) + u8(1) + str8(b"") + FPR_A),
    "hs_next_known": ipc(0x84, u32(1) + u8(1) + str32(b"") + str8(b"bob") + FPR_B + u8(2)
                         + u8(0x03) + u8(0) + str8(b"robert") + FPR_A),
    "sealed": ipc(0x85, u16(2) + u32(1) + u8(0) + u8(0) + str32(E2E["data_64"])
                  + u32(2) + u8(17) + u8(0) + str32(b"")),
    "opened": ipc(0x86, u32(1) + u8(1) + u32(0) + str16(TEXT_HELLO)),
    "opened_closed": ipc(0x86, u32(1) + u8(4) + u32(2) + str16(b"")),
    "opened_ack": ipc(0x86, u32(1) + u8(5) + u32(0) + str16(b"kdclient" + u32(9))),
    "opened_pong": ipc(0x86, u32(1) + u8(7) + u32(0) + str16(u32(5))),
    "opened_view": ipc(0x86, u32(1) + u8(8) + u32(0) + str16(u8(1) + ID)),
    "close": ipc(0x88, u32(1) + str32(E2E["data_64"])),
    "forget": ipc(0x89, u8(1) + FPR_B),
    "verify": ipc(0x8A, str8(b"bob") + FPR_B + FPR_A + u8(4)
                  + str8(b"01234 56789 01234 56789")),
    "status": ipc(0x8B, u32(7)),
    "error": ipc(0xFF, u8(10) + u32(1) + u8(1) + str16(b"open failed: bad tag")),
}


def write(harness, seeds):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("fuzz_frame", {**FRAMES_TO_RELAY, **FRAMES_TO_CLIENT})
    write("fuzz_e2e", E2E)
    # The stream harnesses also see a prefix-less body and two messages back to back.
    req = dict(REQUESTS)
    req["two"] = REQUESTS["close"] + REQUESTS["seal"]
    write("fuzz_ipc_req", req)
    write("fuzz_ipc_ans", ANSWERS)
    # fuzz_roundtrip: the first byte selects the codec (see fuzz_roundtrip.c).
    rt = {}
    for k, v in FRAMES_TO_RELAY.items():
        rt["relay_" + k] = u8(0) + v
    for k, v in FRAMES_TO_CLIENT.items():
        rt["client_" + k] = u8(1) + v
    for k in ("hs_init", "hs_resp", "hs_fin", "data_64"):
        rt["e2e_" + k] = u8(2) + E2E[k]
    for k in ("inner_text", "inner_close", "inner_ack", "inner_ping", "inner_view"):
        rt[k] = u8(3) + E2E[k]
    rt["idb"] = u8(4) + IDB_BOB
    rt["idb_long"] = u8(4) + IDB_LONG
    for k, v in REQUESTS.items():
        rt["req_" + k] = u8(6) + v[4:]
    for k, v in ANSWERS.items():
        rt["ans_" + k] = u8(7) + v[4:]
    rt["fpr"] = u8(8) + FPR_B
    # Encode-then-decode seeds: fields in the order fuzz_roundtrip.c draws them.
    rt["enc_frame_join"] = u8(9) + u8(0) + u8(1) + u16(0) + u16(0) + u16(32) + ROOM
    rt["enc_e2e_init"] = u8(10) + u8(1) + u16(65) + EPH + u16(0) + u16(0) + u16(0)
    rt["enc_e2e_data"] = (u8(10) + u8(16) + u16(0) + u16(12) + bytes(12) + u16(89)
                          + bytes(89) + u16(80) + bytes(80))
    rt["enc_inner_text"] = u8(11) + u8(1) + u16(len(TEXT_HELLO)) + TEXT_HELLO
    rt["enc_inner_view"] = u8(11) + u8(8) + u16(33) + u8(1) + ID
    rt["enc_idb"] = u8(12) + ID + u16(3) + b"bob"
    rt["enc_ipc_close"] = u8(13) + u8(0x08) + u32(1)
    rt["enc_ipc_seal"] = (u8(13) + u8(0x05) + u32(0) + ROOM + u16(1) + u16(2)
                          + u16(0) + u16(0) + u16(len(TEXT_HELLO)) + TEXT_HELLO
                          + FPR_A + FPR_B + bytes(2) + u8(1) + bytes(2) + u32(0)
                          + u8(1) + u32(7) + u32(0) + u8(0) + u8(0) + u16(0)
                          + u16(0) + FPR_A + u16(0))
    rt["enc_ipc_hs_next"] = (u8(13) + u8(0x84) + u32(5) + ROOM + u16(0) + u16(0)
                             + u16(3) + b"bob" + u16(0) + u16(0) + FPR_B + FPR_A
                             + u8(1) + u8(2) + u8(0) + u8(0) + u8(0) + u32(0) + u32(0)
                             + u8(0) + u16(0) + u8(0) + u32(0) + u8(0x03) + u8(0)
                             + u16(6) + b"robert" + u8(0) + u32(0))
    write("fuzz_roundtrip", rt)
    write_keyd_chatc_seeds()
    write_invite_seeds()


def invite(secret, relays):
    """PROTOCOL.md 4.1: an invite code for (addr, fingerprint) relays."""
    b = u8(2) + u8(0) + secret + u8(len(relays))
    for addr, fp in relays:
        b += str8(addr) + str8(fp)
    b += hashlib.sha256(b"veil/2 invite" + b).digest()[:4]
    return b"veil:" + base64.urlsafe_b64encode(b).rstrip(b"=")


def write_invite_seeds():
    secret = bytes(range(32))
    # fuzz_invite.c: an odd first byte stands for the "veil:" prefix.
    one = invite(secret, [(b"127.0.0.1:7700", b"")])
    write("fuzz_invite", {
        "one_relay": one,
        "two_relays": invite(secret, [(b"relay.example.org:7700", bytes(range(32, 64))),
                                      (b"[::1]:7701", b"")]),
        "eight_relays": invite(secret, [(b"h%d:77%02d" % (i, i), bytes(32))
                                        for i in range(8)]),
        "no_prefix": u8(1) + one[5:],
    })


def session_script(*ops):
    """fuzz_session.c mode 5: op | arg << 3 per byte (see script() there)."""
    return u8(5) + bytes(ops)


def op(o, arg=0, extra=b""):
    return bytes([o | (arg << 3)]) + extra


def unit(ep, code, fields, src=None, later=False, lock=False, waited=False):
    """fuzz_dispatch.c: a control byte (endpoint A0 B0 A1 B1 = 0..3, splice
    the blob last answered to endpoint src, clock jump, another process takes
    or drops the known_peers lock, KEYD_LOCK_WAIT_MS pass), one request."""
    ctl = ep | (4 | src << 4 if src is not None else 0) | (8 if later else 0)
    ctl |= (0x40 if lock else 0) | (0x80 if waited else 0)
    return u8(ctl) + ipc(code, fields)


def write_keyd_chatc_seeds():
    # fuzz_session: modes 0-4 take one message; mode 5 a script over an
    # established pair that opens recorded messages in and out of order.
    ses = {
        "accept_init": u8(0) + E2E["hs_init"],
        "resp": u8(1) + E2E["hs_resp"],
        "fin": u8(2) + E2E["hs_fin"],
        "after_done": u8(3) + E2E["hs_resp"],
        "open_data": u8(4) + E2E["data_64"],
        "in_order": session_script(*[i << 3 for i in range(8)]),
        "both_ways": session_script(*[1 | i << 3 for i in range(5)], 0, 1 << 3),
        "skip_replay": session_script(3 << 3, 1 << 3, 2 << 3, 3 << 3),
        "mutate": b"".join([u8(5), op(2, 0, u16(12) + u8(1)), op(2, 1, u16(40) + u8(0)),
                            op(3, 0, u16(1) + u8(0x80)), op(0, 0)]),
        "live": b"".join([u8(5), op(4, 5), op(4, 0x13), op(5, 0), op(4, 1), op(5, 1),
                          op(6, 1), op(4, 2)]),
        # The pools' conversation in its order: every chain opened as it came.
        "chains": b"".join([u8(5), op(1, 0), op(0, 0), op(0, 1), op(0, 2), op(1, 1),
                            op(1, 2), op(0, 3), op(0, 4), op(1, 3), op(0, 5), op(0, 6)]),
        # Late, skipped and replayed across steps; mutated headers.
        "chains_late": b"".join([u8(5), op(0, 2), op(1, 1), op(0, 4), op(0, 1), op(6, 4),
                                 op(0, 3), op(1, 3), op(0, 5), op(1, 0), op(0, 0)]),
        "header_mutate": b"".join([u8(5), op(2, 0, u16(2) + u8(1)), op(2, 0, u16(20) + u8(4)),
                                   op(2, 0, u16(110) + u8(0x10)), op(2, 0, u16(103) + u8(0)),
                                   op(0, 0), op(3, 1, u16(50) + u8(2)), op(1, 0)]),
        "hs_replay": session_script(*[7 | i << 3 for i in range(8)]),
    }
    write("fuzz_session", ses)
    hello_a = unit(0, 0x01, u8(2) + str8(b"alice") + u8(0))
    hello_b = unit(1, 0x01, u8(2) + str8(b"bob") + u8(0))

    def hs_units(i, r, hi=1, hr=1, replaces=0):
        """A handshake, endpoint i (handle hi) initiating to r (handle hr)."""
        return b"".join([
            unit(i, 0x02, ROOM + ROOM_KEY + u16(1) + u16(2) + u32(0)),
            unit(r, 0x03, ROOM + ROOM_KEY + u16(2) + u16(1) + u32(replaces)
                 + str32(E2E["hs_init"]), src=i),
            unit(i, 0x04, u32(hi) + str32(E2E["hs_resp"]), src=r),
            unit(r, 0x04, u32(hr) + str32(E2E["hs_fin"]), src=i),
        ])
    hs = hello_a + hello_b + hs_units(0, 1)
    seal_a = unit(0, 0x05, u16(1) + u32(1) + u8(1) + str16(TEXT_HELLO))
    seal_b = unit(1, 0x05, u16(2) + u32(1) + u32(7) + u8(1)
                  + str16(b"kdclient" + u32(2) + u8(0) + b"hi alice"))
    ping_a = unit(0, 0x05, u16(1) + u32(1) + u8(6) + str16(u32(9)))
    open_a = unit(0, 0x06, u32(1) + str32(E2E["data_64"]), src=1)
    open_b = unit(1, 0x06, u32(1) + str32(E2E["data_64"]), src=0)
    disp = {
        "hello": hello_a,
        "before_hello": unit(0, 0x02, ROUTE) + hello_a,
        "old_version": unit(0, 0x01, str8(b"alice") + u8(0)) + hello_a,
        "status": hello_a + unit(0, 0x0B, b"") + hello_b + hs_units(0, 1)
                  + unit(0, 0x0B, b""),
        "handshake": hs,
        "talk": hs + seal_a + open_b + seal_b + open_a,
        "steps": hs + ping_a + open_b + seal_b + open_a + seal_a + open_b + seal_b + open_a,
        "late": hs + unit(0, 0x05, u16(1) + u32(1) + u8(6) + str16(u32(1)), later=True) + seal_a
                + open_b,
        "close": (hs + unit(0, 0x0A, u32(1)) + unit(1, 0x0A, u32(1))
                  + unit(0, 0x08, u32(1)) + open_b + unit(1, 0x09, str8(b"alice"))),
        "expect": (unit(0, 0x01, u8(2) + str8(b"alice") + u8(1) + str8(b"bob") + FPR_A)
                   + hello_b + hs_units(0, 1)),
        # A's own second connection as alice: SELF; then as bob towards B's
        # bob, who has alice pinned: refused (OWN_NAME on one side).
        "self": hs + unit(2, 0x01, u8(2) + str8(b"alice") + u8(0)) + hs_units(2, 0, 1, 2),
        "own_name": (hs + unit(3, 0x01, u8(2) + str8(b"alice") + u8(0))
                     + hs_units(3, 0, 1, 2)),
        # A new handshake from bob replacing his live session (same key).
        "replace": hs + hs_units(1, 0, 2, 2, replaces=1),
        "reflect": hs + seal_a + unit(0, 0x06, u32(1) + str32(E2E["data_64"]), src=0),
        # known_peers locked by someone else at alice's first HS_NEXT: put
        # off, then refused (VEIL_E_BUSY), then taken once the lock is free.
        "pins_busy": (hello_a + hello_b
                      + unit(0, 0x02, ROUTE)
                      + unit(1, 0x03, ROOM + ROOM_KEY + u16(2) + u16(1) + u32(0)
                             + str32(E2E["hs_init"]), src=0)
                      + unit(0, 0x04, u32(1) + str32(E2E["hs_resp"]), src=1, lock=True)
                      + unit(0, 0x04, u32(1) + str32(E2E["hs_resp"]), src=1, waited=True)
                      + unit(1, 0x05, u16(1) + u32(1) + u8(1)
                             + str16(b"kdclient" + u32(3) + u8(0) + b"meanwhile"))
                      + unit(0, 0x04, u32(1) + str32(E2E["hs_resp"]), src=1, lock=True)
                      + unit(1, 0x04, u32(1) + str32(E2E["hs_fin"]), src=0)
                      + unit(0, 0x0A, u32(1), lock=True) + unit(0, 0x0A, u32(1),
                                                                  lock=True)),
    }
    write("fuzz_dispatch", disp)
    # fuzz_conn: two chunking bytes, then what a client sends relayd.
    stream = b"".join(FRAMES_TO_RELAY.values())
    big = frame(5, 0, 0xFFFF, b"\x02\x10" + bytes(4106))
    write("fuzz_conn", {
        "one_read": u8(255) + u8(0) + stream,
        "bytewise": u8(0) + u8(0) + stream,
        "split": u8(3) + u8(5) + stream + big,
        "stalled": u8(200) + u8(0) + big * 12,
        "flowing": u8(100) + u8(200) + (stream + big) * 8,
        "oversize": u8(7) + u8(1) + frame(5, 0, 2)[:6] + u32(70000),
    })
    write_chatc_seeds()
    write_tls_seeds()
    write("fuzz_escape", {
        "plain": b"hello, world",
        "controls": b"a\x1b[31mred\x07\r\n\t\\ \x7f\x00",
        "c1_bidi": "\u0085\u009b x \u202e\u2066y\u2069".encode(),
        "invalid": b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xff\x80\xe2\x82",
        "utf8": "h\u00e9llo \u65e5\u672c \U0001f642".encode(),
    })


def client_hello():
    """A TLS 1.3 ClientHello as chatc sends it (ALPN veil/1), from Python's ssl:
    random and key share differ at every run, which is fine for a seed."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(["veil/1"])
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="relay.example")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def write_tls_seeds():
    """fuzz_relay_tls: mode byte, split byte, then what the peer sends;
    fuzz_relayfp: address length, address, then known_relays text."""
    hello = client_hello()
    frames = b"".join(FRAMES_TO_RELAY.values())
    write("fuzz_relay_tls", {
        "hello": u8(0) + u8(255) + hello,
        "hello_split": u8(0) + u8(1) + hello,
        "hello_then_frame": u8(0) + u8(9) + hello + frame(1, 0, 0, ROOM),
        "frame_in_clear": u8(0) + u8(3) + frame(1, 0, 0, ROOM),
        "frames": u8(1) + u8(7) + frames,
        "frames_bytewise": u8(1) + u8(0) + frames,
        "big_frame": u8(1) + u8(200) + frame(1, 0, 0, ROOM)
                     + frame(5, 0, 0xFFFF, bytes(16384)),
        "records_raw": u8(2) + u8(5) + b"\x17\x03\x03\x00\x20" + bytes(32)
                       + b"\x15\x03\x03\x00\x02\x02\x50",
        "record_huge": u8(2) + u8(0) + b"\x17\x03\x03\xff\xff" + bytes(64),
    })
    host = b"127.0.0.1:7700"
    fp = "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0".encode()
    line = host + b" " + fp + b" 2026-01-01T00:00:00Z\n"
    write("fuzz_relayfp", {
        "fp": fp,
        "file": u8(len(host)) + host + line,
        "file_many": u8(len(host)) + host + b"a:1 " + fp + b" 2026-01-01T00:00:00Z\n"
                     + b"junk\n\n" + line + line,
        "file_cr": u8(len(host)) + host + line.replace(b"\n", b"\r\n"),
    })


def cu(ctl, payload=b""):
    """One fuzz_chatc unit: control byte, u16 length, payload."""
    return u8(ctl) + u16(len(payload)) + payload


def write_chatc_seeds():
    """fuzz_chatc: what a member with no keys, the relay, the typist and time do."""
    killer = b"\x01\x01" + bytes(range(256)) * 16 + bytes(25)    # 4,123 bytes
    shapes = b"".join(cu(0, v + u8(t) + b"\x04" * n)
                      for v in (b"\x01", b"\x02")
                      for t in (1, 2, 3, 4, 16, 99) for n in (0, 65, 66, 145, 210, 200))
    write("fuzz_chatc", {
        "nothing": b"",
        "killer": cu(0, killer) + cu(1, killer),
        "shapes": shapes,
        "e2e_each": b"".join(cu(1, v) for k, v in E2E.items() if k.startswith(("hs_", "data"))),
        "ghost_hs": cu(0, E2E["hs_init"]) + cu(1, E2E["hs_resp"]) + cu(1, E2E["hs_fin"])
                    + cu(1, E2E["data_64"]),
        # Its HS_INIT, then time for the handshake to time out and start again.
        "ghost_timeout": cu(0, E2E["hs_init"]) + cu(8, u8(70)) + cu(1, E2E["hs_resp"])
                         + cu(8, u8(70)) + cu(6, b"/rekey") + cu(8, u8(70)),
        "splice": cu(7, b"a line from bob") + cu(2, u16(12) + u8(1)) + cu(2, b"")
                  + cu(2, u16(0) + u8(0) + u16(99) + u8(0x80)),
        "ghost_cycle": cu(0, E2E["hs_init"]) + cu(3) + cu(0, E2E["hs_init"]) + cu(3),
        "flood": cu(1, b"\x01\x10" + bytes(20)) * 40,
        "relay_error": b"".join(cu(4, u8(c)) for c in range(1, 11)),
        "relay_raw": (cu(5, frame(4, 2, 0)) + cu(5, frame(3, 2, 0))
                      + cu(5, frame(2, 0, 1, u16(1) + u16(2)))
                      + cu(5, frame(5, 77, 1, E2E["hs_init"]))
                      + cu(5, frame(5, 2, 1, b"\x01\x10" + bytes(90)))
                      + cu(5, b"\x09" * 10)),
        "typing": (cu(6, b"hello bob") + cu(6, b"/rekey") + cu(6, b"/who")
                   + cu(6, b"/verify bob") + cu(7, b"/verify alice") + cu(6, b"//slash")
                   + cu(6, b"x" * 4001) + cu(6, b"caf\xc3") + cu(6, b"/nope")
                   + cu(7, b"/rekey") + cu(6, b"after")),
        "time": cu(6, b"before") + cu(8, u8(80)) + cu(9) + cu(7, b"due") + cu(8, u8(255))
                + cu(6, b"after the wait"),
    })


def u64(v): return struct.pack(">Q", v)


CL_KEY = bytes([7]) + bytes(31)     # fuzz_clcore's room 7


def clm(t, body, key=CL_KEY):
    """A cluster message (PROTOCOL.md 5.3); key for the types that name a room."""
    return u8(1) + u8(t) + (key if t not in (1, 2) else b"") + body


def cl_members(last, members):
    return u16(last) + u8(len(members)) + b"".join(u16(i) + u64(n) + u64(s)
                                                   for i, n, s in members)


def cl_frame(pseq, src, stamp, dst, payload):
    return u32(pseq) + u16(src) + u64(stamp) + u16(dst) + u32(len(payload)) + payload


def xorshift(state):
    state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
    state ^= state >> 7
    state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
    return state


def write_cluster_seeds():
    """fuzz_clmsg, fuzz_clcreds, fuzz_clcore: PROTOCOL.md 5."""
    stamp = (1 << 32) | 1
    msgs = {
        "hb": clm(1, u64(0x1234) + u32(2000) + u8(0) + str8(b"n2")),
        "hb_leaving": clm(1, u64(0x1234) + u32(9000) + u8(1) + str8(b"node-2_x")),
        "fence": clm(2, u64(0x99) + u64(0x1234)),
        "admit": clm(3, u64(0x1234) + u32(5)),
        "answer_admitted": clm(4, u64(0x1234) + u32(5) + u8(0) + u16(1) + u64(stamp)
                               + u32(1) + u32(1) + cl_members(1, [(1, 0x99, stamp)])),
        "answer_full": clm(4, u64(0x1234) + u32(5) + u8(1)),
        "event_joined": clm(5, u64(0x1234) + u32(1) + u32(2) + u8(1) + u16(2) + u64(0x1234)),
        "event_left": clm(5, u64(0x1234) + u32(1) + u32(3) + u8(2) + u16(2) + u64(stamp)),
        "event_snapshot": clm(5, u64(0x1234) + u32(2) + u32(0) + u8(3)
                              + cl_members(2, [(1, 0x99, stamp), (2, 0x1234, stamp + 1)])),
        "event_seq": clm(5, u64(0x1234) + u32(2) + u32(7) + u8(4)),
        "resync": clm(6, u64(0x1234)),
        "query": clm(7, u64(0x1234) + u32(1)),
        "state_conflict": clm(8, u64(0x1234) + u32(1) + u8(1) + u64(0x4321)),
        "state": clm(8, u64(0x1234) + u32(1) + u8(0) + u32(1) + u16(3) + u8(1) + u16(3)
                     + u64(stamp) + u8(1) + u32(1) + u32(4)
                     + cl_members(3, [(3, 0x1234, stamp)])),
        "bye": clm(9, u64(0x1234) + u16(2) + u64(stamp + 1)),
        "data_bcast": clm(10, u64(0x1234) + u16(1) + cl_frame(1, 2, stamp + 1, 0xFFFF,
                                                             b"\x01\x10" + bytes(88))),
        "data_unicast": clm(10, u64(0x1234) + u16(2)
                            + cl_frame(1, 2, stamp + 1, 1, b"\x01\x01" + bytes(65))
                            + cl_frame(2, 2, stamp + 1, 1, b"\x01\x10" + bytes(88))),
        "hold": clm(11, u64(0x1234) + u8(1)),
        "credit_ask": clm(12, u64(0x1234) + u8(0) + u32(40) + u32(0)),
        "credit_answer": clm(12, u64(0x1234) + u8(1) + u32(40) + u32(3)),
    }
    write("fuzz_clmsg", msgs)
    seed = b"SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"
    write("fuzz_clcreds", {
        "creds": b"-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJqd3QifQ.eyJ4In0.c2ln\n"
                 b"------END NATS USER JWT------\n\n*** IMPORTANT ***\n\n"
                 b"-----BEGIN USER NKEY SEED-----\n" + seed + b"\n"
                 b"------END USER NKEY SEED------\n",
        "nkey": seed + b"\n",
        "user": b"# relays\nuser relay\npassword s3cret\n",
        "token": b"token abcdef\r\n",
    })

    # fuzz_clcore's own node id: its third xorshift output (clc_new takes two
    # for its room table's hash key, then the node id).
    st = 88172645463325252
    outs = []
    for _ in range(3):
        st = xorshift(st)
        outs.append(st)
    me = outs[2]

    def cu(op, payload=b""):
        return u8(op) + u16(len(payload)) + payload
    peer_hb = clm(1, u64(0x1234) + u32(5000) + u8(0) + str8(b"n2"))
    ans = clm(4, u64(0x1234) + u32(1) + u8(0) + u16(1) + u64(stamp) + u32(1) + u32(1)
              + cl_members(1, [(1, me, stamp)]))
    state = clm(8, u64(0x1234) + u32(1) + u8(0) + u32(0) + u16(0) + u8(0) + u8(0))
    write("fuzz_clcore", {
        "nothing": b"",
        "peer_and_join": (cu(0, peer_hb) + cu(1, b"\x05") + cu(2, b"\x07") + cu(0, ans)
                          + cu(0, state) + cu(1, b"\x05") + cu(0, msgs["event_joined"])
                          + cu(0, msgs["data_bcast"]) + cu(0, msgs["hold"])
                          + cu(4, b"\x00\xff\xffhello") + cu(0, msgs["bye"])
                          + cu(0, msgs["event_left"]) + cu(1, b"\xff") + cu(3, b"\x00")
                          + cu(1, b"\xff")),
        "owner_side": (cu(0, peer_hb) + cu(1, b"\x05") + cu(0, msgs["admit"])
                       + cu(0, state) + cu(0, msgs["resync"]) + cu(0, msgs["query"])
                       + cu(1, b"\x64") + cu(0, msgs["state_conflict"])),
        "fenced": cu(2, b"\x07") + cu(0, clm(2, u64(me) + u64(0x1234))) + cu(1, b"\xff"),
        "each": b"".join(cu(0, v) for v in msgs.values()),
    })


if __name__ == "__main__":
    main()
    write_cluster_seeds()
