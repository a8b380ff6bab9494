#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd never freezes on known_peers (issue 11, item 2). While another
# process of the same uid holds flock on it, a handshake step that needs the
# pins is put off, not waited for: every other client is served at once, the
# step is answered VEIL_E_BUSY after KEYD_LOCK_WAIT_MS naming the file and
# the holder's pid (one line on keyd's stderr), and the session is left as
# it was, so the same request succeeds once the lock is free. A lock let go
# within the wait delays the step and nothing else; requests pipelined
# behind a refused one are answered too, without a second wait.
# `keyd --forget` says what it waits on, goes on once the lock is free, and
# gives up after KEYD_FORGET_WAIT_MS with nothing changed.
# On 0.1.0 keyd blocks in flock: its other clients get no answer.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

S="$W/run/keyd.sock" H="$W/home"
start_keyd k "$H" "$S"

"$PY" - "$LIB" "$S" "$H/known_peers" >"$W/lock.out" 2>&1 <<'PYEOF' || fail "pins lock: $(cat "$W/lock.out")"
import fcntl, os, sys, threading, time
sys.path.insert(0, sys.argv[1])
import keydclient as kc
S, PINS = sys.argv[2], sys.argv[3]
ROOM = b"\x42" * 32

a, b, c = kc.Client(S), kc.Client(S), kc.Client(S)
a.hello("alice"); b.hello("bob"); c.hello("carol")
hb, hc, _, _ = kc.handshake(b, c)          # an established pair, made before the lock

holder = open(PINS, "r+")
fcntl.flock(holder, fcntl.LOCK_EX)           # "another process" (to keyd): this one

# alice's handshake with bob reaches the step that reads the pins.
x = a.hs_start(ROOM, 1, 2)
hi = x["handle"]
y = b.hs_accept(ROOM, 2, 1, x["blob"])
hr, resp = y["handle"], y["blob"]
t0 = time.monotonic()
a.send_hs_next(hi, resp)

# Everyone else is served at once, alice's step pending or not.
b.s.settimeout(2); c.s.settimeout(2)
try:
    for i in range(20):
        blob = b.seal([hb], b"while known_peers is locked %d" % i)[0]["blob"]
        assert c.open(hc, blob)["text"] == b"while known_peers is locked %d" % i
    h2 = c.hs_start(ROOM, 3, 4)["handle"]
    c.close_session(h2)
except OSError as e:
    raise SystemExit("keyd froze for its other clients while known_peers was locked: %r" % e)
served = time.monotonic() - t0
assert served < 2.0, served

# alice's step: refused after the wait, naming the file and the holder.
a.s.settimeout(15)
ans = a.recv()
waited = time.monotonic() - t0
assert ans["code"] == kc.ANS_ERROR and ans["err"] == kc.E_BUSY, ans
assert ans["handle"] == hi, ans
for want in (PINS, "locked by another process", "(pid %d)" % os.getpid(), "unchanged"):
    assert want in ans["message"], (want, ans["message"])
assert 2.5 <= waited <= 6.0, waited
print("figure: a step under someone else's lock: refused after %.2f s; others served meanwhile" % waited)

# Free again: the very same request goes through; the session had not moved.
fcntl.flock(holder, fcntl.LOCK_UN)
fin = a.hs_next(hi, resp)
# One keyd, one identity: "bob" is alice's own key, another chatc of hers.
assert fin["done"] == 1 and fin["trust"] == "verified" and fin["flags"] == ["self"], fin
assert fin["nick"] == "bob", fin
conf = b.hs_next(hr, fin["blob"])
assert conf["done"] == 1 and conf["trust"] == "verified", conf

# A lock let go within the wait only delays the step.
x = a.hs_start(ROOM, 1, 2)
y = b.hs_accept(ROOM, 2, 1, x["blob"])
fcntl.flock(holder, fcntl.LOCK_EX)
threading.Timer(0.6, lambda: fcntl.flock(holder, fcntl.LOCK_UN)).start()
t0 = time.monotonic()
fin = a.hs_next(x["handle"], y["blob"])
took = time.monotonic() - t0
assert fin["code"] == kc.ANS_HS_NEXT and fin["done"] == 1, fin
assert 0.5 <= took < 2.5, took
b.close_session(y["handle"]); a.close_session(x["handle"])

# Pipelined steps behind a refused one: all answered by about the same time.
fcntl.flock(holder, fcntl.LOCK_EX)
pend = []
for i in range(3):
    x = a.hs_start(ROOM, 1, 2)
    y = b.hs_accept(ROOM, 2, 1, x["blob"])
    pend.append((x["handle"], y["blob"]))
t0 = time.monotonic()
for h, blob in pend:
    a.send_hs_next(h, blob)
for h, blob in pend:
    ans = a.recv()
    assert ans["code"] == kc.ANS_ERROR and ans["err"] == kc.E_BUSY and ans["handle"] == h, ans
last = time.monotonic() - t0
assert last <= 6.0, last
# ... and the connection lives on.
assert a.seal([hi], b"still here")[0]["status"] == 0
fcntl.flock(holder, fcntl.LOCK_UN)
PYEOF
grep "^figure" "$W/lock.out" | sed "s/^/$NAME: /"
grep -q "known_peers is locked by another process (pid [0-9]*); a request waited" "$W/k.err" ||
	fail "no line on keyd's stderr for the refused step: $(cat "$W/k.err")"

# keyd --forget: waits, saying on what, for a bounded time.
FB=$("$BIN/keyd" --fingerprint --home "$W/hb") || fail "fingerprint"
pin_bob() {	# an entry labelled bob, as keyd writes them
	printf '%064d pinned bob %064d 5\n' 7 7 >>"$H/known_peers"
}
pin_bob
hold() {	# hold SECS: holds the lock in the background; HOLDER = its pid
	"$PY" -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True); time.sleep(float(sys.argv[2]))' "$H/known_peers" "$1" >"$W/hold.out" &
	HOLDER=$!
	PIDS="$PIDS $HOLDER"
	i=0; while ! grep -q locked "$W/hold.out" && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
	grep -q locked "$W/hold.out" || fail "the holder did not lock"
}
hold 1.5
timeout 20 "$BIN/keyd" --forget bob --home "$H" >"$W/f1.out" 2>"$W/f1.err"
rc=$?
[ $rc -eq 0 ] || fail "--forget after the lock was let go: exit $rc: $(cat "$W/f1.err")"
grep -q "known_peers is locked by another process (pid $HOLDER); waiting up to 5 s" "$W/f1.err" ||
	fail "--forget did not say what it waits on: $(cat "$W/f1.err")"
grep -q "forgot bob" "$W/f1.out" || fail "--forget said: $(cat "$W/f1.out")"
grep -q " bob " "$H/known_peers" && fail "bob still pinned"

pin_bob
cp "$H/known_peers" "$W/before"
hold 60
timeout 20 "$BIN/keyd" --forget bob --home "$H" >"$W/f2.out" 2>"$W/f2.err"
rc=$?
[ $rc -eq 1 ] || fail "--forget under a lock never let go: exit $rc, want 1: $(cat "$W/f2.err")"
grep -q "still locked (pid $HOLDER) after 5 s; nothing changed" "$W/f2.err" ||
	fail "--forget giving up said: $(cat "$W/f2.err")"
cmp -s "$H/known_peers" "$W/before" || fail "known_peers changed although --forget gave up"
kill "$HOLDER" 2>/dev/null
# keyd itself went on all along.
"$PY" "$LIB/keydclient.py" fpr "$S" >/dev/null || fail "keyd stopped serving"
exit 0
