#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's lifecycle: --daemon returns only once the socket accepts (a client
# connects at once, no retry), a second keyd on a live socket refuses to
# start, a stale socket (its keyd was killed) is replaced, --daemon reports a
# start-up failure with a non-zero exit.
set -u
: "${BIN:?BIN must name the directory holding keyd}"
: "${TMPDIR:=/tmp}"
NAME=$(basename "$0" .sh)
LIB=$(cd "$(dirname "$0")" && pwd)/lib
PY=${PYTHON:-python3}
W=$(mktemp -d "$TMPDIR/k.XXXXXX") || exit 1
PIDS=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	# Daemons we did not get to record: their command line names our unique $W.
	PIDS="$PIDS $(pgrep -f -- "--socket $W/" 2>/dev/null | tr '\n' ' ')"
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while ! gone "$p" && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$W"/*.err; do [ -s "$f" ] && { echo "---- $f"; tail -n 10 "$f"; }; done
	fi
	rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail() { echo "$NAME: FAIL: $*"; exit 1; }
note() { echo "$NAME: $*"; }
[ -x "$BIN/keyd" ] || { echo "$NAME: skipped: $BIN/keyd not built"; exit 77; }
# wait_sock PATH [SECS]: until a connect to PATH succeeds.
wait_sock() {
	"$PY" - "$1" "${2:-10}" <<'PYEOF'
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(sys.argv[1]); sys.exit(0)
    except OSError:
        time.sleep(0.02)
    finally:
        s.close()
sys.exit(1)
PYEOF
}
# start_keyd TAG HOME SOCK: keyd in the foreground; sets KPID.
start_keyd() {
	"$BIN/keyd" --home "$2" --socket "$3" 2>>"$W/$1.err" &
	KPID=$!
	PIDS="$PIDS $KPID"
	wait_sock "$3" || fail "keyd ($1) did not start: $(cat "$W/$1.err")"
}
mode() { stat -c %a "$1"; }
# gone PID: the process is dead (or a zombie nobody reaped yet).
gone() {
	[ -r "/proc/$1/stat" ] || return 0
	case $(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) in
	Z|X|"") return 0 ;;
	esac
	return 1
}
# wait_gone PID [SECS]
wait_gone() {
	wg_i=0
	while ! gone "$1" && [ $wg_i -lt $(( ${2:-5} * 50 )) ]; do sleep 0.02; wg_i=$((wg_i + 1)); done
	gone "$1"
}

H="$W/home" S="$W/run/keyd.sock"
# pid_of SOCK: the keyd serving SOCK (its unique path is on its command line).
pid_of() { pgrep -f -- "--socket $1\$" | head -n 1; }

"$BIN/keyd" --daemon --home "$H" --socket "$S" 2>"$W/d.err" || fail "--daemon exited $?"
# No wait, no retry: the socket must accept right now.
"$PY" - "$S" <<'PYEOF' || fail "connect right after --daemon returned failed"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
PYEOF
DPID=$(pid_of "$S")
[ -n "$DPID" ] || fail "no keyd process for $S"
PIDS="$PIDS $DPID"
"$PY" "$LIB/keydclient.py" fpr "$S" >/dev/null || fail "HELLO to the daemon failed"
# Detached: its own session, not our process group.
[ "$(ps -o sid= -p "$DPID" | tr -d ' ')" = "$DPID" ] || fail "daemon did not setsid"

# A second keyd on the live socket refuses, and the first keeps serving.
"$BIN/keyd" --home "$W/home2" --socket "$S" 2>"$W/second.err" && fail "second keyd started"
grep -q "keyd is already running on $S" "$W/second.err" || fail "message: $(cat "$W/second.err")"
"$BIN/keyd" --daemon --home "$W/home2" --socket "$S" 2>"$W/second2.err" && fail "second --daemon reported success"
"$PY" "$LIB/keydclient.py" fpr "$S" >/dev/null || fail "first keyd stopped serving"

# Killed hard: the socket file stays behind, stale. The next keyd replaces it.
kill -KILL "$DPID"
wait_gone "$DPID" || fail "keyd survived SIGKILL"
[ -S "$S" ] || fail "expected a stale socket left behind"
"$BIN/keyd" --daemon --home "$H" --socket "$S" 2>"$W/stale.err" || fail "keyd refused a stale socket: $(cat "$W/stale.err")"
grep -q "replaced stale socket" "$W/stale.err" || fail "no note about the stale socket"
DPID=$(pid_of "$S")
PIDS="$PIDS $DPID"
"$PY" "$LIB/keydclient.py" fpr "$S" >/dev/null || fail "HELLO after replacing the stale socket failed"
kill -TERM "$DPID"
wait_gone "$DPID" || fail "daemon ignored SIGTERM"

# A path that is not a socket is never replaced.
: > "$W/run/file"
"$BIN/keyd" --daemon --home "$H" --socket "$W/run/file" 2>"$W/file.err" && fail "replaced a regular file"
[ -f "$W/run/file" ] || fail "the regular file was removed"
note "ok"
exit 0
