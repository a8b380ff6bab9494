#!/bin/sh
# SPDX-License-Identifier: ISC
# Failover loses nothing (issues 15 and 13 together). Two nats-servers and
# two relayd nodes; alice is on n1 (chatc --relay n1,n2), bob on n2. While
# alice types N lines, one every 20 ms, n1 is killed (kill -9) with some of
# them in its buffers and on the bus. alice goes over to n2, both shake
# hands again, and every one of her lines must end DELIVERED (bob shows it
# exactly once, in order), counted by lib/delivery.py. 0.1.0 has no
# --cluster: nothing here runs there.
# e2e: alone
. "$E2E_LIB/common.sh"
. "$E2E_LIB/cluster.sh"
need_bins
need_nats
N=${FAILOVER_LINES:-60}

nats_cluster s1 s2
for s in s1 s2; do nats_routes $s 1; done
start_node n1 "nats://127.0.0.1:$s1_PORT"
start_node n2 "nats://127.0.0.1:$s2_PORT"
for n in n1 n2; do wait_nodes $n 2; done
start_keyd alice
start_keyd bob
chat_nodes alice failover "$n1_PORT" "$n2_PORT"
chat_nodes bob failover "$n2_PORT" "$n1_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 20
must_line "$W/bob.out" '^SECURE alice ' 1 20
say alice "a-line 1"
must_line "$W/bob.out" '^MSG alice a-line 1$' 1 10

# The lines go on while n1 dies under them: about a third before, the rest
# while alice is away and after she is back.
k=1
while [ $k -lt "$N" ]; do
	k=$((k + 1))
	printf 'a-line %d\n' $k >"$W/alice.in"
	[ $k -eq $((N / 3)) ] && { kill -9 "$n1_PID"; kill_t0=$(now_ms); }
	sleep 0.02
done
must_line "$W/alice.err" "^INFO lost the relay at 127.0.0.1:$n1_PORT .*joining through 127.0.0.1:$n2_PORT" 1 10
must_line "$W/alice.out" '^SECURE bob ' 2 20
must_line "$W/bob.out" '^SECURE alice ' 2 20
back=$(( $(now_ms) - kill_t0 ))
wait_line "$W/alice.out" '^(DELIVERED|UNDELIVERED) bob ' "$N" 30 ||
	note "alice: only $(count "$W/alice.out" '^(DELIVERED|UNDELIVERED) bob ') of $N lines reported"
stop_chatc alice
stop_chatc bob
r=$($PY "$E2E_LIB/delivery.py" "$W/alice.out" alice "$W/bob.out" bob a-line "$N" \
    --all-delivered 2>&1) || fail "alice to bob across the failover: $r"
note "figure: relayd n1 killed under a stream of $N lines: alice secure again through n2 after $back ms; $r"
note "ok: a node killed under a stream of lines lost none of them"
