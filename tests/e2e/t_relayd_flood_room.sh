#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# relayd: a flooding member cannot get an ordinary member dropped (issue 11,
# item 6). A member broadcasts 6,000 frames of 16 KiB as fast as TCP lets it
# (16 frames per send) into a room where two ordinary members read one frame
# at a time and, every 100 ms, exchange a short unicast message and its
# answer. Both ordinary members get every flood frame in order, none is
# dropped, the flooder is only slowed (relayd stops reading it while a
# reader's queue is past --queue-soft), and each exchange completes within
# the stall window plus slack. On 0.1.0 the ordinary members get ERROR SLOW.
: "${E2E_LINK:=tls}"	# also runs over plain TCP: E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT"
stats() {
	kill -USR1 "$relay_PID"
	must_line "$W/relay.err" 'relayd: stats:' "$1" 5
	grep 'relayd: stats:' "$W/relay.err" | tail -n 1
}
$PY - <<'PY' || fail "flood in a room: $(stats 1)"
import os, select, struct, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("flood-room")
N, SIZE, BATCH = 6000, 16384, 16

m1 = relay.Client("127.0.0.1", port)
m2 = relay.Client("127.0.0.1", port)
id1, _ = m1.join(room)
id2, _ = m2.join(room)
assert m1.expect(relay.JOINED)[0] == id2

pid = relay.fork_flooder("127.0.0.1", port, room, N, SIZE, BATCH)

class Member:
    """An ordinary member: reads one frame at a time, as a chat client does."""

    def __init__(self, c, name):
        self.c, self.name, self.next, self.msgs = c, name, 0, []
        self.flood_src = None
        c.sock.settimeout(30)

    def read_one(self):
        ftype, src, dst, payload = self.c.recv(timeout=30)
        if ftype == relay.ERROR:
            raise AssertionError("%s got ERROR %d after %d flood frames"
                                 % (self.name, payload[0], self.next))
        if ftype == relay.JOINED:
            self.flood_src = src
        elif ftype == relay.DATA and dst == relay.BCAST:
            assert src == self.flood_src, src
            (k,) = struct.unpack_from(">I", payload)
            assert k == self.next, "%s: flood frame %d where %d was due" % (self.name, k, self.next)
            self.next += 1
        elif ftype == relay.DATA:
            self.msgs.append((time.monotonic(), payload))
        elif ftype == relay.LEFT and src == self.flood_src:
            pass            # done flooding: it left in the end
        else:
            raise AssertionError("%s got type %d from %d" % (self.name, ftype, src))

a, b = Member(m1, "m1"), Member(m2, "m2")
sent = {}
rtts = []
n_ex = 0
next_ex = time.monotonic()
t0 = time.monotonic()
while a.next < N or b.next < N:
    assert time.monotonic() - t0 < 90, "flood not through in 90 s (%d, %d)" % (a.next, b.next)
    now = time.monotonic()
    if now >= next_ex:
        m1.send_data(id2, b"ping %d" % n_ex)
        sent[n_ex] = now
        n_ex += 1
        next_ex = now + 0.1
    r, _, _ = select.select([m1.sock, m2.sock], [], [], 0.05)
    for who in (a, b):
        if who.c.sock in r or who.c.pending():
            # A few frames per turn for each, like two clients side by side.
            for _ in range(8):
                who.read_one()
                if not who.c.pending():
                    break
    for when, p in b.msgs:
        k = int(p.split()[1])
        m2.send_data(id1, b"pong %d" % k)
    b.msgs.clear()
    for when, p in a.msgs:
        k = int(p.split()[1])
        rtts.append(when - sent.pop(k))
    a.msgs.clear()
took = time.monotonic() - t0
_, status = os.waitpid(pid, 0)
assert status == 0, "flooder failed (status %d)" % status
# The last exchanges still in flight complete too.
deadline = time.monotonic() + 5
while sent and time.monotonic() < deadline:
    for who in (a, b):
        r, _, _ = select.select([who.c.sock], [], [], 0.05)
        if r or who.c.pending():
            who.read_one()
    for when, p in b.msgs:
        m2.send_data(id1, b"pong %d" % int(p.split()[1]))
    b.msgs.clear()
    for when, p in a.msgs:
        rtts.append(when - sent.pop(int(p.split()[1])))
    a.msgs.clear()
assert not sent, "exchanges never answered: %r" % sorted(sent)
assert len(rtts) >= 5, rtts
worst = max(rtts)
assert worst < 2.5, "an exchange took %.2fs" % worst
print("t_relayd_flood_room: figure: %d x %d KiB broadcast to 2 readers in %.1fs; %d exchanges, slowest %.0f ms"
      % (N, SIZE // 1024, took, len(rtts), worst * 1000))
PY
stats=$(stats 1)
note "figure: flow control: $(echo "$stats" | sed 's/.* flow: \(.*\) tls:.*/\1/')"
case $stats in *' slow=0 '*) ;; *) fail "a connection was dropped as slow" ;; esac
case $stats in *' stalled=0 '*) ;; *) fail "a connection was dropped as stalled" ;; esac
echo PASS
