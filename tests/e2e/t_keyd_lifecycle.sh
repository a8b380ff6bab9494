#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's lifecycle as a tool (issue 16), four bugs of 0.1.0, each checked
# even when an earlier one fails (the script lists every one that did):
#  daemon-twice  a second `keyd --daemon` says keyd is already running and
#                exits 0, so `keyd --daemon && chatc ...` works every time;
#  stop          `keyd --stop` ends it, waits, and a second --stop is no error;
#  socket        SIGTERM, SIGINT and --stop each leave no socket behind;
#  terminal      once daemonised, keyd writes nothing more to the terminal that
#                started it (its lines go to syslog, here, with no /dev/log,
#                to HOME/keyd.log).
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

H="$W/home" S="$W/run/keyd.sock"
pid_of() { pgrep -f -- "--socket $1\$" | head -n 1; }
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }
daemon() {
	"$BIN/keyd" --daemon --home "$H" --socket "$S" 2>"$W/d1.err" || fail "--daemon exited $?"
	DPID=$(pid_of "$S"); PIDS="$PIDS $DPID"
	[ -n "$DPID" ] || fail "no keyd process for $S"
}
stop_it() { kill -TERM "$1" 2>/dev/null; wait_gone "$1" || fail "keyd $1 ignored SIGTERM"; }

daemon
"$BIN/keyd" --daemon --home "$H" --socket "$S" 2>"$W/d2.err"
rc=$?
if [ $rc -ne 0 ]; then bad daemon-twice "a second --daemon exited $rc: $(cat "$W/d2.err")"
elif ! grep -q "already running" "$W/d2.err"; then bad daemon-twice "it did not say keyd runs"
elif [ "$(pid_of "$S")" != "$DPID" ]; then bad daemon-twice "it replaced the first"
fi
"$PY" "$LIB/keydclient.py" fpr "$S" >/dev/null || fail "the first keyd stopped serving"

# --stop: ends it (waiting) and the socket with it; a second --stop is no error.
if "$BIN/keyd" --stop --socket "$S" >"$W/stop.out" 2>"$W/stop.err"; then
	grep -q "stopped keyd (pid $DPID)" "$W/stop.out" || bad stop "it said: $(cat "$W/stop.out")"
	gone "$DPID" || bad stop "keyd $DPID still runs after --stop returned"
	wait_gone "$DPID" || fail "keyd survived --stop"
	[ -e "$S" ] && bad socket "the socket is still there after --stop"
	"$BIN/keyd" --stop --socket "$S" >"$W/stop2.out" 2>&1 || bad stop "--stop with nothing running exited $?"
	grep -q "no keyd is running" "$W/stop2.out" || bad stop "second --stop said: $(cat "$W/stop2.out")"
else
	bad stop "--stop exited $?: $(cat "$W/stop.err")"
	stop_it "$DPID"
fi

# SIGTERM and SIGINT: the socket goes with keyd.
for sig in TERM INT; do
	rm -f "$S"
	start_keyd "fg$sig" "$H" "$S"
	kill -"$sig" "$KPID"
	wait_gone "$KPID" || fail "keyd ignored SIG$sig"
	[ -e "$S" ] && bad socket "the socket is still there after SIG$sig"
done

# Daemonised from a terminal: the lines before it is ready may go there, none
# after. The terminal is a tmux pane; keyd is stopped from outside it.
if command -v tmux >/dev/null 2>&1; then
	rm -f "$S"
	unset TMUX
	TS="$W/tmux.sock"
	tmux -S "$TS" -f /dev/null new-session -d -s k -x 120 -y 20 \
	    "'$BIN/keyd' --daemon --home '$H' --socket '$S'; echo DAEMON-RC=\$?; exec sleep 60" ||
		fail "tmux would not start"
	i=0
	until tmux -S "$TS" capture-pane -p -t k | grep -q 'DAEMON-RC=0'; do
		i=$((i + 1)); [ $i -gt 200 ] && fail "--daemon in tmux: $(tmux -S "$TS" capture-pane -p -t k)"
		sleep 0.05
	done
	DPID=$(pid_of "$S"); PIDS="$PIDS $DPID"
	stop_it "$DPID"
	sleep 0.2
	tmux -S "$TS" capture-pane -p -t k >"$W/pane.log"
	tmux -S "$TS" kill-server 2>/dev/null
	if grep -q 'stopped' "$W/pane.log"; then
		bad terminal "the daemon wrote to its terminal after start-up: $(grep stopped "$W/pane.log")"
	elif ! [ -S /dev/log ]; then
		grep -q 'keyd\[[0-9]*\]: stopped$' "$H/keyd.log" 2>/dev/null ||
			bad terminal "\"stopped\" is not in $H/keyd.log either"
		[ "$(stat -c %a "$H/keyd.log")" = 600 ] || bad terminal "keyd.log is not 0600"
	fi
else
	note "notice: tmux missing; the terminal part was not run"
fi
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
exit 0
