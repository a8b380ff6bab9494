#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd as a cluster over NATS (issue 15, PROTOCOL.md 5). Three nats-servers
# clustered on loopback, with a login; three relayd nodes, n1 and n2 on
# servers s1 and s2 (each listing another to fall back on), n3 on s3 through
# a TCP proxy only. Every node serves the same key over TLS, with
# --room-size 4. Shown, in order:
#   1. members on three nodes chat in one room (chatc, secure sessions), also
#      after a node was stopped and continued;
#   2. one room of --room-size 4 spread over the nodes: member ids unique,
#      the fifth and sixth JOIN refused (ROOM_FULL) wherever they come in,
#      and a place freed on one node is taken on another, LEFT before JOINED;
#   3. kill -9 of nats-server s1: n1 reconnects to s2, and the room goes on;
#   4. n3 cut off from the bus (its proxy stopped): its members get ERROR
#      UNAVAILABLE, the others see them leave, a JOIN there is refused at once,
#      and carol (chatc --relay n3,n1) comes back through n1: the others see
#      LEFT, then a fresh handshake (SECURE), and she talks again;
#   5. kill -9 of relayd n2: the others see its members leave, and bob (the
#      invite code's relays n2,n1 and their pinned key) is back, secure,
#      through n1 within seconds.
# Times (a node's death noticed, a cut node's members told, each client back
# and secure) are printed as figures. 0.1.0 has no --cluster (nor does it know NATS): nothing here runs
# there.
# e2e: alone
. "$E2E_LIB/common.sh"
. "$E2E_LIB/cluster.sh"
need_bins
need_nats

nats_cluster s1 s2 s3
for s in s1 s2 s3; do nats_routes $s 2; done
start_proxy bus3 "$s3_PORT" --raw
start_node n1 "nats://127.0.0.1:$s1_PORT,nats://127.0.0.1:$s2_PORT" --room-size 4
start_node n2 "nats://127.0.0.1:$s2_PORT,nats://127.0.0.1:$s1_PORT" --room-size 4
start_node n3 "nats://127.0.0.1:$bus3_PORT" --room-size 4
for n in n1 n2 n3; do wait_nodes $n 3; done
note "3 nats-servers, 3 relayd nodes up"

# 1. Three nodes, one room.
start_keyd alice; start_keyd bob; start_keyd carol
# One room, by an invite code that lists n2 and n1 with their key. Each
# knows two relays, its own first (chatc fails over along the list): bob the
# code's, pinned by it; alice and carol their own (--relay, --relay-fp).
code=$("$BIN/chatc" --new-room --relay "127.0.0.1:$n2_PORT,127.0.0.1:$n1_PORT" \
    --relay-fp "$RELAY_FP,$RELAY_FP") || fail "chatc --new-room"
chat_nodes alice "$code" "$n1_PORT" "$n2_PORT"
start_chatc bob --join "$code" --nick bob --keyd "$bob_SOCK"
chat_nodes carol "$code" "$n3_PORT" "$n1_PORT"
for p in "alice bob" "alice carol" "bob alice" "bob carol" "carol alice" "carol bob"; do
	set -- $p
	must_line "$W/$1.out" "^SECURE $2 " 1 20
done
say alice "hello from node one"
say carol "and from node three"
must_line "$W/bob.out" '^MSG alice hello from node one$' 1 10
must_line "$W/carol.out" '^MSG alice hello from node one$' 1 10
must_line "$W/alice.out" '^MSG carol and from node three$' 1 10
must_line "$W/bob.out" '^MSG carol and from node three$' 1 10
note "1: alice, bob and carol on three nodes chat in one room"
# A node stopped for a moment (SIGSTOP, a debugger) goes on once continued:
# libnats' timed waits come back through restart_syscall, under the filter.
kill -STOP "$n1_PID"
sleep 0.3
kill -CONT "$n1_PID"
say alice "after a pause"
must_line "$W/bob.out" '^MSG alice after a pause$' 1 10
e2e_dead "$n1_PID" && fail "relayd n1 died after SIGSTOP and SIGCONT"

# 2. --room-size across the nodes (raw clients, PROTOCOL.md 1).
export PYTHONPATH="$E2E_LIB" P1="$n1_PORT" P2="$n2_PORT" P3="$n3_PORT" W
$PY - <<'PY' || fail "room size across nodes"
import os, time
import relay

p = [int(os.environ[k]) for k in ("P1", "P2", "P3")]
room = relay.room_id("small")
members = []
for port in (p[0], p[1], p[2], p[0]):
    c = relay.Client("127.0.0.1", port)
    me, others = c.join(room, timeout=10)
    assert sorted(others) == sorted(m for _, m in members), (others, members)
    members.append((c, me))
ids = [m for _, m in members]
assert len(set(ids)) == 4, ids
for port in (p[1], p[2]):
    c = relay.Client("127.0.0.1", port)
    c.send(relay.JOIN, payload=room)
    c.expect_error(relay.FE_ROOM_FULL, timeout=10)
    c.close()
# One leaves (on n1); a newcomer on n3 gets in, and the members on n2 and n3
# see LEFT for the one who left before JOINED for the newcomer.
gone, gone_id = members.pop(0)
gone.close()
for attempt in range(100):
    c = relay.Client("127.0.0.1", p[2])
    c.send(relay.JOIN, payload=room)
    t, src, dst, payload = c.recv(timeout=10)
    if t == relay.WELCOME:
        new_id = dst
        break
    assert t == relay.ERROR and payload[0] == relay.FE_ROOM_FULL, (t, payload)
    c.close()
    time.sleep(0.05)
else:
    raise AssertionError("the freed place was never given")
assert new_id not in [m for _, m in members]
for c, me in members:
    seen = []
    while len(seen) < 2 or seen[-1] != ("JOINED", new_id):
        t, src, _, _ = c.recv(timeout=10)
        if t in (relay.JOINED, relay.LEFT):
            seen.append((relay.TYPE_NAMES[t], src))
    assert ("LEFT", gone_id) in seen and seen.index(("LEFT", gone_id)) < seen.index(("JOINED", new_id)), seen
print("room of 4 over 3 nodes: ids %s, two more refused, place %d reused as %d after LEFT" %
      (ids, gone_id, new_id))
PY
note "2: --room-size 4 held across the nodes"

# 3. A NATS server dies: n1 goes over to s2, the room goes on.
kill -9 "$s1_PID"
wait_exit "$s1_PID" 5 || fail "nats-server s1 did not die"
# What n1 published into s1's socket as it died is lost (NATS core: at most
# once, PROTOCOL.md 5.8); the room goes on once n1 is on s2.
rc_end=$(( $(now_ms) + 10000 ))
until wait_nodes n1 3 && [ "$(cluster_stat n1 reconnects)" -ge 1 ] &&
    [ "$(cluster_stat n1 up)" = 1 ]; do
	[ "$(now_ms)" -gt "$rc_end" ] && fail "n1 did not reconnect to s2 (reconnects=$(cluster_stat n1 reconnects) up=$(cluster_stat n1 up))"
	sleep 0.1
done
say alice "after s1 died"
must_line "$W/bob.out" '^MSG alice after s1 died$' 1 10
must_line "$W/carol.out" '^MSG alice after s1 died$' 1 10
say bob "bob answers"
must_line "$W/alice.out" '^MSG bob bob answers$' 1 10
note "3: nats-server s1 killed; n1 reconnected to s2 and the room went on"

# 4. n3 cut off from the bus: its members are told (UNAVAILABLE), the others see them go.
$PY - <<'PY' >"$W/cut.out" 2>&1 &
import os, sys, time
import relay
p3, p1 = int(os.environ["P3"]), int(os.environ["P1"])
room = relay.room_id("cut")
a = relay.Client("127.0.0.1", p1)
a.join(room, timeout=10)
z = relay.Client("127.0.0.1", p3)
zid, _ = z.join(room, timeout=10)
assert a.expect(relay.JOINED, timeout=10)[0] == zid
print("ready", flush=True)
while not os.path.exists(os.environ["W"] + "/cut.go"):
    time.sleep(0.01)
t0 = time.time()
z.expect_error(relay.FE_UNAVAILABLE, timeout=10)
told = time.time() - t0
src = a.expect(relay.LEFT, timeout=10)[0]
assert src == zid
left = time.time() - t0
# While cut off, a JOIN there is refused at once: the client goes elsewhere.
n = relay.Client("127.0.0.1", p3)
n.send(relay.JOIN, payload=room)
n.expect_error(relay.FE_UNAVAILABLE, timeout=5)
print("told %.2f left %.2f" % (told, left), flush=True)
PY
cut_py=$!
e2e_track $cut_py
must_line "$W/cut.out" '^ready' 1 15
kill -STOP "$bus3_PID"
cut_t0=$(now_ms)
: >"$W/cut.go"
must_line "$W/cut.out" '^told ' 1 15
# carol, told, goes to n1: alice and bob see her leave, then a new handshake.
# Routine, so INFO on stderr (not a WARN on stdout: t_e2e_quiet).
must_line "$W/carol.err" "^INFO lost the relay at 127.0.0.1:$n3_PORT \(relay cut off from its cluster\); joining through 127.0.0.1:$n1_PORT" 1 10
must_line "$W/carol.err" "^INFO in the room at 127.0.0.1:$n1_PORT again" 1 15
for w in alice bob; do
	must_line "$W/carol.out" "^SECURE $w " 2 15
	must_line "$W/$w.out" '^SECURE carol ' 2 15
	[ "$(line_of "$W/$w.out" '^LEFT carol$' 1)" -gt 0 ] &&
	    [ "$(line_of "$W/$w.out" '^LEFT carol$' 1)" -lt "$(line_of "$W/$w.out" '^SECURE carol ' 2)" ] ||
		fail "$w did not see carol leave before she came back"
done
cut_back=$(( $(now_ms) - cut_t0 ))
say carol "carol on node one now"
must_line "$W/alice.out" '^MSG carol carol on node one now$' 1 10
must_line "$W/bob.out" '^MSG carol carol on node one now$' 1 10
note "figure: cut-off node: members told UNAVAILABLE after $(sed -n 's/^told \([0-9.]*\).*/\1/p' "$W/cut.out") s, seen leaving elsewhere after $(sed -n 's/.* left \([0-9.]*\)/\1/p' "$W/cut.out") s"
note "figure: cut-off node: carol secure again through n1 after $cut_back ms"
kill -CONT "$bus3_PID"

# 5. kill -9 of a relayd: the others see its members leave, and bob comes
# back through n1, the code's second relay (LEFT, then a new handshake),
# secure, within seconds.
a_sec=$(count "$W/alice.out" '^SECURE bob ')
c_sec=$(count "$W/carol.out" '^SECURE bob ')
b_sec=$(count "$W/bob.out" '^SECURE alice ')
kill -9 "$n2_PID"
kill_t0=$(now_ms)
must_line "$W/alice.out" '^LEFT bob' 1 10
kill_left=$(( $(now_ms) - kill_t0 ))
must_line "$W/bob.err" "^INFO lost the relay at 127.0.0.1:$n2_PORT .*joining through 127.0.0.1:$n1_PORT" 1 10
must_line "$W/alice.out" '^SECURE bob ' $((a_sec + 1)) 15
must_line "$W/bob.out" '^SECURE alice ' $((b_sec + 1)) 15
kill_back=$(( $(now_ms) - kill_t0 ))
must_line "$W/carol.out" '^SECURE bob ' $((c_sec + 1)) 15
for w in alice carol; do
	[ "$(line_of "$W/$w.out" '^LEFT bob$' 1)" -gt 0 ] &&
	    [ "$(line_of "$W/$w.out" '^LEFT bob$' 1)" -lt "$(line_of "$W/$w.out" '^SECURE bob ' $(($(count "$W/$w.out" '^SECURE bob '))))" ] ||
		fail "$w did not see bob leave before he came back"
done
say bob "bob on node one now"
must_line "$W/alice.out" '^MSG bob bob on node one now$' 1 10
must_line "$W/carol.out" '^MSG bob bob on node one now$' 1 10
note "figure: relayd n2 killed: alice saw LEFT bob after $kill_left ms, bob secure with her again through n1 after $kill_back ms"
exit 0
