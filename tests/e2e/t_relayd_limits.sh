#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd's limits: half-open connections timed out (--idle-timeout), the
# client cap (--max-clients: refused with ERROR, never left in the backlog),
# a full room (--room-size), and a stalled reader disconnected while its room
# keeps flowing: past --queue-hard (the sender waits one --stall-window at
# most), or when nothing of its queue has moved for --slow-timeout.
# Over TLS (relayd's default; LINK=plain for plain TCP), where a client over
# the cap is refused before its handshake (PROTOCOL.md 1.0).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?BIN must name the directory holding relayd}"
: "${TMPDIR:=/tmp}"
: "${E2E_LIB:=$here/lib}"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export PYTHONPATH="$E2E_LIB"
if [ "${LINK:-tls}" = tls ]; then
	"$BIN/relayd" --gen-key "$TMPDIR/relay.key" >"$TMPDIR/relay.fp"
	RELAY_FP=$(cat "$TMPDIR/relay.fp")
	set -- --key "$TMPDIR/relay.key"
else
	RELAY_FP=""
	set -- --plaintext
fi
export RELAY_FP

stop_relayd() {
	kill -USR1 "$pid"
	i=0
	until grep -q 'relayd: stats:' "$RELAYD_LOG"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "no stats line"; exit 1; }; sleep 0.05
	done
	grep 'relayd: stats:' "$RELAYD_LOG"
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	pid=""
	[ "$rc" -eq 0 ] || { echo "relayd exited $rc"; exit 1; }
}

# 1. Timeouts, client cap and room size.
RELAYD_LOG="$TMPDIR/relayd1.log"
export RELAYD_LOG
"$BIN/relayd" --listen 127.0.0.1:0 --idle-timeout 1 --max-clients 6 --room-size 2 "$@" \
    2>"$RELAYD_LOG" &
pid=$!
python3 - <<'PY'
import os, time
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
room = relay.room_id("limits")

# Half-open: silent, or a JOIN cut after 5 bytes. Both closed with FE_TIMEOUT.
t0 = time.monotonic()
silent = relay.Client(host, port)
partial = relay.Client(host, port)
partial.send_raw(relay.encode(relay.JOIN, payload=room)[:5])
a = relay.Client(host, port)
a.join(room)
silent.expect_error(relay.FE_TIMEOUT, timeout=5)
partial.expect_error(relay.FE_TIMEOUT, timeout=5)
took = time.monotonic() - t0
assert 0.9 <= took < 3.0, took
# A joined member is not subject to the join timeout.
time.sleep(0.5)
a.ping()
a.expect(relay.PONG)

# Room size 2: the third is refused, the room is unchanged.
b = relay.Client(host, port)
b.join(room)
a.expect(relay.JOINED)
c = relay.Client(host, port)
c.send(relay.JOIN, payload=room)
c.expect_error(relay.FE_ROOM_FULL)
a.send_data(2, b"still two")
assert b.expect(relay.DATA) == (1, 2, b"still two")

# Client cap 6: a and b plus four more; then a burst of 30 over the cap,
# each refused at once with FE_SERVER_FULL (none waits in the backlog).
held = [relay.Client(host, port) for _ in range(4)]
for h in held:
    h.join(relay.room_id("held-%d" % id(h)))
over = [relay.Client(host, port) for _ in range(30)]
for o in over:
    o.expect_error(relay.FE_SERVER_FULL, timeout=5)
# Space again once one leaves (as soon as relayd has seen it go).
held.pop().close()
for attempt in range(100):
    d = relay.Client(host, port)
    try:
        d.join(relay.room_id("after"))
        break
    except (relay.ProtocolError, relay.Closed, OSError):  # refused: still full
        d.close()
        time.sleep(0.05)
else:
    raise AssertionError("the freed place never came back")
a.ping()
a.expect(relay.PONG)
print("timeouts, cap, room size ok")
PY
stop_relayd
grep -Eq ' refused_full=3[0-9] ' "$RELAYD_LOG"
grep -q ' room_full=1 idle_timeout=2 ' "$RELAYD_LOG"

# 2. A stalled reader, past the hard bound.
RELAYD_LOG="$TMPDIR/relayd2.log"
"$BIN/relayd" --listen 127.0.0.1:0 --queue-hard 1048576 --stall-window 300 "$@" 2>"$RELAYD_LOG" &
pid=$!
python3 - <<'PY'
import os, socket, struct, time
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
room = relay.room_id("stall")
a = relay.Client(host, port)
b = relay.Client(host, port)
s = relay.Client(host, port, connect=False)
# Small kernel buffers so the relay's own queue bound is what trips.
raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(raw)
a.join(room); b.join(room); a.expect(relay.JOINED)
s.join(room)
a.expect(relay.JOINED); b.expect(relay.JOINED)

blob = os.urandom(8000)
N = 2000          # 16 MB through the room; s never reads
left_at = None
t0 = time.monotonic()
for n in range(N):
    a.send_data(relay.BCAST, struct.pack(">I", n) + blob)
    ftype, src, dst, payload = b.recv()
    if ftype == relay.LEFT:
        assert src == 3
        left_at = n
        ftype, src, dst, payload = b.recv()
    assert ftype == relay.DATA and struct.unpack(">I", payload[:4])[0] == n
took = time.monotonic() - t0
assert left_at is not None, "stalled reader never disconnected"
# Kernel socket buffers (autotuned, a few MB on loopback) come on top of
# relayd's 1 MiB queue; the point is that it happens, long before the end.
assert left_at < N // 2, left_at
# The sender waited for the stall window (0.3 s) once, then went on.
assert took < 10, took
# a heard LEFT too, and was never slowed down to the stalled reader's pace.
assert a.expect(relay.LEFT)[0] == 3
print("stalled reader dropped after %d frames; %d frames in %.2fs" % (left_at, N, took))
# When it reads at last: whole frames in order, then ERROR FE_SLOW (relayd
# lingers to deliver it), then the end.
n = 0
while True:
    ftype, src, _, payload = s.recv()
    if ftype == relay.ERROR:
        assert payload == bytes([relay.FE_SLOW])
        break
    assert ftype == relay.DATA and struct.unpack(">I", payload[:4])[0] == n, (ftype, n)
    n += 1
s.expect_closed()
print("stalled reader got %d frames, then FE_SLOW" % n)
PY
stop_relayd
grep -q ' slow=1 ' "$RELAYD_LOG"

# 3. A stalled reader under a hard bound it never reaches: dropped once
# nothing of its queue has moved for --slow-timeout (1 s).
RELAYD_LOG="$TMPDIR/relayd3.log"
"$BIN/relayd" --listen 127.0.0.1:0 --queue-hard 15728640 --slow-timeout 1 "$@" 2>"$RELAYD_LOG" &
pid=$!
python3 - <<'PY'
import os, socket, struct, time
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
room = relay.room_id("stall")
a = relay.Client(host, port)
b = relay.Client(host, port)
s = relay.Client(host, port)
a.join(room); b.join(room); a.expect(relay.JOINED)
s.join(room)
a.expect(relay.JOINED); b.expect(relay.JOINED)
blob = os.urandom(8000)
# Until s is dropped: however much the kernel holds for it (32 MB at most).
left_at = None
for n in range(4000):
    a.send_data(relay.BCAST, struct.pack(">I", n) + blob)
    ftype, src, dst, payload = b.recv()
    if ftype == relay.LEFT:
        assert src == 3
        left_at = n
        break
    assert ftype == relay.DATA and struct.unpack(">I", payload[:4])[0] == n
    if n % 100 == 0:
        s.ping()                # s is alive, it just does not read
else:
    raise AssertionError("stalled reader never disconnected")
print("stalled reader dropped after %d frames" % left_at)
while True:
    ftype, src, _, payload = s.recv()
    if ftype == relay.ERROR:
        assert payload == bytes([relay.FE_SLOW])
        break
    assert ftype in (relay.DATA, relay.PONG), ftype
s.expect_closed()
PY
stop_relayd
grep -q ' slow=0 stalled=1 ' "$RELAYD_LOG"
echo PASS
