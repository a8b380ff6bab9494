#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: nosan (45 s of keepalive timers)
# relayd: only whole frames are signs of life (issue 11, item 5). Two joined
# connections trickle one byte every 5 s and never complete a frame; with
# --max-clients 3 they and one honest member hold every slot, so a newcomer
# gets SERVER_FULL. 45 s (3 missed 15-second keepalives) after their last
# whole frame, their JOIN, relayd closes them with ERROR TIMEOUT; the honest
# member, which PINGs, stays, and the newcomer gets in. Before JOIN, bytes
# of a JOIN trickled in never stretch --idle-timeout either.
# This waits the real 45 s keepalive: relayd has no option to shorten it,
# and none is added for a test. On 0.1.0 the tricklers stay for ever.
: "${E2E_LINK:=tls}"	# also runs over plain TCP: E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay --max-clients 3 --idle-timeout 2
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT"
$PY - <<'PY' || fail "trickle"
import os, socket, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("trickle")

# Before JOIN: a JOIN trickled a byte per 0.25 s is cut at --idle-timeout.
pre = relay.Client("127.0.0.1", port)
join = relay.encode(relay.JOIN, payload=room)
t0 = time.monotonic()
for b in join:
    try:
        pre.send_raw(bytes([b]))
    except OSError:
        break
    if pre.closed_by_peer(0.25):
        break
took = time.monotonic() - t0
assert pre.closed_by_peer(1.0), "pre-JOIN trickler not closed"
assert 1.8 <= took < 4.0, took
print("pre-JOIN trickler closed after %.1fs" % took)
pre.close()

honest = relay.Client("127.0.0.1", port)
honest.join(room)
drips = []
for _ in range(2):
    d = relay.Client("127.0.0.1", port)
    d.join(room)
    drips.append(d)
joined_at = time.monotonic()
# A DATA frame to the honest member, a byte at a time, never finished.
frame = relay.encode(relay.DATA, dst=1, payload=b"z" * 1000)
sent = 0
refused = False
deadline = joined_at + 60
next_drip = joined_at
next_ping = joined_at
while time.monotonic() < deadline:
    now = time.monotonic()
    if now >= next_drip:
        for d in drips:
            if d.sock is not None:
                try:
                    d.send_raw(frame[sent:sent + 1])
                except OSError:
                    pass
        sent += 1
        next_drip = now + 5
    if now >= next_ping:
        honest.ping()
        next_ping = now + 10
    if not refused and now - joined_at > 20:
        # Every slot is held: a newcomer is refused.
        n = relay.Client("127.0.0.1", port)
        n.expect_error(relay.FE_SERVER_FULL)
        n.close()
        refused = True
    # Not closed early. Near the 45 s mark the relay closes them (ERROR
    # first, then LEFT to the honest member): their ERROR is read below.
    for d in drips:
        if now - joined_at < 44 and d.sock is not None and d.closed_by_peer(0.0):
            raise AssertionError("closed without ERROR TIMEOUT")
    # The honest member hears LEFT for both tricklers.
    try:
        ftype, src, _, _ = honest.recv(timeout=0.2)
    except TimeoutError:
        continue
    if ftype == relay.LEFT:
        assert src in (2, 3), src
        gone = time.monotonic() - joined_at
        if src == 3:
            break
    else:
        assert ftype in (relay.PONG, relay.JOINED), ftype
else:
    raise AssertionError("the tricklers still hold their slots after 60 s")
assert refused
assert 44 <= gone < 52, gone
assert sent >= 9, sent       # bytes came in all the while
for d in drips:
    d.expect_error(relay.FE_TIMEOUT)
print("tricklers closed %.1fs after their JOIN (%d bytes each meanwhile)" % (gone, sent))
# Their slots are free again; the honest member was never touched.
n = relay.Client("127.0.0.1", port)
me, others = n.join(room)
assert others == [1], others
honest.ping()
while honest.recv()[0] != relay.PONG:
    pass
PY
kill -USR1 "$relay_PID"
must_line "$W/relay.err" 'relayd: stats:' 1 5
grep 'relayd: stats:' "$W/relay.err" | grep -q ' idle_timeout=1 keepalive=2 ' ||
	fail "counters: $(grep 'relayd: stats:' "$W/relay.err")"
echo PASS
