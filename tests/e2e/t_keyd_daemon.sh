#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's lifecycle: --daemon returns only once the socket accepts (a client
# connects at once, no retry), a second foreground keyd on a live socket
# refuses to start, a stale socket (its keyd was killed) is replaced, --daemon reports a
# start-up failure with a non-zero exit.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

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

# A second keyd in the foreground on the live socket refuses; a second
# --daemon says it is already running and exits 0 (t_keyd_lifecycle); the
# first keeps serving either way.
"$BIN/keyd" --home "$W/home2" --socket "$S" 2>"$W/second.err" && fail "second keyd started"
grep -q "keyd is already running on $S" "$W/second.err" || fail "message: $(cat "$W/second.err")"
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
