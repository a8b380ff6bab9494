#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's sessions and pins over the real socket: a handle is invisible to
# another client, a client's sessions are gone once it disconnects, a
# malformed request closes only that client, the client and session caps,
# a changed identity refused with a message naming the nick and both
# fingerprints, and `keyd --forget` editing known_peers under a running keyd.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

SA="$W/a/keyd.sock" SB="$W/b/keyd.sock" SM="$W/m/keyd.sock"
start_keyd a "$W/ha" "$SA"
start_keyd b "$W/hb" "$SB"
start_keyd m "$W/hm" "$SM"
FB=$("$BIN/keyd" --fingerprint --home "$W/hb") || fail "fingerprint of b"
FM=$("$BIN/keyd" --fingerprint --home "$W/hm") || fail "fingerprint of m"

"$PY" - "$LIB" "$SA" <<'PYEOF' || fail "session isolation"
import struct, sys
sys.path.insert(0, sys.argv[1])
import keydclient as kc
S = sys.argv[2]

def closed_without_answer(raw=None, hello=True, name=""):
    c = kc.Client(S, timeout=5)
    try:
        if hello:
            c.hello("mallory")
        if raw is not None:
            c.send_raw(raw)
        c.recv()
    except kc.Closed:
        return
    raise SystemExit("malformed request answered: " + name)

a, b, c = kc.Client(S), kc.Client(S), kc.Client(S)
a.hello("ann"); b.hello("ben"); c.hello("cat")
hi, hr, ai, ar = kc.handshake(a, b)
assert ai["done"] == 1 and ar["done"] == 1, (ai, ar)
assert ai["nick"] == "ben" and ar["nick"] == "ann"

# cat names ann's handle: unknown on her connection.
item = c.seal([hi], b"not yours")[0]
assert item["status"] == kc.E_NOSESSION and item["blob"] == b"", item
for f in (lambda: c.close_session(hi), lambda: c.verify(hi)):
    try:
        f(); raise SystemExit("another client's handle was served")
    except kc.KeydError as e:
        assert e.err == kc.E_NOSESSION and e.handle == hi, e
# ann's session is intact.
blob = a.seal([hi], b"still mine")[0]["blob"]
assert b.open(hr, blob)["text"] == b"still mine"

# Malformed requests close that client, with no answer; others go on.
closed_without_answer(kc.frame(0x7f), name="unknown code")
closed_without_answer(kc.frame(kc.ANS_HELLO, b"\0" * 20), name="answer code")
closed_without_answer(struct.pack(">I", 0xffffffff), name="oversize length")
closed_without_answer(struct.pack(">I", 0), name="zero length")
closed_without_answer(kc.frame(kc.REQ_CLOSE, b"\0\0\0\1\0"), name="trailing byte")
closed_without_answer(kc.frame(kc.REQ_CLOSE, b"\0\0\0\1"), hello=False, name="before HELLO")
closed_without_answer(kc.frame(0x07, b"\0\0\0\1"), name="veil/1's REKEY")
closed_without_answer(kc.frame(kc.REQ_SEAL, b"\0\1\0\0\0\1\4\0\0"), name="SEAL of a CLOSE")
closed_without_answer(kc.frame(kc.REQ_HELLO, kc.str8(b"again") + b"\0"), name="HELLO twice")
blob = a.seal([hi], b"after the noise")[0]["blob"]
assert b.open(hr, blob)["text"] == b"after the noise"

# ben disconnects: his sessions are wiped; a new connection cannot reach them.
b.close()
b2 = kc.Client(S)
b2.hello("ben")
blob = a.seal([hi], b"anyone there?")[0]["blob"]
try:
    b2.open(hr, blob); raise SystemExit("a disconnected client's session survived")
except kc.KeydError as e:
    assert e.err == kc.E_NOSESSION, e

# Session cap: 256 per connection, then VEIL_E_LIMIT; the connection lives on.
d = kc.Client(S)
d.hello("dave")
for i in range(256):
    d.hs_start(b"\1" * 32, 1, 2)
try:
    d.hs_start(b"\1" * 32, 1, 2); raise SystemExit("257th session accepted")
except kc.KeydError as e:
    assert e.err == kc.E_LIMIT, e
assert d.verify(1, raw=True)["err"] == kc.E_STATE    # the connection lives on
for x in (a, b2, c, d):
    x.close()

# Client cap: 32 connections; a 33rd from the process holding them all is
# closed at once (from another process: t_keyd_stall).
cl = []
for i in range(32):
    x = kc.Client(S); x.hello("u%d" % i); cl.append(x)
try:
    x = kc.Client(S, timeout=5); x.hello("extra")
    raise SystemExit("33rd client served")
except kc.Closed:
    pass
cl.pop().close()
import time
for _ in range(100):
    try:
        x = kc.Client(S, timeout=5); x.hello("again"); break
    except kc.Closed:
        time.sleep(0.02)
else:
    raise SystemExit("a freed client slot was not reused")
PYEOF

# Pins across keyds: alice meets bob, then another key claiming to be bob.
"$PY" - "$LIB" "$SA" "$SB" "$SM" "$FB" "$FM" >"$W/pin.out" <<'PYEOF' || fail "pin refusal: $(cat "$W/pin.out")"
import sys
sys.path.insert(0, sys.argv[1])
import keydclient as kc
a, b, m = kc.Client(sys.argv[2]), kc.Client(sys.argv[3]), kc.Client(sys.argv[4])
fb, fm = sys.argv[5], sys.argv[6]
a.hello("alice"); b.hello("bob"); m.hello("bob")
# Another room key (a peer, or a relay, without the room name): refused at
# HS_RESP, before alice trusts or pins anything (the next one is still "new").
hi, hr, ai, ar = kc.handshake(a, b, raw=True, key_r=b"\x25" * 32)
assert ai["code"] == kc.ANS_ERROR and ai["err"] == kc.E_AUTH and ar is None, ai
hi, hr, ai, ar = kc.handshake(a, b)
assert ai["trust"] == "new" and kc.fpr_text(ai["fpr"]) == fb, ai
hi, hr, ai, ar = kc.handshake(a, b)
assert ai["trust"] == "pinned", ai
# Another key as "bob": refused once it has proven its key, locally; alice's
# HS_FIN still goes (147 bytes, as for anyone): the wire does not say.
hi, hr, ai, ar = kc.handshake(a, m)
assert ai["code"] == kc.ANS_HS_NEXT and ai["trust"] == "refused" and ai["reason"] == "pin", ai
assert kc.fpr_text(ai["fpr"]) == fm and kc.fpr_text(ai["fpr2"]) == fb, ai
assert len(ai["blob"]) == 147, ai
# The refused session is gone.
err = a.seal([hi], b"x")[0]
assert err["status"] == kc.E_NOSESSION, err
PYEOF

# keyd --forget while alice's keyd runs: it sees the edit at once.
"$BIN/keyd" --forget bob --home "$W/ha" >"$W/forget.out" || fail "--forget failed"
grep -q "forgot bob  $FB  pinned" "$W/forget.out" || fail "--forget said: $(cat "$W/forget.out")"
grep -q " bob " "$W/ha/known_peers" && fail "bob still pinned in the file"
"$BIN/keyd" --forget bob --home "$W/ha" >"$W/forget2.out" || fail "second --forget failed"
grep -q "no entry for bob; nothing changed" "$W/forget2.out" ||
	fail "second --forget said: $(cat "$W/forget2.out")"
"$PY" - "$LIB" "$SA" "$SM" "$FM" <<'PYEOF' || fail "re-pin after --forget"
import sys
sys.path.insert(0, sys.argv[1])
import keydclient as kc
a, m = kc.Client(sys.argv[2]), kc.Client(sys.argv[3])
a.hello("alice", [("bob", kc.fpr_parse(sys.argv[4]))]); m.hello("bob")
hi, hr, ai, ar = kc.handshake(a, m)
assert ai["trust"] == "expected", ai
# REQ_FORGET is not served: only `keyd --forget`, run on purpose, drops a
# pin; a (compromised) client asking gets its connection closed, no answer.
try:
    a.forget("bob"); raise SystemExit("keyd dropped a pin for an IPC client")
except kc.Closed:
    pass
PYEOF
grep -q " pinned bob " "$W/ha/known_peers" || fail "REQ_FORGET removed bob's pin"
note "ok"
exit 0
