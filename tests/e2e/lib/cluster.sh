# SPDX-License-Identifier: ISC
# Helpers for the relay cluster scenarios (PROTOCOL.md 5): a NATS cluster on
# loopback ports and relayd nodes on it. Source after common.sh. POSIX sh.
#
#   need_nats                        skip without nats-server
#   free_ports N                     prints N free loopback ports
#   nats_cluster NAME... -> ${NAME}_PORT ${NAME}_PID, a cluster of them, one
#                           route per pair, user "relay" password in $W/nats.creds
#   nats_routes NAME N               waits until NAME has N routes
#   start_node NAME URLS [relayd args]  start_relay with --cluster URLS --node NAME
#   wait_nodes NAME N [SECS]         until NAME's SIGUSR1 line says nodes=N
#   cluster_stat NAME KEY            the value of KEY= in NAME's last cluster line
#   chat_nodes WHO ROOM|CODE PORT... [-- args]  chat through a list of relays (failover)
#   line_of FILE ERE N               the line number of the Nth match, or 0

need_nats() {
	command -v nats-server >/dev/null 2>&1 || skip "nats-server is not installed (tests/deps.sh)"
}

free_ports() {
	$PY - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# nats_cluster NAME...: one nats-server per NAME, clustered, with a login.
nats_cluster() {
	NATS_NAMES="$*"
	nc_ports=$(free_ports $(($# * 3)))
	nc_routes=""
	nc_i=0
	for nc_n in $NATS_NAMES; do
		nc_f=$((nc_i * 3 + 1))
		eval "${nc_n}_PORT=$(echo "$nc_ports" | cut -d' ' -f$nc_f)"
		eval "${nc_n}_RPORT=$(echo "$nc_ports" | cut -d' ' -f$((nc_f + 1)))"
		eval "${nc_n}_MPORT=$(echo "$nc_ports" | cut -d' ' -f$((nc_f + 2)))"
		nc_i=$((nc_i + 1))
	done
	printf 'user relay\npassword %s\n' "p$$-$(date +%N)" >"$W/nats.creds"
	chmod 600 "$W/nats.creds"
	nc_pass=$(sed -n 's/^password //p' "$W/nats.creds")
	# Each server routes to those named before it: one route per pair, none
	# dropped as a duplicate (nats-server 2.9 can lose interest over those).
	nc_routes=""
	for nc_n in $NATS_NAMES; do
		eval "nc_p=\$${nc_n}_PORT nc_r=\$${nc_n}_RPORT nc_m=\$${nc_n}_MPORT"
		cat >"$W/$nc_n.conf" <<CONF
server_name: $nc_n
listen: 127.0.0.1:$nc_p
http: 127.0.0.1:$nc_m
authorization { user: relay, password: "$nc_pass" }
cluster {
  name: veil
  listen: 127.0.0.1:$nc_r
  routes: [ $nc_routes ]
}
CONF
		nats-server -c "$W/$nc_n.conf" >"$W/$nc_n.log" 2>&1 &
		eval "${nc_n}_PID=$!"
		e2e_track $!
		nc_routes="$nc_routes${nc_routes:+, }nats://127.0.0.1:$nc_r"
	done
	for nc_n in $NATS_NAMES; do
		wait_line "$W/$nc_n.log" 'Server is ready' 1 10 || fail "nats-server $nc_n did not start"
	done
}

# nats_routes NAME N: waits (10 s) until NAME's monitoring port counts N routes.
nats_routes() {
	eval "nr_m=\$${1}_MPORT"
	$PY - "$nr_m" "$2" <<'PY' || fail "nats-server $1 never had $2 routes"
import json, sys, time, urllib.request
end = time.time() + 10
while time.time() < end:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s/routez" % sys.argv[1], timeout=1) as r:
            if json.load(r).get("num_routes", 0) >= int(sys.argv[2]):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# start_node NAME URLS [relayd args]
start_node() {
	sn_n=$1 sn_u=$2; shift 2
	start_relay "$sn_n" --cluster "$sn_u" --node "$sn_n" --cluster-creds "$W/nats.creds" "$@"
}

# cluster_stat NAME KEY: from NAME's last "relayd: cluster:" line (SIGUSR1).
cluster_stat() {
	grep 'relayd: cluster:' "$W/$1.err" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# wait_nodes NAME N [SECS]: asks NAME for its counters until it counts N live nodes.
wait_nodes() {
	eval "wn_pid=\$${1}_PID"
	wn_end=$(( $(now_ms) + $(secs_ms "${3:-10}") ))
	while :; do
		wn_before=$(count "$W/$1.err" 'relayd: cluster:')
		kill -USR1 "$wn_pid" 2>/dev/null || fail "relayd $1 is gone"
		wait_line "$W/$1.err" 'relayd: cluster:' $((wn_before + 1)) 2 ||
			fail "relayd $1 printed no cluster line"
		[ "$(cluster_stat "$1" nodes)" = "$2" ] && return 0
		[ "$(now_ms)" -gt "$wn_end" ] && fail "relayd $1 counts $(cluster_stat "$1" nodes) nodes, not $2"
		sleep 0.2
	done
}

# chat_nodes WHO ROOM|CODE PORT... [-- extra chatc args]: chat (--room ROOM, or
# --join CODE for an invite code), with a chatc that knows every relay listed,
# in that order (it fails over along them).
chat_nodes() {
	cn_who=$1 cn_room=$2; shift 2
	cn_list=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cn_list="$cn_list${cn_list:+,}127.0.0.1:$1"; shift
	done
	[ "${1:-}" = -- ] && shift
	eval "cn_sock=\$${cn_who}_SOCK"
	case $cn_room in veil:*) cn_how=--join ;; *) cn_how=--room ;; esac
	# shellcheck disable=SC2086
	start_chatc "$cn_who" $cn_how "$cn_room" --nick "${NICK_PREFIX:-}$cn_who" \
	    --relay "$cn_list" --keyd "$cn_sock" $CHATC_LINK "$@"
}

# line_of FILE ERE N: the line number of the Nth line matching (0: none).
line_of() {
	grep -n -E -e "$2" "$1" | sed -n "$3{s/:.*//p;q}" | grep . || echo 0
}
