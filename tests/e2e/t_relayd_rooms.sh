#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd: many rooms at once, unicast and broadcast routing, a member leaving
# mid-stream (independent of socket buffer sizes), PING/PONG, SIGUSR1
# counters (no addresses, no room ids), and a clean exit 0 on SIGTERM, over
# TLS (relayd's default). Also the command line: --help, --version, exit 2,
# and --plaintext, which must be asked for and says so.
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

# Command line.
"$BIN/relayd" --version | grep -qx 'relayd (veil) [0-9.]*'
"$BIN/relayd" --help >"$TMPDIR/help"
for opt in --listen --max-clients --max-per-addr --max-frame --room-size --idle-timeout --user --chroot \
    --queue-soft --queue-hard --stall-window --slow-timeout --key --cert --plaintext --gen-key \
    --fingerprint --help --version example; do
	grep -q -- "$opt" "$TMPDIR/help" || { echo "--help does not mention $opt"; exit 1; }
done
for bad in "--room-size 1" "--room-size 65" "--max-frame 4607" "--max-frame 65537" \
    "--max-clients 0" "--idle-timeout x" "--listen localhost:1" "--listen 1.2.3.4" \
    "--bogus" "extra" "--chroot relative" "--queue-soft 16383" "--queue-hard 1048576000" \
    "--queue-soft 4000000" "--queue-soft 300000 --queue-hard 500000" "--stall-window 60001" \
    "--stall-window -1" "--slow-timeout 0" "--slow-timeout 3601" "--max-per-addr -1" \
    "--max-per-addr 1000001" "--max-per-addr x" "--listen 127.0.0.1:0" \
    "--plaintext --key $TMPDIR/k" "--plaintext --cert $TMPDIR/c" "--fingerprint" \
    "--gen-key $TMPDIR/k --listen 127.0.0.1:0" "--fingerprint --key $TMPDIR/k --plaintext" \
    "--gen-key"; do
	rc=0
	# shellcheck disable=SC2086
	"$BIN/relayd" $bad 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ] || { echo "relayd $bad: exit $rc, wanted 2"; exit 1; }
done
[ ! -e "$TMPDIR/k" ] || { echo "a refused command line made a key"; exit 1; }
# No TLS without asking for it: --plaintext says so when it starts.
"$BIN/relayd" --listen 127.0.0.1:0 --plaintext 2>"$TMPDIR/plain.log" &
ppid=$!
i=0
until grep -q 'listening on' "$TMPDIR/plain.log"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "plaintext relayd did not start"; exit 1; }; sleep 0.05
done
kill -TERM "$ppid"; wait "$ppid" || true
grep -qx 'relayd: plaintext mode: no TLS; for loopback tests and benchmarks only' "$TMPDIR/plain.log" ||
	{ echo "--plaintext did not say so:"; cat "$TMPDIR/plain.log"; exit 1; }

"$BIN/relayd" --gen-key "$TMPDIR/relay.key" >"$TMPDIR/relay.fp"
RELAY_FP=$(cat "$TMPDIR/relay.fp")
export RELAY_FP
"$BIN/relayd" --listen 127.0.0.1:0 --key "$TMPDIR/relay.key" 2>"$log" &
pid=$!
export PYTHONPATH="$E2E_LIB" RELAYD_LOG="$log" RELAYD_PID="$pid"
python3 - <<'PY'
import os, struct, time
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])

# 40 rooms x 4 members, all open at once.
ROOMS, PER = 40, 4
rooms = []
for r in range(ROOMS):
    rid = relay.room_id("room-%d" % r)
    members = []
    for m in range(PER):
        c = relay.Client(host, port)
        me, others = c.join(rid)
        assert me == m + 1, (me, m)
        assert others == list(range(1, m + 1)), others
        members.append(c)
    # Each earlier member hears JOINED for each later one, in order.
    for i, c in enumerate(members):
        for j in range(i + 1, PER):
            src, dst, _ = c.expect(relay.JOINED)
            assert (src, dst) == (j + 1, 0)
    rooms.append(members)

# Everyone broadcasts a tag; everyone gets exactly its room-mates' tags.
for r, members in enumerate(rooms):
    for i, c in enumerate(members):
        c.send_data(relay.BCAST, b"r%d-m%d" % (r, i + 1))
for r, members in enumerate(rooms):
    for i, c in enumerate(members):
        got = set()
        for _ in range(PER - 1):
            src, dst, payload = c.expect(relay.DATA)
            assert dst == relay.BCAST
            assert payload == b"r%d-m%d" % (r, src), (r, src, payload)
            got.add(src)
        assert got == set(range(1, PER + 1)) - {i + 1}
# Unicast: 1 -> 3 in every room; only 3 hears it.
for r, members in enumerate(rooms):
    members[0].send_data(3, b"to-3-in-%d" % r)
for r, members in enumerate(rooms):
    src, dst, payload = members[2].expect(relay.DATA)
    assert (src, dst, payload) == (1, 3, b"to-3-in-%d" % r)
    for c in members:
        c.ping()
    for c in members:
        c.expect(relay.PONG)      # nothing else was queued before the PONG

# A member leaving mid-stream: room 0, member 2 goes after 50 of 300 frames.
# c and d are read while a sends, so nothing here depends on how much the
# kernel's socket buffers or relayd's queues hold.
a, b, c, d = rooms[0]
blob = os.urandom(2000)
frames = {c: [], d: []}
def take():
    for m in (c, d):
        m.take_ready()
        while True:
            try:
                frames[m].append(m.recv(timeout=0))
            except TimeoutError:
                break
for n in range(300):
    a.send_data(relay.BCAST, struct.pack(">I", n) + blob)
    if n == 50:
        b.close()
    take()
for m in (c, d):
    while len(frames[m]) < 301:
        frames[m].append(m.recv())
    # Every frame in order, and LEFT for 2 once, somewhere after it left.
    data = [struct.unpack(">I", p[:4])[0] for t, s_, _, p in frames[m] if t == relay.DATA]
    assert data == list(range(300)), data[:5]
    lefts = [i for i, f in enumerate(frames[m]) if f[0] == relay.LEFT]
    assert len(lefts) == 1 and frames[m][lefts[0]][1] == 2, frames[m][lefts[0]] if lefts else None
    assert len(frames[m]) == 301
# The sender is untouched; data for the departed member is dropped silently.
a.send_data(2, b"too late")
a.ping()
while True:
    ftype, src, _, _ = a.recv()
    if ftype == relay.PONG:
        break
    assert ftype == relay.LEFT and src == 2
# Other rooms saw none of it.
for members in rooms[1:]:
    for m in members:
        assert not m.closed_by_peer(0.0)
        m.ping()
        m.expect(relay.PONG)

# Rooms disappear with their last member: ids restart from 1.
for m in rooms[5]:
    m.close()
for attempt in range(100):          # until relayd has seen all four go
    n = relay.Client(host, port)
    me, others = n.join(relay.room_id("room-5"))
    if (me, others) == (1, []):
        break
    assert me > 4, me                # never an id handed out before
    n.close()
    time.sleep(0.05)
else:
    raise AssertionError("room-5 never disappeared")
print("rooms ok")
PY

# Counters on SIGUSR1: one line, no address, no room id. Asked again until
# relayd has seen every client of the script above go.
i=0
while :; do
	n=$(grep -c 'relayd: stats:' "$log" || true)
	kill -USR1 "$pid"
	j=0
	until [ "$(grep -c 'relayd: stats:' "$log" || true)" -gt "$n" ]; do
		j=$((j + 1)); [ $j -lt 100 ] || { echo "no stats line"; exit 1; }; sleep 0.05
	done
	grep 'relayd: stats:' "$log" | tail -n 1 | grep -q 'connections=0 ' && break
	i=$((i + 1)); [ $i -lt 50 ] || { echo "connections never drained"; exit 1; }
	sleep 0.1
done
grep 'relayd: stats:' "$log" | tail -n 1
grep 'relayd: stats:' "$log" | tail -n 1 | grep -q 'joins=161 '
if grep -v 'listening on' "$log" | grep -Eq '127\.0\.0\.1|[0-9a-f]{16}'; then
	echo "relayd logged an address or an id:"; cat "$log"; exit 1
fi

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "relayd exited $rc on SIGTERM"; cat "$log"; exit 1; }
grep -q 'relayd: shutting down' "$log"
echo "PASS"
