# SPDX-License-Identifier: ISC
# Shared set-up of the keyd scripts (tests/e2e/t_keyd_*.sh): a private work
# directory $W, cleanup of every keyd started (also daemons, found by their
# unique socket path under $W), and small helpers. Source it first:
#   . "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"
# It sets NAME (the script's name), LIB, PY, W, PIDS and defines fail, note,
# wait_sock, start_keyd, mode, gone, wait_gone. Skips (77) if keyd is not built.
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
