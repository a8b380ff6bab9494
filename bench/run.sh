#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/run.sh: the `make bench` table (issue 7). Starts relayd, the minimal
# forwarder (bench/fwd) and the reference servers (nats-server, mosquitto,
# redis-server) on ephemeral loopback ports, drives each with bench/load in
# its own protocol, interleaving the servers inside every round so that one
# run's ratios compare like with like on a noisy VM, then runs keyd_bench and
# a chatc pair. Prints medians of BENCH_RUNS runs with min-max.
# TLS rows (issue 14): relayd with its key (TLS 1.3, its default) against
# nats-server with TLS on the same P-256 key, driven by the same client
# (bench/load --tls 1): throughput and CPU per frame, pinned latency, TLS
# handshakes/s on one core, RSS per idle TLS connection.
#
# Environment: BIN (relayd, keyd, chatc), BENCH_BIN (fwd, load, keyd_bench),
# BENCH_RUNS (5), BENCH_SECS (1: seconds measured per run), BENCH_CONNS (10000),
# BENCH_FLOOD (300000: frames per flood run), BENCH_ONLY (keyd|e2e: no network
# sections; cluster: only relayd, nats-server and the cluster, throughput and
# flood rows and the cluster's targets), BENCH_CLUSTER_NATS_ENV (the cluster's
# nats-servers' environment, "GOMAXPROCS=1 GOGC=400" as docs/cluster.md says).
set -u

BIN=${BIN:-bin}
ONLY=${BENCH_ONLY:-}
# BENCH_ONLY=cluster: the servers the cluster's rows compare with, and no others.
others() { [ "$ONLY" != cluster ]; }
BENCH_BIN=${BENCH_BIN:-build/bench}
RUNS=${BENCH_RUNS:-5}
SECS=${BENCH_SECS:-1}
CONNS=${BENCH_CONNS:-10000}
FLOOD=${BENCH_FLOOD:-300000}
LOAD=$BENCH_BIN/load
T=$(mktemp -d "${TMPDIR:-/tmp}/veil-bench.XXXXXX") || exit 1
PIDS=""
prc=""	# set while we hold a policy-rc.d of our own

cleanup() {
	[ -n "$prc" ] && rm -f /usr/sbin/policy-rc.d
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

say() { printf '%s\n' "$*"; }

# 10,000 idle connections need that many descriptors in the client and in
# each server (which inherit this limit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)

# ---- reference servers: install when root and missing ------------------
PATH=$PATH:/usr/sbin:/sbin
need=""
command -v nats-server >/dev/null 2>&1 || need="$need nats-server"
command -v mosquitto >/dev/null 2>&1 || need="$need mosquitto"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
if [ -n "$need" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "bench: installing$need (apt-get)"
	# Packages must not start their system services: we run our own.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d &&
			chmod 755 /usr/sbin/policy-rc.d && prc=1
	fi
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    $need; } >"$T/apt.log" 2>&1; then
		say "bench: apt-get failed; going on without:$need"
		tail -n 3 "$T/apt.log" | sed 's/^/    /'
	fi
	[ -n "$prc" ] && rm -f /usr/sbin/policy-rc.d
	prc=""
fi

# ---- servers -------------------------------------------------------------
# $T/servers: one line per running server: name proto port pid
: > "$T/servers"

# Waits for "...listening on 127.0.0.1:PORT" in a log; prints PORT.
log_port() {
	i=0
	while [ $i -lt 100 ]; do
		p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

add_server() {	# name proto port pid
	if "$LOAD" wait --port "$3" && kill -0 "$4" 2>/dev/null; then
		echo "$1 $2 $3 $4" >> "$T/servers"
	else
		say "bench: $1 did not start; skipped"
		sed 's/^/    /' "$T/$1.log" | tail -n 5
	fi
}

if [ -x "$BIN/relayd" ]; then
	"$BIN/relayd" --listen 127.0.0.1:0 --plaintext --max-clients $((CONNS + 1000)) \
		>"$T/relayd.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	if port=$(log_port "$T/relayd.log"); then
		add_server relayd veil "$port" "$pid"
	else
		say "bench: relayd printed no listening line; skipped"
		sed 's/^/    /' "$T/relayd.log" | tail -n 5
	fi
	# Diagnostic row, not a target: the same relayd with glibc's heap trimming
	# and mmap threshold raised, which shows what its output-queue
	# realloc/free churn (brk calls under fan-out) costs.
	if others; then
		GLIBC_TUNABLES=glibc.malloc.trim_threshold=8388608:glibc.malloc.mmap_threshold=8388608 \
			"$BIN/relayd" --listen 127.0.0.1:0 --plaintext --max-clients $((CONNS + 1000)) \
			>"$T/relayd-mt.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		if port=$(log_port "$T/relayd-mt.log"); then
			add_server relayd-mt veil "$port" "$pid"
		fi
	fi
else
	say "bench: relayd not built ($BIN/relayd); its rows are missing"
fi

if others; then
	"$BENCH_BIN/fwd" --listen 127.0.0.1:0 >"$T/fwd.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	port=$(log_port "$T/fwd.log") && add_server fwd veil "$port" "$pid"
fi

if command -v nats-server >/dev/null 2>&1; then
	port=$("$LOAD" freeport)
	nats-server -a 127.0.0.1 -p "$port" >"$T/nats.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	add_server nats nats "$port" "$pid"
else
	say "bench: nats-server missing; its rows are skipped"
fi

# TLS: one ECDSA P-256 key (relayd --gen-key) for both TLS servers; nats-server
# gets a self-signed certificate for it (the client checks none).
KTLS="relayd not built"
if others && [ -x "$BIN/relayd" ] && "$BIN/relayd" --gen-key "$T/relay.key" >"$T/relay.fp" 2>"$T/genkey.log"; then
	"$BIN/relayd" --listen 127.0.0.1:0 --key "$T/relay.key" --max-clients $((CONNS + 1000)) \
		>"$T/relayd-tls.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	if port=$(log_port "$T/relayd-tls.log"); then
		add_server relayd-tls veil "$port" "$pid"
	else
		say "bench: relayd with TLS printed no listening line; skipped"
		sed 's/^/    /' "$T/relayd-tls.log" | tail -n 5
	fi
	KTLS=$(sed -n 's/^relayd: kTLS: //p' "$T/relayd-tls.log" | head -n 1)
	if command -v nats-server >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 &&
	    openssl req -x509 -new -key "$T/relay.key" -subj /CN=localhost -days 2 \
	    -out "$T/relay.crt" >"$T/openssl.log" 2>&1; then
		port=$("$LOAD" freeport)
		nats-server -a 127.0.0.1 -p "$port" --tls --tlscert "$T/relay.crt" \
			--tlskey "$T/relay.key" >"$T/nats-tls.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		add_server nats-tls nats "$port" "$pid"
	else
		say "bench: nats-server with TLS cannot start (nats-server or openssl missing); its rows are skipped"
	fi
fi

if ! others; then
	:
elif command -v mosquitto >/dev/null 2>&1; then
	port=$("$LOAD" freeport)
	printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n' \
		"$port" > "$T/mosquitto.conf"
	mosquitto -c "$T/mosquitto.conf" >"$T/mosquitto.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	add_server mosquitto mqtt "$port" "$pid"
else
	say "bench: mosquitto missing; its rows are skipped"
fi

if ! others; then
	:
elif command -v redis-server >/dev/null 2>&1; then
	port=$("$LOAD" freeport)
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--maxclients $((CONNS + 1000)) --daemonize no --logfile '' \
		>"$T/redis.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	add_server redis redis "$port" "$pid"
else
	say "bench: redis-server missing; its rows are skipped"
fi

# A relay cluster (issue 15): three nats-servers, clustered, and three relayd
# nodes, one on each; the "cluster" row drives them as one server: the sender
# on the first node, the receivers in turn on the second, third, first, ...
# (1 -> 1 crosses from node 1 to node 2; a room of 10 has 3 members on each
# node plus the sender), its CPU the sum over all six processes. The bus's
# nats-servers run as docs/cluster.md sets them up (BENCH_CLUSTER_NATS_ENV);
# the reference nats-server above runs as installed.
CL_NATS_ENV=${BENCH_CLUSTER_NATS_ENV-GOMAXPROCS=1 GOGC=400}
if [ -x "$BIN/relayd" ] && command -v nats-server >/dev/null 2>&1 && [ -z "${BENCH_NO_CLUSTER:-}" ]; then
	cl_routes=""
	cl_nodes=""
	cl_pids=""
	for k in 1 2 3; do
		np=$("$LOAD" freeport); rp=$("$LOAD" freeport)
		# shellcheck disable=SC2086
		env $CL_NATS_ENV nats-server -a 127.0.0.1 -p "$np" --cluster "nats://127.0.0.1:$rp" --cluster_name bench \
			${cl_routes:+--routes "$cl_routes"} >"$T/cnats$k.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		cl_pids="$cl_pids${cl_pids:+,}$pid"
		cl_routes="$cl_routes${cl_routes:+,}nats://127.0.0.1:$rp"
		eval "CL_NATS$k=$np"
	done
	for k in 1 2 3; do
		eval "np=\$CL_NATS$k"
		"$LOAD" wait --port "$np" || say "bench: cluster nats-server $k did not start"
		"$BIN/relayd" --listen 127.0.0.1:0 --plaintext --max-clients $((CONNS + 1000)) \
			--cluster "nats://127.0.0.1:$np" --node "bench$k" >"$T/node$k.log" 2>&1 &
		pid=$!
		PIDS="$PIDS $pid"
		eval "CL_NODE_PID$k=$pid"
		if port=$(log_port "$T/node$k.log"); then
			cl_nodes="$cl_nodes${cl_nodes:+,}$port"
			cl_pids="$cl_pids,$pid"
		else
			say "bench: cluster node $k did not start"
			sed 's/^/    /' "$T/node$k.log" | tail -n 3
		fi
	done
	# Every node sees the other two (heartbeats) and has settled.
	cl_ok=""
	i=0
	while [ $i -lt 50 ] && [ -z "$cl_ok" ]; do
		cl_ok=1
		for k in 1 2 3; do
			eval "kill -USR1 \$CL_NODE_PID$k" 2>/dev/null
		done
		sleep 0.2
		for k in 1 2 3; do
			grep 'relayd: cluster:' "$T/node$k.log" 2>/dev/null | tail -n 1 | grep -q ' nodes=3 ' || cl_ok=""
		done
		i=$((i + 1))
	done
	if [ -n "$cl_ok" ] && [ "$(echo "$cl_nodes" | tr ',' ' ' | wc -w)" = 3 ]; then
		echo "cluster veil $cl_nodes $cl_pids" >> "$T/servers"
		CL_NODES=$cl_nodes
	else
		say "bench: the cluster did not form; its rows are skipped"
	fi
else
	say "bench: no nats-server (or BENCH_NO_CLUSTER): the cluster rows are skipped"
fi

# ---- measurements ----------------------------------------------------------
# Each result line is appended to $T/<test>.<server>, one line per run.
each_server() {	# callback args...
	while read -r name proto port pid; do
		"$@" "$name" "$proto" "$port" "$pid" </dev/null
	done < "$T/servers"
}

# --tls 1 for the TLS servers (names ending in -tls).
tlsarg() { case $1 in *-tls) echo "--tls 1" ;; *) echo "--tls 0" ;; esac; }
run_idle() {
	# shellcheck disable=SC2046
	timeout 120 "$LOAD" idle --proto "$2" --port "$3" --conns "$CONNS" --pid "$4" $(tlsarg "$1") \
		>> "$T/idle.$1" 2>>"$T/err.$1" || echo "bench: idle $1 failed" >>"$T/err.$1"
	sleep 0.5	# let the server reap those connections
}
# (sh has no locals: function variables are prefixed with their function's initials)
# cpu_ticks PID,PID,...: each one's CPU time so far (utime + stime, clock ticks).
cpu_ticks() {
	for ct_p in $(echo "$1" | tr ',' ' '); do
		awk '{ print $14 + $15 }' "/proc/$ct_p/stat" 2>/dev/null || echo 0
	done | tr '\n' ' '
}
run_tput() {	# receivers name proto port pid
	rt_n=$1; shift
	rt_before=$(cpu_ticks "$4")
	# shellcheck disable=SC2046
	timeout 30 "$LOAD" tput --proto "$2" --port "$3" --receivers "$rt_n" --secs "$SECS" \
		--pid "$4" $(tlsarg "$1") >> "$T/tput$rt_n.$1" 2>>"$T/err.$1" || {
		echo "failed" >> "$T/tput$rt_n.$1"	# keeps line k = round k
		echo "bench: tput $rt_n $1 failed" >>"$T/err.$1"
		return 0
	}
	# The cluster's CPU split: its pids are the three nats-servers, then the nodes.
	[ "$1" = cluster ] || return 0
	rt_pct=$(echo "$rt_before|$(cpu_ticks "$4")" | awk -F'|' '{
		n = split($1, a, " "); split($2, b, " "); all = 0; bus = 0
		for (i = 1; i <= n; i++) { d = b[i] - a[i]; all += d; if (i <= 3) bus += d }
		if (all > 0) printf("%.0f", 100 * bus / all) }')
	[ -n "$rt_pct" ] && sed -i "\$ s/\$/ nats_pct=$rt_pct/" "$T/tput$rt_n.$1"
	return 0
}
# One sender writing one frame per write(), blocking, against one receiver
# reading as fast as one thread can: every frame delivered, at what rate.
run_flood() {	# name proto port pid
	case $1 in *-tls) return 0 ;; esac	# not a TLS row
	timeout 120 "$LOAD" flood --proto "$2" --port "$3" --frames "$FLOOD" --pid "$4" \
		>> "$T/flood.$1" 2>>"$T/err.$1" || {
		echo "failed" >> "$T/flood.$1"
		echo "bench: flood $1 failed" >>"$T/err.$1"
	}
}
run_lat() {	# pin|free name proto port pid
	rl_tag=$1; shift
	# shellcheck disable=SC2046
	if [ "$rl_tag" = pin ]; then
		taskset -c "$PIN_CPU" timeout 30 "$LOAD" lat --proto "$2" --port "$3" \
			--secs "$SECS" --pid "$4" $(tlsarg "$1") >> "$T/lat$rl_tag.$1" 2>>"$T/err.$1"
	else
		timeout 30 "$LOAD" lat --proto "$2" --port "$3" --secs "$SECS" --pid "$4" \
			$(tlsarg "$1") >> "$T/lat$rl_tag.$1" 2>>"$T/err.$1"
	fi || {
		echo "failed" >> "$T/lat$rl_tag.$1"
		echo "bench: latency $rl_tag $1 failed" >>"$T/err.$1"
	}
}
pin() {
	for pp in $(echo "$4" | tr ',' ' '); do
		taskset -a -p -c "$5" "$pp" >/dev/null 2>&1
	done
}
# TLS handshakes on one core: the server alone on CPU $PIN_CPU, the client on
# another, new connections one after another.
run_hs() {	# name proto port pid
	case $1 in *-tls) ;; *) return 0 ;; esac
	taskset -a -p -c "$PIN_CPU" "$4" >/dev/null 2>&1
	taskset -c "$HS_CPU" timeout 30 "$LOAD" hs --proto "$2" --port "$3" --secs "$SECS" \
		--pid "$4" --tls 1 >> "$T/hs.$1" 2>>"$T/err.$1" || {
		echo "failed" >> "$T/hs.$1"
		echo "bench: handshakes $1 failed" >>"$T/err.$1"
	}
	taskset -a -p -c 0-$(($(nproc) - 1)) "$4" >/dev/null 2>&1
}

say "veil bench: $(nproc) CPUs, $RUNS runs of ${SECS}s per figure, servers interleaved in each run;"
say "figures are medians with (min-max). Load client: bench/load, one thread, the server's own protocol."
say ""

if [ "$NOFILE" -lt $((CONNS + 100)) ]; then
	say "bench: open-file limit $NOFILE is below $CONNS connections; idle test uses $((NOFILE - 200))"
	CONNS=$((NOFILE - 200))
fi
# Rounds stop early (and say so) once BENCH_BUDGET seconds have gone, so that
# `make bench` stays well inside 10 minutes even on a machine that stalls.
BUDGET=${BENCH_BUDGET:-360}
START=$(date +%s)
in_budget() {
	[ $(($(date +%s) - START)) -lt "$BUDGET" ] && return 0
	echo "bench: time budget (${BUDGET}s) spent; fewer runs than asked for $1" >> "$T/budget"
	return 1
}
# BENCH_ONLY=keyd|e2e skips the network sections (for working on the others);
# cluster keeps the throughput and flood rows only.
case $ONLY in "" | cluster) RUNS_NET=$RUNS ;; *) RUNS_NET=0 ;; esac
others && RUNS_LAT=$RUNS_NET || RUNS_LAT=0
[ -z "$ONLY" ] && each_server run_idle
# The cluster's DATA messages and the frames in them, node 1 (the senders'),
# over the throughput and flood rows: frames per NATS message.
cl_counts() {
	[ -n "${CL_NODE_PID1:-}" ] || return 0
	cc_n=$(grep -c 'relayd: cluster:' "$T/node1.log" 2>/dev/null)
	kill -USR1 "$CL_NODE_PID1" 2>/dev/null || return 0
	i=0
	while [ "$(grep -c 'relayd: cluster:' "$T/node1.log" 2>/dev/null)" -le "$cc_n" ] && [ $i -lt 200 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	grep 'relayd: cluster:' "$T/node1.log" | tail -n 1 |
		sed -n 's/.* frames_bus_out=\([0-9]*\) .* data_msgs_out=\([0-9]*\) .*/\1 \2/p'
}
CL_COUNT0=$(cl_counts)
round=1
while [ $round -le "$RUNS_NET" ] && { [ $round -eq 1 ] || in_budget throughput; }; do
	each_server run_tput 1
	each_server run_tput 9
	each_server run_flood
	round=$((round + 1))
done
CL_COUNT1=$(cl_counts)
# Pinned latency: the server and the load client share one CPU. Split over
# two vCPUs, every frame pays a cross-CPU wake-up of an idle vCPU, whose cost
# on this VM is milliseconds at p99 and swamps what is being measured.
PIN_CPU=$(($(nproc) - 1))
each_server pin "$PIN_CPU"
round=1
while [ $round -le "$RUNS_LAT" ] && { [ $round -eq 1 ] || in_budget "pinned latency"; }; do
	each_server run_lat pin
	round=$((round + 1))
done
each_server pin 0-$(($(nproc) - 1))
round=1
while [ $round -le "$RUNS_LAT" ] && { [ $round -eq 1 ] || in_budget "unpinned latency"; }; do
	each_server run_lat free
	round=$((round + 1))
done
HS_CPU=0
round=1
while [ $round -le "$RUNS_LAT" ] && { [ $round -eq 1 ] || in_budget "TLS handshakes"; }; do
	each_server run_hs
	round=$((round + 1))
done

# ---- the table -----------------------------------------------------------
# med FILE KEY -> "median min max" (nothing if no values)
med() {
	[ -f "$1" ] || return 0
	sed -n "s/.*$2=\([0-9.][0-9.]*\).*/\1/p" "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END { if (NR == 0) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		      print m, v[1], v[NR] }'
}
# cell FILE KEY FMT -> "median (min-max)" or "-"
cell() {
	set -- "$(med "$1" "$2")" "$3"
	[ -n "$1" ] || { echo "-"; return; }
	echo "$1" | awk -v f="$2" '{ printf(f " (" f "-" f ")\n", $1, $2, $3) }'
}
val() { med "$1" "$2" | awk '{ print $1 }'; }
val0() { med "$1" "$2" | awk '{ printf("%.0f\n", $1) }'; }
# pratio FILE_A FILE_B KEY -> median over runs of A/B, run by run (line k of
# each file is round k), so that drift on a shared machine cancels out.
pratio() {
	{ [ -f "$1" ] && [ -f "$2" ]; } || { echo "-"; return; }
	awk -v k="$3" '
		function get(line,   i, n, f, kv) { n = split(line, f, " ");
			for (i = 1; i <= n; i++) { split(f[i], kv, "="); if (kv[1] == k) return kv[2] }
			return "" }
		FNR == 1 { file++ }
		file == 1 { a[FNR] = get($0) }
		file == 2 { b[FNR] = get($0) }
		END { n = 0
			for (i in a) if ((i in b) && a[i] != "" && b[i] != "" && b[i] > 0) r[++n] = a[i] / b[i]
			if (n == 0) { print "-"; exit }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
			printf("%.2f\n", m) }' "$1" "$2"
}
target() {	# label ratio limit le|ge
	if [ "$2" = "-" ]; then
		printf '   %-62s %s\n' "$1" "n/a (missing figure)"
		return
	fi
	awk -v l="$1" -v r="$2" -v lim="$3" -v op="$4" 'BEGIN {
		ok = (op == "le") ? (r <= lim) : (r >= lim);
		printf("   %-62s %s  %s %s %s\n", l, ok ? "PASS" : "MISS", r, op == "le" ? "<=" : ">=", lim) }'
}
# The cluster's targets (issue 15): CPU per delivered frame of the whole
# cluster (nodes and nats-servers) against one relayd and one nats-server.
cluster_targets() {
	if grep -q '^cluster ' "$T/servers"; then
		for r in 1 9; do
			[ $r = 1 ] && w="1->1 across nodes" || w="room of 10 over 3 nodes"
			target "cluster CPU/frame (nodes + nats) vs one relayd ($w)" \
				"$(pratio "$T/tput$r.cluster" "$T/tput$r.relayd" cpu_us)" 2.0 le
			target "cluster CPU/frame vs one nats-server alone ($w)" \
				"$(pratio "$T/tput$r.cluster" "$T/tput$r.nats" cpu_us)" 1.0 le
		done
		say "   cluster: the cross-node hop adds, pinned: p50 $(awk -v a="$(val "$T/latpin.cluster" p50_us)" \
			-v b="$(val "$T/latpin.relayd" p50_us)" 'BEGIN { if (a == "" || b == "") print "-"; else printf("%.1f us", a - b) }'), p99 $(awk -v a="$(val "$T/latpin.cluster" p99_us)" \
			-v b="$(val "$T/latpin.relayd" p99_us)" 'BEGIN { if (a == "" || b == "") print "-"; else printf("%.1f us", a - b) }') over one relayd"
	fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf("%.2f\n", a / b) }'; }

# The TLS servers have a section of their own (6).
names=$(awk '$1 !~ /-tls$/ { print $1 }' "$T/servers")
tlsnames=$(awk '$1 ~ /-tls$/ { print $1 }' "$T/servers")

say "1. Forwarding, 256-byte payloads (one sender; frames delivered per second, server CPU per delivered frame;"
say "   busy% = server CPU time / wall time (200 = both vCPUs), user% = share of it outside the kernel,"
say "   load% = the load client's own CPU: near 100 it, not the server, sets frames/s)"
grep -q '^relayd-mt ' "$T/servers" &&
	say "   relayd-mt: the same relayd with GLIBC_TUNABLES trim/mmap thresholds at 8 MiB (diagnostic row, no target)"
for r in 1 9; do
	if [ $r = 1 ]; then say "   1 sender -> 1 receiver"; else say "   room of 10: 1 sender -> 9 receivers (fan-out)"; fi
	printf '   %-10s %-32s %-26s %-6s %-6s %-6s %s\n' server "frames/s" "CPU us/frame" "busy%" \
		"user%" "load%" "relayd/x: frames/s  CPU"
	for n in $names; do
		printf '   %-10s %-32s %-26s %-6s %-6s %-6s' "$n" "$(cell "$T/tput$r.$n" fps %.0f)" \
			"$(cell "$T/tput$r.$n" cpu_us %.3f)" "$(val0 "$T/tput$r.$n" busy_pct)" \
			"$(val0 "$T/tput$r.$n" user_pct)" "$(val0 "$T/tput$r.$n" load_pct)"
		if [ "$n" != relayd ] && [ -f "$T/tput$r.relayd" ]; then
			printf ' %-19s %s' "$(pratio "$T/tput$r.relayd" "$T/tput$r.$n" fps)" \
				"$(pratio "$T/tput$r.relayd" "$T/tput$r.$n" cpu_us)"
		fi
		printf '\n'
	done
	if [ -n "$(val "$T/tput$r.cluster" nats_pct 2>/dev/null)" ]; then
		say "   cluster's CPU per frame: $(awk -v c="$(val "$T/tput$r.cluster" cpu_us)" \
			-v p="$(val "$T/tput$r.cluster" nats_pct)" 'BEGIN { printf("its 3 nats-servers %.3f us (%.0f%%), its 3 relayd nodes %.3f us", c * p / 100, p, c * (100 - p) / 100) }')"
	fi
done
say "   flood: 1 sender -> 1 receiver, $FLOOD frames, one blocking write() per frame; the receiver reads"
say "   as fast as one thread can. frames/s over the whole transfer; lost = never delivered (worst run)"
printf '   %-10s %-32s %-8s %-26s %s\n' server "frames/s" "lost" "CPU ns/frame" "relayd/x: frames/s"
for n in $names; do
	printf '   %-10s %-32s %-8s %-26s' "$n" "$(cell "$T/flood.$n" fps %.0f)" \
		"$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' "$T/flood.$n" 2>/dev/null | sort -n | tail -n 1)" \
		"$(cell "$T/flood.$n" cpu_ns %.0f)"
	if [ "$n" != relayd ] && [ -f "$T/flood.relayd" ]; then
		printf ' %s' "$(pratio "$T/flood.relayd" "$T/flood.$n" fps)"
	fi
	printf '\n'
done
if [ -n "${CL_COUNT0:-}" ] && [ -n "${CL_COUNT1:-}" ]; then
	say "   cluster: $(echo "$CL_COUNT0 $CL_COUNT1" | awk '{ f = $3 - $1; m = $4 - $2
		if (m > 0) printf("%.1f frames per NATS message (DATA published by node 1: %d frames in %d messages)", f / m, f, m)
		else print "no DATA published" }')"
fi
say ""
if ! others; then
	for n in $names; do
		[ -s "$T/err.$n" ] && { say "   $n errors:"; sort -u "$T/err.$n" | head -n 5 | sed 's/^/     /'; }
	done
	[ -s "$T/budget" ] && { sort -u "$T/budget"; say ""; }
	say "Targets (ratios from this run: the median over rounds of x/y within each round)"
	cluster_targets
	exit 0
fi
say "2. One-way latency at 10,000 frames/s, 1 -> 1, microseconds; the server's CPU per frame"
say "   (schedstat, every thread, nanoseconds). pinned: the server (taskset -a, all threads) and the"
say "   load client on CPU $PIN_CPU"
printf '   %-10s %-20s %-20s %-20s %-20s %-18s %s\n' server "pinned p50" "pinned p99" \
	"unpinned p50" "unpinned p99" "CPU ns pinned" "unpinned"
for n in $names; do
	printf '   %-10s %-20s %-20s %-20s %-20s %-18s %s\n' "$n" "$(cell "$T/latpin.$n" p50_us %.1f)" \
		"$(cell "$T/latpin.$n" p99_us %.1f)" "$(cell "$T/latfree.$n" p50_us %.1f)" \
		"$(cell "$T/latfree.$n" p99_us %.1f)" "$(cell "$T/latpin.$n" cpu_ns %.0f)" \
		"$(cell "$T/latfree.$n" cpu_ns %.0f)"
done
say ""
say "3. RSS per idle connection, $CONNS connections (joined/subscribed, rooms of 10; one run)"
printf '   %-10s %-12s %s\n' server "B/conn" "RSS before -> after"
for n in $names; do
	if [ -s "$T/idle.$n" ]; then
		awk -v n="$n" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			printf("   %-10s %-12s %.1f MiB -> %.1f MiB\n", n, f["b_per_conn"],
			    f["rss0"] / 1048576, f["rss1"] / 1048576) }' "$T/idle.$n"
	else
		printf '   %-10s %s\n' "$n" "-"
	fi
done
for n in $names; do
	# load checks that each receiver saw 0, 1, 2, ... at full length
	cat "$T/tput1.$n" "$T/tput9.$n" "$T/latpin.$n" "$T/latfree.$n" "$T/flood.$n" 2>/dev/null |
		awk -v n="$n" '{ for (i = 1; i <= NF; i++) if ($i ~ /^bad=/) { sub(/bad=/, "", $i); b += $i } }
		END { if (b > 0) printf("bench: %s: %d frames out of sequence or cut\n", n, b) }' >> "$T/err.$n"
	[ -s "$T/err.$n" ] && { say "   $n errors:"; sort -u "$T/err.$n" | head -n 5 | sed 's/^/     /'; }
done
say ""

# ---- keyd ----------------------------------------------------------------
KEYD_OK=""
# Starts a keyd (not in a subshell: its pid must reach PIDS); sets KP.
start_keyd() {	# tag
	mkdir -p "$T/$1" && chmod 700 "$T/$1"
	"$BIN/keyd" --socket "$T/$1/keyd.sock" --home "$T/$1/home" >"$T/keyd-$1.log" 2>&1 &
	KP=$!
	PIDS="$PIDS $KP"
	i=0
	while [ $i -lt 100 ] && [ ! -S "$T/$1/keyd.sock" ]; do
		kill -0 "$KP" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	[ -S "$T/$1/keyd.sock" ]
}
if [ -x "$BIN/keyd" ]; then
	start_keyd ka && KA=$KP && start_keyd kb && KB=$KP && KEYD_OK=1
	[ -n "$KEYD_OK" ] || { say "bench: keyd did not start"; tail -n 5 "$T"/keyd-*.log; }
else
	say "bench: keyd not built ($BIN/keyd); keyd figures are missing"
fi
if [ -n "$KEYD_OK" ] && [ -x "$BENCH_BIN/keyd_bench" ]; then
	"$BENCH_BIN/keyd_bench" --a "$T/ka/keyd.sock" --a-pid "$KA" --b "$T/kb/keyd.sock" \
		--b-pid "$KB" --runs "$RUNS" > "$T/keyd.out" 2>"$T/keyd.err" ||
		say "bench: keyd_bench failed: $(tail -n 3 "$T/keyd.err")"
	sed -n '/^#/!p' "$T/keyd.out"
elif [ -n "$KEYD_OK" ]; then
	say "bench: keyd_bench not built (needs keyd/crypto.c); keyd figures are missing"
fi
say ""

# ---- end to end: a chatc pair ---------------------------------------------
# Alice pastes E2E_MSGS lines of 256 bytes to bob. "shown" stops the clock
# when bob has shown the last one; "acknowledged" when alice has a DELIVERED
# for every one (issue 13: each line acknowledged end to end). Bytes on the
# wire per message: what relayd read from both chatc's over the paste (its
# SIGUSR1 counters), texts and acknowledgements, divided by E2E_MSGS. With
# the previous release's chatc and keyd in BENCH_BASE (default
# /work/baseline-bin) the same pair of it runs through the same relayd in
# each round, beside it.
E2E_MSGS=${BENCH_E2E_MSGS:-5000}
BASE=${BENCH_BASE:-/work/baseline-bin}
# This build over TLS, as chatc and relayd run by default (the relay's key
# pinned), and over plain TCP through the plain relayd, where the previous
# release (no TLS) runs too: that pair is the like-for-like comparison.
TLS_PORT=$(awk '$1 == "relayd-tls" { print $3 }' "$T/servers")
TLS_PID=$(awk '$1 == "relayd-tls" { print $4 }' "$T/servers")
PLAIN_PORT=$(awk '$1 == "relayd" { print $3 }' "$T/servers")
PLAIN_PID=$(awk '$1 == "relayd" { print $4 }' "$T/servers")
now_ms() { date +%s%3N; }
# Waits until FILE has at least N lines matching RE, 20 s max; 0 if it did.
wait_lines() {
	i=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -gt 4000 ] && return 1
		sleep 0.005
	done
	return 0
}
# A relayd's bytes_in so far (SIGUSR1 prints its counters to its log): pid log.
relay_bytes() {
	[ -n "$1" ] || return 1
	n=$(grep -c 'bytes_in=' "$2" 2>/dev/null)
	kill -USR1 "$1" 2>/dev/null || return 1
	i=0
	while [ "$(grep -c 'bytes_in=' "$2" 2>/dev/null)" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 400 ] && return 1
		sleep 0.005
	done
	sed -n 's/.*bytes_in=\([0-9]*\).*/\1/p' "$2" | tail -n 1
}
# e2e_run ROUND CHATC_DIR KEYD_A KEYD_B TAG PORT RELAY_PID RELAY_LOG [LINK...]
e2e_run() {
	er_round=$1 er_dir=$2 er_ka=$3 er_kb=$4 er_tag=$5 er_port=$6 er_pid=$7 er_log=$8
	shift 8
	rm -f "$T/a.in" "$T/b.in"
	mkfifo "$T/a.in" "$T/b.in" || return 1
	"$er_dir/chatc" --room bench --nick alice --relay "127.0.0.1:$er_port" "$@" \
		--keyd "$T/$er_ka/keyd.sock" --batch <"$T/a.in" >"$T/a.out" 2>"$T/a.err" &
	ca=$!
	exec 3>"$T/a.in"
	sleep 0.3	# alice is in the room first: bob is the newcomer (initiator)
	t0=$(now_ms)
	"$er_dir/chatc" --room bench --nick bob --relay "127.0.0.1:$er_port" "$@" \
		--keyd "$T/$er_kb/keyd.sock" --batch <"$T/b.in" >"$T/b.out" 2>"$T/b.err" &
	cb=$!
	exec 4>"$T/b.in"
	ok=""
	if wait_lines "$T/b.out" '^SECURE' 1; then
		t1=$(now_ms)
		echo "secure_ms=$((t1 - t0))" >> "$T/e2e.secure$er_tag"
		wait_lines "$T/a.out" '^SECURE' 1 && ok=1
	fi
	if [ -n "$ok" ]; then
		b0=$(relay_bytes "$er_pid" "$er_log")
		t0=$(now_ms)
		awk -v n="$E2E_MSGS" 'BEGIN { s = sprintf("%256s", ""); gsub(/ /, "x", s);
			for (i = 0; i < n; i++) print s }' >&3
		if wait_lines "$T/b.out" '^MSG' "$E2E_MSGS"; then
			t1=$(now_ms)
			echo "msgs_s=$(awk -v n="$E2E_MSGS" -v d=$((t1 - t0)) 'BEGIN { printf("%.0f", n * 1000 / (d > 0 ? d : 1)) }')" \
				>> "$T/e2e.rate$er_tag"
		else
			echo "bench: e2e$er_tag run $er_round: bob saw $(grep -c '^MSG' "$T/b.out") of $E2E_MSGS messages" >> "$T/e2e.err"
		fi
		if [ "$er_tag" != .base ]; then
			if wait_lines "$T/a.out" '^DELIVERED' "$E2E_MSGS"; then
				t1=$(now_ms)
				echo "msgs_s=$(awk -v n="$E2E_MSGS" -v d=$((t1 - t0)) 'BEGIN { printf("%.0f", n * 1000 / (d > 0 ? d : 1)) }')" \
					>> "$T/e2e.ack$er_tag"
			else
				echo "bench: e2e$er_tag run $er_round: alice has $(grep -c '^DELIVERED' "$T/a.out") of $E2E_MSGS acknowledged" >> "$T/e2e.err"
			fi
		else
			sleep 0.5	# 0.1.0 has no acknowledgements: its frames are out by then
		fi
		b1=$(relay_bytes "$er_pid" "$er_log")
		[ -n "$b0" ] && [ -n "$b1" ] &&
			echo "bytes=$(awk -v a="$b0" -v b="$b1" -v n="$E2E_MSGS" 'BEGIN { printf("%.1f", (b - a) / n) }')" \
				>> "$T/e2e.bytes$er_tag"
	else
		echo "bench: e2e$er_tag run $er_round: no SECURE ($(head -c 200 "$T/b.out" "$T/b.err" | tr '\n' ' '))" >> "$T/e2e.err"
	fi
	exec 3>&- 4>&-
	i=0
	while [ $i -lt 100 ] && { kill -0 $ca 2>/dev/null || kill -0 $cb 2>/dev/null; }; do
		sleep 0.05
		i=$((i + 1))
	done
	kill $ca $cb 2>/dev/null
	wait $ca $cb 2>/dev/null
}
BASE_OK=""
if [ -n "$BASE" ] && [ -x "$BASE/chatc" ] && [ -x "$BASE/keyd" ] && [ -n "$PLAIN_PORT" ]; then
	start_base_keyd() {	# tag
		mkdir -p "$T/$1" && chmod 700 "$T/$1"
		"$BASE/keyd" --socket "$T/$1/keyd.sock" --home "$T/$1/home" >"$T/keyd-$1.log" 2>&1 &
		PIDS="$PIDS $!"
		i=0
		while [ $i -lt 100 ] && [ ! -S "$T/$1/keyd.sock" ]; do
			sleep 0.05
			i=$((i + 1))
		done
		[ -S "$T/$1/keyd.sock" ]
	}
	start_base_keyd oa && start_base_keyd ob && BASE_OK=1
fi
say "5. End to end: chatc --batch pair through relayd, two keyd; alice pastes $E2E_MSGS lines of 256 bytes"
say "   (shown: bob shows the last; acknowledged: alice has a DELIVERED for every one; bytes: the"
say "   relay frames relayd read from both over the paste, texts and acknowledgements, per message;"
say "   over TLS the records add their own overhead on top)"
if [ -n "$KEYD_OK" ] && [ -x "$BIN/chatc" ] && { [ -n "$TLS_PORT" ] || [ -n "$PLAIN_PORT" ]; }; then
	round=1
	while [ $round -le "$RUNS" ] && { [ $round -eq 1 ] || in_budget "chatc"; }; do
		[ -n "$TLS_PORT" ] && e2e_run $round "$BIN" ka kb "" "$TLS_PORT" "$TLS_PID" \
			"$T/relayd-tls.log" --relay-fp "$(cat "$T/relay.fp")"
		[ -n "$PLAIN_PORT" ] && e2e_run $round "$BIN" ka kb .plain "$PLAIN_PORT" \
			"$PLAIN_PID" "$T/relayd.log" --plaintext
		[ -n "$BASE_OK" ] && e2e_run $round "$BASE" oa ob .base "$PLAIN_PORT" "$PLAIN_PID" \
			"$T/relayd.log"
		round=$((round + 1))
	done
	printf '   %-60s %s\n' "this build over TLS: chatc start -> SECURE (ms, newcomer)" "$(cell "$T/e2e.secure" secure_ms %.0f)"
	printf '   %-60s %s\n' "this build over TLS: messages/s, shown" "$(cell "$T/e2e.rate" msgs_s %.0f)"
	printf '   %-60s %s\n' "this build over TLS: messages/s, acknowledged" "$(cell "$T/e2e.ack" msgs_s %.0f)"
	printf '   %-60s %s\n' "this build over TLS: relay frame bytes per message" "$(cell "$T/e2e.bytes" bytes %.1f)"
	printf '   %-60s %s\n' "this build over plain TCP: messages/s, shown" "$(cell "$T/e2e.rate.plain" msgs_s %.0f)"
	printf '   %-60s %s\n' "this build over plain TCP: messages/s, acknowledged" "$(cell "$T/e2e.ack.plain" msgs_s %.0f)"
	printf '   %-60s %s\n' "this build over plain TCP: bytes on the wire per message" "$(cell "$T/e2e.bytes.plain" bytes %.1f)"
	if [ -n "$BASE_OK" ]; then
		printf '   %-60s %s\n' "previous release ($BASE), plain TCP: messages/s, shown" "$(cell "$T/e2e.rate.base" msgs_s %.0f)"
		printf '   %-60s %s\n' "previous release, plain TCP: bytes on the wire per message" "$(cell "$T/e2e.bytes.base" bytes %.1f)"
	fi
	[ -s "$T/e2e.err" ] && sort -u "$T/e2e.err" | head -n 5 | sed 's/^/   /'
else
	say "   skipped: needs relayd, keyd and chatc"
fi
say ""

# ---- TLS --------------------------------------------------------------------
say "6. TLS 1.3: relayd (its default) against nats-server --tls, one ECDSA P-256 key, the same"
say "   client (bench/load --tls 1). kTLS: $KTLS"
if [ -n "$tlsnames" ]; then
	for r in 1 9; do
		if [ $r = 1 ]; then say "   1 sender -> 1 receiver"; else say "   room of 10: 1 sender -> 9 receivers (fan-out)"; fi
		printf '   %-10s %-32s %-26s %-6s %-6s %-6s %s\n' server "frames/s" "CPU us/frame" "busy%" \
			"user%" "load%" "relayd-tls/x: frames/s  CPU"
		for n in $tlsnames; do
			printf '   %-10s %-32s %-26s %-6s %-6s %-6s' "$n" "$(cell "$T/tput$r.$n" fps %.0f)" \
				"$(cell "$T/tput$r.$n" cpu_us %.3f)" "$(val0 "$T/tput$r.$n" busy_pct)" \
				"$(val0 "$T/tput$r.$n" user_pct)" "$(val0 "$T/tput$r.$n" load_pct)"
			if [ "$n" != relayd-tls ] && [ -f "$T/tput$r.relayd-tls" ]; then
				printf ' %-19s %s' "$(pratio "$T/tput$r.relayd-tls" "$T/tput$r.$n" fps)" \
					"$(pratio "$T/tput$r.relayd-tls" "$T/tput$r.$n" cpu_us)"
			fi
			printf '\n'
		done
	done
	say "   one-way latency at 10,000 frames/s, 1 -> 1, microseconds (pinned: server and client on CPU $PIN_CPU)"
	printf '   %-10s %-20s %-20s %-20s %-20s %s\n' server "pinned p50" "pinned p99" \
		"unpinned p50" "unpinned p99" "CPU ns/frame pinned"
	for n in relayd $tlsnames; do
		[ -f "$T/latpin.$n" ] || continue
		printf '   %-10s %-20s %-20s %-20s %-20s %s\n' "$n" "$(cell "$T/latpin.$n" p50_us %.1f)" \
			"$(cell "$T/latpin.$n" p99_us %.1f)" "$(cell "$T/latfree.$n" p50_us %.1f)" \
			"$(cell "$T/latfree.$n" p99_us %.1f)" "$(cell "$T/latpin.$n" cpu_ns %.0f)"
	done
	say "   TLS handshakes, the server alone on CPU $PIN_CPU, one client on CPU $HS_CPU (a new connection each;"
	say "   per core = 1 s / the server's CPU per handshake: what one core could take)"
	printf '   %-10s %-24s %-24s %-8s %s\n' server "handshakes/s" "server CPU us/handshake" "busy%" "per core"
	for n in $tlsnames; do
		printf '   %-10s %-24s %-24s %-8s %s\n' "$n" "$(cell "$T/hs.$n" hs_s %.0f)" \
			"$(cell "$T/hs.$n" cpu_us %.1f)" "$(val0 "$T/hs.$n" busy_pct)" \
			"$(med "$T/hs.$n" cpu_us | awk '{ if ($1 > 0) printf("%.0f\n", 1e6 / $1) }')"
	done
	say "   RSS per idle TLS connection, $CONNS connections (handshake done, joined/subscribed, rooms of 10)"
	printf '   %-10s %-12s %s\n' server "B/conn" "RSS before -> after"
	for n in $tlsnames; do
		if [ -s "$T/idle.$n" ]; then
			awk -v n="$n" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
				printf("   %-10s %-12s %.1f MiB -> %.1f MiB\n", n, f["b_per_conn"],
				    f["rss0"] / 1048576, f["rss1"] / 1048576) }' "$T/idle.$n"
		else
			printf '   %-10s %s\n' "$n" "-"
		fi
	done
	for n in $tlsnames; do
		cat "$T/tput1.$n" "$T/tput9.$n" "$T/latpin.$n" "$T/latfree.$n" 2>/dev/null |
			awk -v n="$n" '{ for (i = 1; i <= NF; i++) if ($i ~ /^bad=/) { sub(/bad=/, "", $i); b += $i } }
			END { if (b > 0) printf("bench: %s: %d frames out of sequence or cut\n", n, b) }' >> "$T/err.$n"
		[ -s "$T/err.$n" ] && { say "   $n errors:"; sort -u "$T/err.$n" | head -n 5 | sed 's/^/     /'; }
	done
else
	say "   skipped: no TLS server started"
fi
say ""

# ---- the relay cluster: failover ------------------------------------------
# A member on node 2, another on node 1; node 2 is killed (-9). How long
# until node 1's member hears LEFT (node 2 counted dead), and until the
# first one is back through node 3, having waited the 2.5 s that PROTOCOL.md
# 5.7 asks of a client, as node 1's member hears JOINED. Last: it kills a node.
say "7. Relay cluster (3 nodes, 3 nats-servers): failover after kill -9 of a node"
if [ -n "${CL_NODES:-}" ] && command -v python3 >/dev/null 2>&1; then
	round=1
	while [ $round -le "$RUNS" ] && { [ $round -eq 1 ] || in_budget "failover"; }; do
		# Each round kills a node and starts it again, on the same port.
		PYTHONPATH="$(dirname "$0")/../tests/e2e/lib" NODES="$CL_NODES" \
		    VICTIM="$CL_NODE_PID2" python3 - >> "$T/failover" 2>>"$T/failover.err" <<'PY' ||
import os, signal, time
import relay
n1, n2, n3 = (int(x) for x in os.environ["NODES"].split(","))
room = relay.room_id("failover.%d" % time.time_ns())
y = relay.Client("127.0.0.1", n1, tls=False)
y.join(room, timeout=10)
x = relay.Client("127.0.0.1", n2, tls=False)
xid, _ = x.join(room, timeout=10)
assert y.expect(relay.JOINED, timeout=10)[0] == xid
t0 = time.time()
os.kill(int(os.environ["VICTIM"]), signal.SIGKILL)
assert y.expect(relay.LEFT, timeout=10)[0] == xid
left = time.time() - t0
time.sleep(max(0.0, 2.5 - (time.time() - t0)))
x2 = relay.Client("127.0.0.1", n3, tls=False)
x2id, _ = x2.join(room, timeout=10)
assert y.expect(relay.JOINED, timeout=10)[0] == x2id
print("left_ms=%.0f back_ms=%.0f" % (left * 1000, (time.time() - t0) * 1000))
PY
			echo "bench: failover round $round failed" >> "$T/failover.err"
		# node 2 again, on its port, for the next round.
		p2=$(echo "$CL_NODES" | cut -d, -f2)
		"$BIN/relayd" --listen "127.0.0.1:$p2" --plaintext --max-clients $((CONNS + 1000)) \
			--cluster "nats://127.0.0.1:$CL_NATS2" --node bench2 >"$T/node2b.log" 2>&1 &
		CL_NODE_PID2=$!
		PIDS="$PIDS $CL_NODE_PID2"
		"$LOAD" wait --port "$p2" || break
		sleep 1.5	# it settles before it serves
		round=$((round + 1))
	done
	printf '   %-58s %s\n' "death noticed: LEFT at another node (ms)" "$(cell "$T/failover" left_ms %.0f)"
	printf '   %-58s %s\n' "back through another node: JOINED there (ms, 2.5 s wait incl.)" \
		"$(cell "$T/failover" back_ms %.0f)"
	[ -s "$T/failover.err" ] && sort -u "$T/failover.err" | head -n 3 | sed 's/^/   /'
else
	say "   skipped: no cluster (or no python3)"
fi
say ""

# ---- the ratchet's cost (issue 17): a chatc pair beside the previous release --
# bench/pair.py runs each build with its own relayd and keyd's; the builds
# alternate inside every round, so that drift on a shared machine cancels
# out of the ratio. BENCH_BASE: the previous release's binaries.
BASE=${BENCH_BASE:-/work/baseline-bin}
PAIR_TURNS=${BENCH_PAIR_TURNS:-2000}
PAIR_BURST=${BENCH_PAIR_BURST:-5000}
say "8. A chatc pair, two keyd, relayd (bench/pair.py): alternating speakers (every line a change of"
say "   speaker: veil/2 takes a ratchet step on each side), one-sided bursts; this build beside $BASE"
if [ -x "$BIN/chatc" ] && [ -x "$BASE/chatc" ] && command -v python3 >/dev/null; then
	round=1
	while [ $round -le "$RUNS" ] && { [ $round -eq 1 ] || in_budget "chatc pair"; }; do
		python3 bench/pair.py "$BIN" 1 "$PAIR_TURNS" "$PAIR_BURST" >> "$T/pair.new" 2>&1
		python3 bench/pair.py "$BASE" 1 "$PAIR_TURNS" "$PAIR_BURST" >> "$T/pair.base" 2>&1
		round=$((round + 1))
	done
	printf '   %-44s %s\n' "alternating, msgs/s, this build" "$(cell "$T/pair.new" alt_msgs_s %.0f)"
	printf '   %-44s %s\n' "alternating, msgs/s, previous release" "$(cell "$T/pair.base" alt_msgs_s %.0f)"
	printf '   %-44s %s\n' "one-sided burst, msgs/s, this build" "$(cell "$T/pair.new" burst_msgs_s %.0f)"
	printf '   %-44s %s\n' "one-sided burst, msgs/s, previous release" "$(cell "$T/pair.base" burst_msgs_s %.0f)"
	printf '   %-44s %s\n' "one-sided burst, lost, this build" "$(cell "$T/pair.new" lost %.0f)"
	grep -h '^failed' "$T/pair.new" "$T/pair.base" 2>/dev/null | sort -u | head -n 3 | sed 's/^/   /'
else
	say "   skipped: needs $BIN/chatc, $BASE/chatc (BENCH_BASE) and python3"
fi
say ""

[ -s "$T/budget" ] && { sort -u "$T/budget"; say ""; }

# ---- targets -------------------------------------------------------------
say "Targets (ratios from this run: the median over rounds of relayd/x within each round)"
for r in 1 9; do
	[ $r = 1 ] && w="1->1" || w="room of 10"
	target "relayd CPU/frame vs nats-server ($w)" \
		"$(pratio "$T/tput$r.relayd" "$T/tput$r.nats" cpu_us)" 0.8 le
	target "relayd frames/s vs nats-server ($w)" \
		"$(pratio "$T/tput$r.relayd" "$T/tput$r.nats" fps)" 1.0 ge
	target "relayd frames/s vs minimal forwarder ($w)" \
		"$(pratio "$T/tput$r.relayd" "$T/tput$r.fwd" fps)" 0.9 ge
done
target "relayd flood frames/s vs nats-server (one write per frame)" \
	"$(pratio "$T/flood.relayd" "$T/flood.nats" fps)" 1.0 ge
# A failed run counts as every frame lost.
fl=$(awk -v f="$FLOOD" '/lost=/ { sub(/.*lost=/, ""); s += $1; n++ } /^failed/ { s += f; n++ }
	END { if (n) print s }' "$T/flood.relayd" 2>/dev/null)
target "relayd flood frames lost, all runs" "$(ratio "${fl:-}" 1)" 0 le
target "relayd CPU/frame at 10,000 frames/s vs minimal forwarder (pinned)" \
	"$(pratio "$T/latpin.relayd" "$T/latpin.fwd" cpu_ns)" 1.1 le
target "relayd CPU/frame at 10,000 frames/s vs minimal forwarder (unpinned)" \
	"$(pratio "$T/latfree.relayd" "$T/latfree.fwd" cpu_ns)" 1.1 le
rb=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^b_per_conn=/) { sub(/.*=/, "", $i); print $i } }' \
	"$T/idle.relayd" 2>/dev/null)
target "relayd RSS per idle connection (B, limit 512)" "$(ratio "${rb:-}" 1)" 512 le
cluster_targets
target "relayd pinned latency p50 vs minimal forwarder" \
	"$(pratio "$T/latpin.relayd" "$T/latpin.fwd" p50_us)" 1.1 le
for r in 1 9; do
	[ $r = 1 ] && w="1->1" || w="room of 10"
	target "relayd-tls CPU/frame vs nats-server --tls ($w)" \
		"$(pratio "$T/tput$r.relayd-tls" "$T/tput$r.nats-tls" cpu_us)" 0.5 le
done
target "relayd-tls pinned latency p50 vs plaintext relayd" \
	"$(pratio "$T/latpin.relayd-tls" "$T/latpin.relayd" p50_us)" 1.2 le
tb=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^b_per_conn=/) { sub(/.*=/, "", $i); print $i } }' \
	"$T/idle.relayd-tls" 2>/dev/null)
tn=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^b_per_conn=/) { sub(/.*=/, "", $i); print $i } }' \
	"$T/idle.nats-tls" 2>/dev/null)
target "relayd-tls RSS per idle TLS connection vs nats-server --tls (below)" \
	"$(ratio "${tb:-}" "${tn:-}")" 0.99 le
target "chatc pair alternating msgs/s vs previous release" \
	"$(pratio "$T/pair.new" "$T/pair.base" alt_msgs_s)" 0.8 ge
pl=$(awk '/lost=/ { sub(/.*lost=/, ""); s += $1; n++ } /^failed/ { s += 1; n++ }
	END { if (n) print s }' "$T/pair.new" 2>/dev/null)
target "chatc pair one-sided burst lines lost, all runs" "$(ratio "${pl:-}" 1)" 0 le
if [ -s "$T/keyd.out" ]; then
	sed -n 's/^#target //p' "$T/keyd.out" | while read -r lim op r label; do
		target "$label" "$r" "$lim" "$op"
	done
else
	target "keyd seal+open vs 3 x primitives + socket round trips" - 0 le
	target "keyd batched fan-out to 30 (sealed msgs/s)" - 0 ge
	target "keyd handshake CPU vs 1.5 x sum of primitives" - 0 le
fi
# Issue 13: acknowledged end to end, no more than 10 % below 0.1.0's pair.
if [ -n "$BASE_OK" ]; then
	target "chatc pair msgs/s acknowledged vs previous release shown" \
		"$(pratio "$T/e2e.ack.plain" "$T/e2e.rate.base" msgs_s)" 0.9 ge
else
	target "chatc pair msgs/s acknowledged vs previous release (BENCH_BASE)" - 0 ge
fi
exit 0
