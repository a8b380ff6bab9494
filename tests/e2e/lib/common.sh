# SPDX-License-Identifier: ISC
# Shared helpers for the end-to-end scenarios (tests/e2e/t_e2e_*.sh). Source it
# with  . "$E2E_LIB/common.sh"  (run.sh sets E2E_LIB and BIN). POSIX sh.
#
# Every process a scenario starts goes through e2e_track, and the EXIT trap
# ends them all (TERM, then KILL), also when the scenario fails. On failure the
# trap prints the tail of every log in the work directory $W.
#
#   start_relay NAME [relayd args]      -> ${NAME}_PID ${NAME}_PORT ${NAME}_FP
#   start_proxy NAME UPPORT [proxy args]-> ${NAME}_PID ${NAME}_PORT
#   start_keyd WHO                      -> ${WHO}_KEYD_PID ${WHO}_SOCK ${WHO}_HOME
#   start_chatc WHO [chatc args]        -> ${WHO}_PID; stdout $W/WHO.out
#   chat WHO ROOM PORT [chatc args]     start_chatc in ROOM (by invite code: room_code)
#   say WHO TEXT / say_file WHO FILE / close_input WHO / stop_chatc WHO [RC]
#   wait_line FILE ERE [COUNT] [SECS]   (poll until COUNT lines match; SECS may be 0.5)
#   wait_exit PID [SECS]                -> $E2E_RC
#   count FILE ERE, fail MSG, skip MSG, note MSG

set -u
: "${BIN:?BIN must name the directory holding relayd, keyd and chatc}"
: "${TMPDIR:=/tmp}"
: "${E2E_LIB:=$(cd "$(dirname "$0")" && pwd)/lib}"
PY=${PYTHON:-python3}
E2E_NAME=$(basename "$0" .sh)
W=$(mktemp -d "$TMPDIR/w.XXXXXX") || exit 1
# chatc reads $XDG_CONFIG_HOME/veil/chatc.conf: none here unless a test writes one.
XDG_CONFIG_HOME="$W/config"
export XDG_CONFIG_HOME
E2E_PIDS=""
E2E_TMUX=""
E2E_RC=0

note() { printf '%s: %s\n' "$E2E_NAME" "$*"; }
E2E_WHY=""
fail() { E2E_WHY="$*"; printf '%s: FAIL: %s\n' "$E2E_NAME" "$*"; exit 1; }
# Skips (exit 77); run.sh shows the last line of output as the reason.
skip() { printf '%s: skipped: %s\n' "$E2E_NAME" "$*"; exit 77; }

e2e_track() { E2E_PIDS="$E2E_PIDS $1"; }

# 1 if PID is gone or a zombie (our own children stay zombies until waited).
e2e_dead() {
	[ -r "/proc/$1/stat" ] || return 0
	case $(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) in
	Z|X|"") return 0 ;;
	esac
	return 1
}

e2e_cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	for p in $E2E_PIDS; do kill -TERM "$p" 2>/dev/null; done
	i=0
	while [ $i -lt 40 ]; do
		alive=0
		for p in $E2E_PIDS; do e2e_dead "$p" || alive=1; done
		[ $alive -eq 0 ] && break
		sleep 0.05; i=$((i + 1))
	done
	for p in $E2E_PIDS; do
		e2e_dead "$p" || { note "process $p ignored SIGTERM; killing"; kill -KILL "$p" 2>/dev/null; }
	done
	for p in $E2E_PIDS; do wait "$p" 2>/dev/null; done
	[ -n "$E2E_TMUX" ] && tmux -S "$E2E_TMUX" kill-server 2>/dev/null
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$W"/*.out "$W"/*.err "$W"/*.log; do
			[ -s "$f" ] || continue
			echo "---- $(basename "$f") (last 15 lines)"
			tail -n "${E2E_TAIL:-12}" "$f" | cut -c1-240
		done
		# Again last, so run.sh's tail of the log shows why.
		[ -n "$E2E_WHY" ] && printf '%s: FAIL: %s\n' "$E2E_NAME" "$E2E_WHY"
	fi
	[ -n "${E2E_KEEP:-}" ] && note "kept $W" || rm -rf "$W"
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP

need_bins() {
	for b in relayd keyd chatc; do
		[ -x "$BIN/$b" ] || skip "$BIN/$b not built yet"
	done
}

# Milliseconds since the epoch (GNU date).
now_ms() { date +%s%3N; }
# secs_ms SECS: SECS (may have a fraction: 0.5) in milliseconds.
secs_ms() {
	case $1 in
	*.*) sm_i=${1%%.*} sm_f=$(printf '%s000' "${1#*.}" | cut -c1-3) ;;
	*) sm_i=$1 sm_f=000 ;;
	esac
	echo $(( ${sm_i:-0} * 1000 + $(echo "$sm_f" | sed 's/^0*//;s/^$/0/') ))
}

# count FILE ERE: matching lines (0 while FILE does not exist yet).
count() {
	[ -e "$1" ] || { echo 0; return; }
	grep -c -E -e "$2" "$1" 2>/dev/null || true
}

# wait_line FILE ERE [COUNT] [SECS]: until COUNT lines of FILE match. Gives up
# at once when FILE is a chatc's output that shows ERROR (chatc has quit) and
# ERE does not ask for ERROR.
wait_line() {
	wl_n=${3:-1}; wl_t=${4:-10}
	wl_end=$(( $(now_ms) + $(secs_ms "$wl_t") ))
	wl_abort=0
	case "$1:$2" in *.out:*ERROR*) ;; *.out:*) wl_abort=1 ;; esac
	while :; do
		[ "$(count "$1" "$2")" -ge "$wl_n" ] && return 0
		[ "$(now_ms)" -gt "$wl_end" ] && return 1
		[ $wl_abort -eq 1 ] && [ "$(count "$1" '^ERROR ')" -gt 0 ] && return 1
		sleep "${E2E_POLL:-0.05}"
	done
}

# must_line FILE ERE [COUNT] [SECS]: wait_line or fail naming what was missing.
must_line() {
	wait_line "$@" || fail "no ${3:-1} line(s) matching /$2/ in $(basename "$1") within ${4:-10}s (have $(count "$1" "$2"))"
}

# wait_exit PID [SECS]: waits for our child PID to end; E2E_RC = its status.
# Returns 1 (E2E_RC=-1) if it is still running after SECS.
wait_exit() {
	we_end=$(( $(date +%s) + ${2:-10} ))
	while ! e2e_dead "$1"; do
		if [ "$(date +%s)" -gt "$we_end" ]; then E2E_RC=-1; return 1; fi
		sleep 0.05
	done
	wait "$1"; E2E_RC=$?
	return 0
}

# The link to the relay: E2E_LINK=tls (the default, as for relayd and chatc;
# one key per scenario, $W/relay.key, so a restarted relay keeps its
# fingerprint) or plain (relayd --plaintext, chatc --plaintext: a scenario
# whose proxy must read the frames). start_relay exports RELAY_FP, the key's
# fingerprint or empty, which relay.py follows (PROTOCOL.md 1.0), and sets
# CHATC_LINK, the flags a chatc needs for that relay: --relay-fp FP, or
# --plaintext. A chatc that meets a relay without a pin would pin it in
# known_relays on first use: that file is the scenario's, under $W.
: "${E2E_LINK:=tls}"
XDG_DATA_HOME="$W/xdg"
export XDG_DATA_HOME
relay_key() {
	if [ ! -s "$W/relay.fp" ]; then
		"$BIN/relayd" --gen-key "$W/relay.key" >"$W/relay.fp" 2>>"$W/relay-key.err" ||
			fail "relayd --gen-key: $(cat "$W/relay-key.err")"
	fi
	cat "$W/relay.fp"
}
# A chatc may start before its relay does (a relay that comes later).
if [ "$E2E_LINK" = tls ] && [ -x "$BIN/relayd" ]; then
	CHATC_LINK="--relay-fp $(relay_key)"
else
	CHATC_LINK=--plaintext
fi

# start_relay NAME [args]: relayd on an ephemeral port (or RELAY_LISTEN).
start_relay() {
	sr_name=$1; shift
	sr_prev=$(count "$W/$sr_name.err" 'listening on')
	if [ "$E2E_LINK" = tls ]; then
		RELAY_FP=$(relay_key)
		CHATC_LINK="--relay-fp $RELAY_FP"
		set -- --key "$W/relay.key" "$@"
	else
		RELAY_FP=""
		CHATC_LINK=--plaintext
		set -- --plaintext "$@"
		# 0.1.0 (BIN=/work/baseline-bin) has no TLS and no --plaintext.
		if ! "$BIN/relayd" --help 2>&1 | grep -q -e '--plaintext'; then
			CHATC_LINK=""; shift
		fi
	fi
	export RELAY_FP
	"$BIN/relayd" --listen "${RELAY_LISTEN:-127.0.0.1:0}" "$@" 2>>"$W/$sr_name.err" &
	sr_pid=$!; e2e_track $sr_pid
	wait_line "$W/$sr_name.err" 'listening on' $((sr_prev + 1)) 10 ||
		fail "relayd $sr_name did not say it was listening"
	sr_port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)[^0-9]*$/\1/p' "$W/$sr_name.err" | tail -n 1)
	[ -n "$sr_port" ] || fail "cannot read the port of relayd $sr_name"
	eval "${sr_name}_PID=$sr_pid ${sr_name}_PORT=$sr_port ${sr_name}_FP='$RELAY_FP'"
}

# start_proxy NAME UPSTREAM_PORT [proxy.py serve args]
start_proxy() {
	sp_name=$1 sp_up=$2; shift 2
	$PY "$E2E_LIB/proxy.py" serve --upstream "127.0.0.1:$sp_up" "$@" 2>"$W/$sp_name.log" &
	sp_pid=$!; e2e_track $sp_pid
	wait_line "$W/$sp_name.log" 'listening on' 1 10 || fail "proxy $sp_name did not start"
	sp_port=$(sed -n 's/^proxy: listening on .*:\([0-9][0-9]*\)$/\1/p' "$W/$sp_name.log")
	eval "${sp_name}_PID=$sp_pid ${sp_name}_PORT=$sp_port"
}

# start_keyd WHO: a foreground keyd with its own home and socket under $W.
start_keyd() {
	sk_who=$1
	sk_home="$W/$sk_who.home" sk_sock="$W/$sk_who.run/keyd.sock"
	"$BIN/keyd" --socket "$sk_sock" --home "$sk_home" 2>>"$W/$sk_who.keyd.err" &
	sk_pid=$!; e2e_track $sk_pid
	eval "${sk_who}_KEYD_PID=$sk_pid ${sk_who}_SOCK='$sk_sock' ${sk_who}_HOME='$sk_home'"
	sk_end=$(( $(date +%s) + 10 ))
	until $PY -c 'import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
	    "$sk_sock" 2>/dev/null; do
		e2e_dead $sk_pid && fail "keyd $sk_who exited: $(tail -n 3 "$W/$sk_who.keyd.err")"
		[ "$(date +%s)" -gt "$sk_end" ] && fail "keyd $sk_who socket never accepted"
		sleep 0.05
	done
}

# fpr_of WHO: what `keyd --fingerprint` prints for WHO's home.
fpr_of() {
	eval "fo_home=\$${1}_HOME"
	"$BIN/keyd" --fingerprint --home "$fo_home" 2>/dev/null
}

# start_chatc WHO [chatc args]: chatc --batch reading the fifo $W/WHO.in.
# A sleeping writer holds the fifo open, so chatc sees EOF only at close_input.
# The output file is truncated; WHO.out.N keeps earlier runs of the same WHO.
start_chatc() {
	sc_who=$1; shift
	if [ -e "$W/$sc_who.out" ]; then
		sc_i=1; while [ -e "$W/$sc_who.out.$sc_i" ]; do sc_i=$((sc_i + 1)); done
		mv "$W/$sc_who.out" "$W/$sc_who.out.$sc_i"
		mv "$W/$sc_who.err" "$W/$sc_who.err.$sc_i" 2>/dev/null
	fi
	rm -f "$W/$sc_who.in"; mkfifo "$W/$sc_who.in"
	sleep 100000 >"$W/$sc_who.in" &
	e2e_track $!
	eval "${sc_who}_HOLD=$!"
	: >"$W/$sc_who.out"
	"$BIN/chatc" "$@" --batch <"$W/$sc_who.in" >"$W/$sc_who.out" 2>"$W/$sc_who.err" &
	sc_pid=$!; e2e_track $sc_pid
	eval "${sc_who}_PID=$sc_pid ${sc_who}_START=$(now_ms)"
}

# room_code NAME: the invite code of the scenario's room NAME (chatc
# --new-room once per name, kept in $W/NAME.code), so every chat of one NAME
# meets in one room. Empty when BIN's chatc has no --new-room (0.1.0).
room_code() {
	if [ ! -e "$W/room.$1.code" ]; then
		if "$BIN/chatc" --help 2>/dev/null | grep -q -e '--new-room'; then
			"$BIN/chatc" --new-room >"$W/room.$1.code" 2>/dev/null ||
				fail "chatc --new-room failed"
		else
			: >"$W/room.$1.code"
		fi
	fi
	cat "$W/room.$1.code"
}

# room_args NAME: "--join CODE" for the room NAME, or "--room NAME" for a
# chatc without invite codes (0.1.0); sets RA1 and RA2.
room_args() {
	ra_code=$(room_code "$1")
	if [ -n "$ra_code" ]; then RA1=--join RA2=$ra_code; else RA1=--room RA2=$1; fi
}

# start_peer2 NAME ROOM PORT [peer2 member args]: the Python peer
# (lib/peer2.py) as a member of ROOM, one JSON line per event in
# $W/NAME.json, stderr in $W/NAME.log; against a chatc without invite codes
# (0.1.0) it speaks veil/1 (--proto 1) in the room of that name.
start_peer2() {
	p2_name=$1 p2_room=$2 p2_port=$3; shift 3
	p2_code=$(room_code "$p2_room")
	if [ -n "$p2_code" ]; then
		set -- --invite "$p2_code" "$@"
	else
		set -- --proto 1 --room-v1 "$p2_room" "$@"
	fi
	$PY "$E2E_LIB/peer2.py" member --relay "127.0.0.1:$p2_port" "$@" \
	    >"$W/$p2_name.json" 2>"$W/$p2_name.log" &
	p2_pid=$!; e2e_track $p2_pid
	eval "${p2_name}_PID=$p2_pid"
	case " $* " in *" --rejoin "*) return 0 ;; esac	# a flood says when it is done
	wait_line "$W/$p2_name.json" '"ev": "joined"' 1 10 ||
		fail "peer2 $p2_name did not join: $(tail -n 3 "$W/$p2_name.log")"
}

# stop_peer2 NAME: ends it (it has no input to close).
stop_peer2() {
	eval "sp2_pid=\$${1}_PID"
	kill "$sp2_pid" 2>/dev/null
	wait_exit "$sp2_pid" 5 || kill -KILL "$sp2_pid" 2>/dev/null
}

# pubkey_of WHO: WHO's Ed25519 public key (64 hex), from its keyd home.
pubkey_of() {
	eval "pk_home=\$${1}_HOME"
	$PY -c 'import sys; from cryptography.hazmat.primitives.asymmetric import ed25519; from cryptography.hazmat.primitives import serialization as s; k=ed25519.Ed25519PrivateKey.from_private_bytes(open(sys.argv[1],"rb").read()); print(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())' "$pk_home/identity"
}

# chat WHO ROOM PORT [extra chatc args]: start_chatc with the usual flags
# (the link's too: CHATC_LINK). ROOM is a name for the scenario: chatc joins
# it by invite code (room_code).
chat() {
	ch_who=$1 ch_room=$2 ch_port=$3; shift 3
	eval "ch_sock=\$${ch_who}_SOCK"
	room_args "$ch_room"
	# shellcheck disable=SC2086
	start_chatc "$ch_who" "$RA1" "$RA2" --nick "${NICK_PREFIX:-}$ch_who" \
	    --relay "127.0.0.1:$ch_port" --keyd "$ch_sock" $CHATC_LINK "$@"
}

e2e_alive() {
	eval "ea_pid=\$${1}_PID"
	e2e_dead "$ea_pid" && fail "chatc $1 is gone (wanted to type to it): $(tail -n 3 "$W/$1.out" "$W/$1.err")"
	return 0
}

say() { e2e_alive "$1"; printf '%s\n' "$2" >"$W/$1.in"; }
say_file() { e2e_alive "$1"; cat "$2" >"$W/$1.in"; }
close_input() { eval "kill \$${1}_HOLD" 2>/dev/null; }

# no_line FILE ERE: fail if any line matches.
no_line() {
	[ "$(count "$1" "$2")" -eq 0 ] ||
		fail "unexpected line(s) /$2/ in $(basename "$1"): $(grep -E -e "$2" "$1" | head -n 3)"
}

# exactly FILE ERE N
exactly() {
	ex_n=$(count "$1" "$2")
	[ "$ex_n" -eq "$3" ] || fail "$(basename "$1"): $ex_n lines match /$2/, expected $3"
}

# secure_pair A B ROOM PORT [args for both]: starts A, then B, waits for both SECUREs.
secure_pair() {
	sp_a=$1 sp_b=$2 sp_room=$3 sp_p=$4; shift 4
	chat "$sp_a" "$sp_room" "$sp_p" "$@"
	chat "$sp_b" "$sp_room" "$sp_p" "$@"
	must_line "$W/$sp_a.out" "^SECURE ${NICK_PREFIX:-}$sp_b " 1 15
	must_line "$W/$sp_b.out" "^SECURE ${NICK_PREFIX:-}$sp_a " 1 15
}

# stop_chatc WHO [RC]: EOF on its input, and it must exit RC (default 0:
# every line sent; 3: some line was not sent) within 10 s.
stop_chatc() {
	close_input "$1"
	eval "st_pid=\$${1}_PID"
	wait_exit "$st_pid" 10 || fail "chatc $1 did not exit within 10s of EOF"
	[ "$E2E_RC" -eq "${2:-0}" ] || fail "chatc $1 exited $E2E_RC after EOF, not ${2:-0}"
}
