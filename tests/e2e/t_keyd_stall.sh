#!/bin/sh
# SPDX-License-Identifier: ISC
# No same-uid process can stall keyd for the others (issue 11, item 3). A
# client that says HELLO and then never reads its answers, one that stops in
# the middle of a request, and one that stops before HELLO stall only
# themselves: everyone else is served at once, and the one that did not read
# gets every answer, in order, once it does. A process holding every slot,
# all said HELLO (idle, as a chatc alone in a room is), loses its least
# recently active one to a newcomer from another process once it holds more
# than KEYD_FAIR_SHARE (8); processes within their share lose nothing, and
# the hog's own newcomer is refused. Idle clients that said HELLO are never
# closed for being idle.
# On 0.1.0 the stalls pass (the output bound was there); the process holding
# 32 slots locks everyone else out.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

S="$W/run/keyd.sock"
start_keyd k "$W/home" "$S"

"$PY" - "$LIB" "$S" "$KPID" >"$W/stall.out" 2>&1 <<'PYEOF' || fail "stalled clients: $(cat "$W/stall.out")"
import socket, struct, sys, threading, time
sys.path.insert(0, sys.argv[1])
import keydclient as kc
S, KPID = sys.argv[2], sys.argv[3]

def rss_kb():
    for line in open("/proc/%s/status" % KPID):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
ROOM = b"\x42" * 32
TEXT = b"x" * 4000

# x: 64 sessions, then SEALs of the longest answers (64 x 4 kB), pipelined
# and never read: its answers fill its socket and keyd's bounded queue.
x, y = kc.Client(S), kc.Client(S)
x.hello("stuffer"); y.hello("peer")
hs = [kc.handshake(x, y, mi=1, mr=i + 2)[0] for i in range(64)]
seal = kc.frame(kc.REQ_SEAL, struct.pack(">H", 64)
                + b"".join(struct.pack(">I", h) for h in hs) + bytes([kc.TEXT])
                + kc.str16(kc.STREAM + struct.pack(">IB", 1, 0) + TEXT))
N = 200                 # 860 kB of requests, 53 MB of answers
rss0 = rss_kb()
sent = threading.Event()
def stuff():
    x.s.settimeout(None)
    for _ in range(N):
        x.s.sendall(seal)
    sent.set()
threading.Thread(target=stuff, daemon=True).start()
time.sleep(1.0)
assert not sent.is_set(), "keyd read every request of a client that reads nothing"
grew = rss_kb() - rss0
print("figure: keyd grew by %d kB for a client that reads none of 53 MB of answers" % grew)
assert grew < 16 * 1024, grew

# Others stop part way: before HELLO, and inside a request after HELLO.
v = socket.socket(socket.AF_UNIX); v.connect(S)
v.sendall(struct.pack(">I", 40) + b"\x01\x05alice")
u = kc.Client(S); u.hello("halfway")
u.send_raw(struct.pack(">I", 4000) + bytes([kc.REQ_SEAL]) + b"\0\1")

# Meanwhile everyone else is served at once.
t0 = time.monotonic()
a, b = kc.Client(S, timeout=2), kc.Client(S, timeout=2)
a.hello("alice"); b.hello("bob")
ha, hb, _, _ = kc.handshake(a, b)
for i in range(200):
    blob = a.seal([ha], b"served %d" % i)[0]["blob"]
    assert b.open(hb, blob)["text"] == b"served %d" % i
took = time.monotonic() - t0
print("figure: a handshake and 200 seal+open with three stalled clients: %.2f s" % took)
assert took < 5.0, took

# x reads at last: every answer, in order, nothing lost.
x.s.settimeout(20)
for n in range(N):
    ans = x.recv()
    assert ans["code"] == kc.ANS_SEALED and len(ans["items"]) == 64, ans["code"]
    assert all(it["status"] == 0 and it["handle"] == h for it, h in zip(ans["items"], hs))
assert sent.wait(20)
assert x.verify(hs[0])["nick"] == "peer"
PYEOF
grep "^figure" "$W/stall.out" | sed "s/^/$NAME: /"

# A process holding every slot, all said HELLO.
"$PY" - "$LIB" "$S" "$PY" >"$W/share.out" 2>&1 <<'PYEOF' || fail "fair share: $(cat "$W/share.out")"
import select, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import keydclient as kc
LIB, S, PY = sys.argv[1], sys.argv[2], sys.argv[3]

# Another process within its share: 8 idle clients that said HELLO.
OTHER = """
import sys
sys.path.insert(0, sys.argv[1])
import keydclient as kc
cl = [kc.Client(sys.argv[2], timeout=5) for _ in range(8)]
for i, c in enumerate(cl):
    c.hello("fair%d" % i)
print("ready", flush=True)
sys.stdin.readline()
alive = 0
for c in cl:
    try:
        c.verify(1 << 30, raw=True); alive += 1
    except kc.Closed:
        pass
print("alive", alive, flush=True)
sys.stdin.read()
"""
other = subprocess.Popen([PY, "-c", OTHER, LIB, S], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
assert other.stdout.readline().strip() == "ready"

# This process takes the other 24, then uses all but one of them.
hog = []
for i in range(24):
    c = kc.Client(S, timeout=5)
    c.hello("hog%d" % i)
    hog.append(c)
time.sleep(0.05)
for i, c in enumerate(hog):
    if i != 5:
        c.verify(1 << 30, raw=True)

# Every slot is taken. A newcomer from a third process is served ...
r = subprocess.run([PY, LIB + "/keydclient.py", "fpr", S], capture_output=True, text=True,
                   timeout=20)
assert r.returncode == 0, "a newcomer was locked out: %s" % r.stderr
# ... at the cost of the hog's least recently active slot, and no other.
r, _, _ = select.select([hog[5].s], [], [], 2.0)
assert r and hog[5].s.recv(1) == b"", "the hog's idle slot was not the one taken"
for i, c in enumerate(hog):
    if i != 5:
        assert c.verify(1 << 30, raw=True)["err"] == kc.E_NOSESSION
# The third process is gone: 23 + 8 slots taken. The hog takes the last one,
# and its next newcomer finds none it may take (not from itself).
extra = kc.Client(S, timeout=5)
extra.hello("hog-extra")
try:
    x = kc.Client(S, timeout=5)
    x.hello("hog-too-many")
    raise SystemExit("a process over its share took a slot from itself")
except kc.Closed:
    pass
other.stdin.write("check\n")
other.stdin.flush()
assert other.stdout.readline().split() == ["alive", "8"], "a process within its share lost a slot"
other.stdin.close()
other.wait(timeout=10)
PYEOF
grep -q "pid [0-9]* holds 24, over a share of 8: closed its least active one" "$W/k.err" ||
	fail "no line for the fair-share eviction: $(cat "$W/k.err")"
exit 0
