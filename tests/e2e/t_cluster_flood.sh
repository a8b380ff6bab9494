#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# relayd cluster: back-pressure across the bus is what it is on one relay
# (issue 15, PROTOCOL.md 5.9). Two nats-servers clustered, relayd n1 on one
# and n2 on the other. A member on n1 broadcasts 40,000 frames of 1 KiB as
# fast as TCP lets it; a member on n2 reads one frame at a time and three
# times stops reading for 800 ms (below the 1,000 ms stall window), a member
# on n1 reads steadily. On one relay such a reader sets the flooder's pace and is never
# dropped (t_relayd_flood_room); across nodes, before the credit window of
# 5.9, everything the bus and libnats had buffered (megabytes) landed in the
# paused reader's queue after its HOLD went out and passed --queue-hard:
# ERROR SLOW. Now every frame arrives, in order, at both readers.
# Plain TCP: the flooder goes fastest (TLS costs relayd reading time, and
# less lands on the bus at once); E2E_LINK=tls runs it over TLS.
: "${E2E_LINK:=plain}"
. "$E2E_LIB/common.sh"
. "$E2E_LIB/cluster.sh"
need_bins
need_nats

nats_cluster s1 s2
for s in s1 s2; do nats_routes $s 1; done
# --queue-hard 2 MiB: 1.75 MiB over --queue-soft, still more than the credit
# window and what a node has read of one member (1 MiB + 256 KiB, 5.9).
start_node n1 "nats://127.0.0.1:$s1_PORT" --queue-hard 2097152
start_node n2 "nats://127.0.0.1:$s2_PORT" --queue-hard 2097152
for n in n1 n2; do wait_nodes $n 2; done

stats() {
	for n in n1 n2; do
		eval "kill -USR1 \$${n}_PID" 2>/dev/null
	done
	sleep 0.2
	for n in n1 n2; do
		echo "$n: $(grep 'relayd: stats:' "$W/$n.err" | tail -n 1)"
		echo "$n: $(grep 'relayd: cluster:' "$W/$n.err" | tail -n 1)"
	done
}
export W PYTHONPATH="$E2E_LIB" P1="$n1_PORT" P2="$n2_PORT" N="${FLOOD_FRAMES:-40000}" SIZE="${FLOOD_SIZE:-1024}"
$PY - <<'PY' || fail "flood across nodes: $(stats)"
import os, select, struct, time
import relay

p1, p2, N = int(os.environ["P1"]), int(os.environ["P2"]), int(os.environ["N"])
room = relay.room_id("cluster-flood-room")
SIZE = int(os.environ["SIZE"])
BATCH = max(1, 262144 // SIZE)

r1 = relay.Client("127.0.0.1", p1, timeout=30)   # reads steadily, on n1
r2 = relay.Client("127.0.0.1", p2, timeout=30)   # pauses, on n2
id1, _ = r1.join(room)
id2, _ = r2.join(room)
assert r1.expect(relay.JOINED)[0] == id2

pid = relay.fork_flooder("127.0.0.1", p1, room, N, SIZE, BATCH, timeout=120)

class Reader:
    def __init__(self, c, name):
        self.c, self.name, self.next, self.src = c, name, 0, None

    def read_one(self):
        ftype, src, dst, payload = self.c.recv(timeout=30)
        if ftype == relay.ERROR:
            raise AssertionError("%s got ERROR %d after %d of %d flood frames"
                                 % (self.name, payload[0], self.next, N))
        if ftype == relay.JOINED:
            self.src = src
        elif ftype == relay.DATA:
            assert src == self.src, src
            (k,) = struct.unpack_from(">I", payload)
            assert k == self.next, "%s: frame %d where %d was due" % (self.name, k, self.next)
            self.next += 1
        elif ftype != relay.LEFT:
            raise AssertionError("%s got type %d" % (self.name, ftype))

a, b = Reader(r1, "the reader on n1"), Reader(r2, "the reader on n2")
pauses = [N // 4, N // 2, 3 * N // 4]     # b stops reading for 800 ms at these counts
paused = 0
t0 = time.monotonic()
while a.next < N or b.next < N:
    assert time.monotonic() - t0 < 120, "flood not through in 120 s (%d, %d)" % (a.next, b.next)
    if pauses and b.next >= pauses[0]:
        pauses.pop(0)
        t = time.monotonic()
        while time.monotonic() - t < 0.8:      # a goes on reading
            r, _, _ = select.select([r1.sock], [], [], 0.01)
            if r or r1.pending():
                a.read_one()
        paused += 1
    r, _, _ = select.select([r1.sock, r2.sock], [], [], 0.05)
    for who in (a, b):
        if who.c.sock in r or who.c.pending():
            for _ in range(8):
                who.read_one()
                if not who.c.pending():
                    break
took = time.monotonic() - t0
_, status = os.waitpid(pid, 0)
assert status == 0, "flooder failed (status %d)" % status
with open(os.environ["W"] + "/flood.txt", "w") as out:
    print("%d frames of %d bytes from n1: every one at both readers, in order; the reader on n2 "
          "paused %d x 800 ms and was not dropped; %.1f s, %.0f frames/s"
          % (N, SIZE, paused, took, N / took), file=out)
PY
stats >"$W/stats.txt"
note "figure: $(cat "$W/flood.txt"); n1 waited for n2's CREDIT $(sed -n 's/.*credit_waits=\([0-9]*\).*/\1/p' "$W/stats.txt" | head -n 1) times"
note "ok: a paused reader across nodes set the pace, and was not dropped"
