#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd: join/leave churn cannot lock a room (issue 11, item 4). One member
# stays while 66,000 connections join the same room and leave again (more
# than the 65,534 member ids there are); every one of them is admitted, and
# so is a newcomer afterwards, up to --room-size. Member ids come back only
# after the cursor has gone round them all, and the member that stayed hears
# LEFT for an id before the JOINED that hands the id to someone new
# (PROTOCOL.md 1.4). On 0.1.0 the room answers ROOM_FULL to everyone after
# 65,533 joins.
# Over plain TCP: the subject is member ids, and 66,000 TLS handshakes would
# take minutes of CI for nothing TLS changes.
E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay --room-size 8
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT"
$PY - <<'PY' || fail "churn"
import os, socket, struct, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("churn")
CYCLES, BATCH = 66000, 6

anchor = relay.Client("127.0.0.1", port)
me, others = anchor.join(room)
assert (me, others) == (1, []), (me, others)

# The anchor's view: for each id, JOINED and LEFT must alternate.
state = {}
events = 0
def drain(block_until=None):
    """Reads the anchor's frames; checks the JOINED/LEFT order per id."""
    global events
    if block_until is None:
        anchor.take_ready()
    while True:
        if block_until is not None and events >= block_until:
            return
        try:
            ftype, src, dst, _ = anchor.recv(timeout=5 if block_until is not None else 0.0)
        except TimeoutError:
            if block_until is None:
                return
            raise
        if ftype == relay.JOINED:
            assert state.get(src) != "in", "JOINED %d twice without LEFT" % src
            state[src] = "in"
        elif ftype == relay.LEFT:
            assert state.get(src) == "in", "LEFT %d while not in the room" % src
            state[src] = "out"
        elif ftype == relay.PONG:
            pass
        else:
            raise AssertionError("anchor got type %d" % ftype)
        events += 1

def rst_close(s):
    # An abortive close: no TIME_WAIT, so 66,000 connections do not run
    # out of ephemeral ports.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

join = relay.encode(relay.JOIN, payload=room)
t0 = time.monotonic()
seen = set()
reused_at = None
done = 0
while done < CYCLES:
    socks = []
    for _ in range(BATCH):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(join)
        socks.append(s)
    for s in socks:
        c = relay.Client("127.0.0.1", port, connect=False)
        c.sock = s
        s.settimeout(5)
        ftype, src, dst, payload = c.recv(timeout=5)
        if ftype == relay.ERROR:
            raise AssertionError("cycle %d: ERROR %d (room locked)" % (done, payload[0]))
        assert ftype == relay.WELCOME, ftype
        assert 1 < dst <= 0xfffe, dst
        if dst in seen and reused_at is None:
            reused_at = done
        seen.add(dst)
        done += 1
    for s in socks:
        rst_close(s)
    if done % 512 == 0:
        drain()
took = time.monotonic() - t0
# Ids came back only after a whole lap of the id space.
assert reused_at is not None and reused_at >= 0xfffe - 8, reused_at
# The anchor is still a member and hears every join and leave, in order.
anchor.ping()
drain(block_until=2 * CYCLES + 1)
assert events == 2 * CYCLES + 1, events
# Newcomers are admitted up to --room-size (8), then ROOM_FULL.
full = []
for i in range(7):
    c = relay.Client("127.0.0.1", port)
    me, others = c.join(room)
    full.append(c)
extra = relay.Client("127.0.0.1", port)
extra.send(relay.JOIN, payload=room)
extra.expect_error(relay.FE_ROOM_FULL)
# One leaves: its place is taken by the next newcomer.
full.pop().close()
drain(block_until=events + 8)
again = relay.Client("127.0.0.1", port)
me, others = again.join(room)
assert len(others) == 7, others
print("t_relayd_churn: figure: %d join/leave cycles in %.1fs; first id reuse after %d joins"
      % (CYCLES, took, reused_at))
PY
echo PASS
