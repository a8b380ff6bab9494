#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's slots cannot be taken from a new chatc (issue 11, item 3).
# Connections that never say HELLO are closed after KEYD_HELLO_MS (5 s), and
# at most KEYD_MAX_NOHELLO (8) of them are kept: a newer one closes the
# oldest. However many there are, a client that says HELLO is served, and a
# slow but honest one that says HELLO in time is not closed. Before HELLO
# nothing larger than a HELLO is read. (A process holding slots that said
# HELLO: t_keyd_stall.)
# On 0.1.0 the 33rd connection is closed and silent ones stay forever.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

S="$W/run/keyd.sock"
start_keyd k "$W/home" "$S"

"$PY" - "$LIB" "$S" >"$W/silent.out" 2>&1 <<'PYEOF' || fail "silent connections: $(cat "$W/silent.out")"
import select, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
import keydclient as kc
S = sys.argv[2]

def silent():
    s = socket.socket(socket.AF_UNIX)
    s.connect(S)
    return s, time.monotonic()

def closed(s, wait=0.0):
    """True once keyd has closed s (EOF or reset), waiting up to wait s."""
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True

def served(nick):
    c = kc.Client(S, timeout=5)
    c.hello(nick)
    h = c.hs_start(b"\x42" * 32, 1, 2)["handle"]        # and it works, too
    c.close_session(h)
    return c

# KEYD_MAX_CLIENTS - 1 silent ones, then a client: served.
quiet = [silent() for _ in range(31)]
a = served("after31")
# Far more than every slot: still served.
quiet += [silent() for _ in range(64)]
b = served("after95")
gone = set()
end = time.monotonic() + 3.0
while True:
    gone |= {i for i, q in enumerate(quiet) if i not in gone and closed(q[0])}
    open_now = [q for i, q in enumerate(quiet) if i not in gone]
    if len(open_now) <= 8 or time.monotonic() > end:
        break
    time.sleep(0.05)
assert len(open_now) <= 8, "%d connections without HELLO kept" % len(open_now)
# The ones kept are the newest.
assert all(q in quiet[-9:] for q in open_now), "an older silent connection was kept"

# Before HELLO, nothing larger than a HELLO: an announced 100 kB request is
# closed at once, not buffered.
big = socket.socket(socket.AF_UNIX)
big.connect(S)
big.sendall(struct.pack(">I", 100000) + b"\x01" + b"\0" * 1000)
assert closed(big, 2.0), "a large request before HELLO was kept"

# A slow but honest client: HELLO 3 s after connecting, while 7 more
# silent ones come after it: served.
slow = kc.Client(S, timeout=5)
t_slow = time.monotonic()
quiet += [silent() for _ in range(7)]
time.sleep(3.0)
assert not closed(slow.s), "the slow client was closed before its HELLO"
slow.hello("slow")
h = slow.hs_start(b"\x42" * 32, 1, 2)["handle"]

# The HELLO deadline: every silent connection is closed about 5 s after it came.
late = []
for i, (s, t) in enumerate(quiet):
    if i in gone:
        continue
    left = t + 7.0 - time.monotonic()
    assert closed(s, max(left, 0.0)), "a silent connection outlived its HELLO deadline"
    late.append(time.monotonic() - t)
newest = quiet[-1][1]
print("figure: silent connections closed after at most %.1f s; the newest after %.1f s"
      % (max(late), time.monotonic() - newest))
assert time.monotonic() - newest >= 4.5, "closed before its deadline"
# The clients that said HELLO are untouched by all this, idle or not.
for c in (a, b, slow):
    assert c.verify(1 << 30, raw=True)["err"] == kc.E_NOSESSION
slow.close_session(h)
PYEOF
grep "^figure" "$W/silent.out" | sed "s/^/$NAME: /"
grep -q "did not say HELLO within 5000 ms" "$W/k.err" || fail "no line for a late HELLO: $(cat "$W/k.err")"
grep -q "connections without HELLO; closed the oldest" "$W/k.err" || fail "no line for an eviction"
# One line of a kind per 10 s, the rest counted, however many there were.
[ "$(grep -c "connections without HELLO; closed the oldest" "$W/k.err")" -le 2 ] ||
	fail "keyd wrote a line per eviction"
exit 0
