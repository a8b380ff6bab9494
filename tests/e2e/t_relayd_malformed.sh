#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd: garbage, oversize and truncated frames, frames out of order (DATA
# before JOIN, a second JOIN). Each closes that connection only (with the
# ERROR code PROTOCOL.md names where one applies); relayd stays up and the
# other rooms and members never notice. Over plain TCP (--plaintext): the
# subject is the frame parser, which sees the same bytes inside TLS;
# t_tls_malformed breaks the TLS layer itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?BIN must name the directory holding relayd}"
: "${TMPDIR:=/tmp}"
: "${E2E_LIB:=$here/lib}"
log="$TMPDIR/relayd.log"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$BIN/relayd" --listen 127.0.0.1:0 --plaintext --max-frame 4608 2>"$log" &
pid=$!
export PYTHONPATH="$E2E_LIB" RELAYD_LOG="$log" RELAYD_PID="$pid"
python3 - <<'PY'
import os, socket, struct
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
pid = int(os.environ["RELAYD_PID"])
ROOM = relay.room_id("victims")

# Bystanders in another room, checked after every case.
x = relay.Client(host, port)
y = relay.Client(host, port)
x.join(relay.room_id("bystanders"))
y.join(relay.room_id("bystanders"))
x.expect(relay.JOINED)
seq = [0]

def bystanders_fine():
    os.kill(pid, 0)                      # relayd alive
    seq[0] += 1
    x.send_data(2, b"still here %d" % seq[0])
    assert y.expect(relay.DATA) == (1, 2, b"still here %d" % seq[0])
    y.ping()
    y.expect(relay.PONG)

def with_witness(bad, error, leave=True):
    """A room member watches `bad` join, misbehave, and leave."""
    w = relay.Client(host, port)
    w.join(ROOM)
    c = relay.Client(host, port)
    me, _ = c.join(ROOM)
    w.expect(relay.JOINED)
    bad(c)
    if error is None:
        c.expect_closed()
    else:
        c.expect_error(error)
    if leave:
        assert w.expect(relay.LEFT)[0] == me
    w.close()
    bystanders_fine()

def unjoined(bad, error):
    c = relay.Client(host, port)
    bad(c)
    if error is None:
        c.expect_closed()
    else:
        c.expect_error(error)
    bystanders_fine()

H = relay.encode
# Garbage: not a frame at all, before and after joining.
unjoined(lambda c: c.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(os.urandom(64).replace(b"\x01", b"\x02")), relay.FE_MALFORMED)
# Wrong version, a type only the relay sends, an unknown type.
with_witness(lambda c: c.send_raw(H(relay.DATA, 0, relay.BCAST, b"x", version=2)), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(H(relay.WELCOME, 0, 1, b"\0\0")), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(H(99, 0, 0, b"")), relay.FE_MALFORMED)
# Field rules: src set by the client, dst 0, empty DATA, PING with payload, short JOIN.
with_witness(lambda c: c.send_raw(H(relay.DATA, 7, relay.BCAST, b"x")), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(H(relay.DATA, 0, 0, b"x")), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(H(relay.DATA, 0, relay.BCAST, b"")), relay.FE_MALFORMED)
with_witness(lambda c: c.send_raw(H(relay.PING, 0, 0, b"x")), relay.FE_MALFORMED)
unjoined(lambda c: c.send_raw(H(relay.JOIN, 0, 0, b"x" * 31)), relay.FE_MALFORMED)
# Oversize: announced (and never sent) beyond --max-frame; also 4 GiB.
with_witness(lambda c: c.send_raw(H(relay.DATA, 0, relay.BCAST, b"", length=4609)), relay.FE_OVERSIZE)
unjoined(lambda c: c.send_raw(H(relay.DATA, 0, relay.BCAST, b"", length=0xFFFFFFFF)), relay.FE_OVERSIZE)
# Exactly --max-frame is fine.
w = relay.Client(host, port); w.join(ROOM)
c = relay.Client(host, port); c.join(ROOM); w.expect(relay.JOINED)
c.send_data(1, b"m" * 4608)
assert w.expect(relay.DATA) == (2, 1, b"m" * 4608)
w.close(); c.close()
# Truncated: a frame (or a header) cut short by the client's close.
def truncated_frame(c):
    c.send_raw(H(relay.DATA, 0, relay.BCAST, b"y" * 100)[:50])
    c.sock.shutdown(socket.SHUT_WR)
def truncated_header(c):
    c.send_raw(H(relay.DATA, 0, relay.BCAST, b"y")[:6])
    c.sock.shutdown(socket.SHUT_WR)
with_witness(truncated_frame, None)
with_witness(truncated_header, None)
# Out of order: DATA or PING before JOIN, a second JOIN.
unjoined(lambda c: c.send_data(relay.BCAST, b"early"), relay.FE_NOT_JOINED)
unjoined(lambda c: c.ping(), relay.FE_NOT_JOINED)
with_witness(lambda c: c.send(relay.JOIN, payload=relay.room_id("other")), relay.FE_REJOIN)
# A good frame followed by garbage in the same write: the good one is delivered.
w = relay.Client(host, port); w.join(ROOM)
c = relay.Client(host, port); c.join(ROOM); w.expect(relay.JOINED)
c.send_raw(H(relay.DATA, 0, 1, b"last words") + b"\xff" * 20)
assert w.expect(relay.DATA) == (2, 1, b"last words")
c.expect_error(relay.FE_MALFORMED)
assert w.expect(relay.LEFT)[0] == 2
bystanders_fine()
print("malformed ok")
PY

kill -USR1 "$pid"
i=0
until grep -q 'relayd: stats:' "$log"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "no stats line"; exit 1; }; sleep 0.05
done
grep 'relayd: stats:' "$log"
grep 'relayd: stats:' "$log" | grep -q ' malformed=11 '
grep 'relayd: stats:' "$log" | grep -q ' oversize=2 '
grep 'relayd: stats:' "$log" | grep -q ' not_joined=2 rejoin=1 '
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "relayd exited $rc"; exit 1; }
echo PASS
