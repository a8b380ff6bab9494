#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: nosan (backoff and --give-up timers)
# chatc keeps trying and tells the truth (issue 11, item 7). A full room
# (ROOM_FULL) and a full relay (SERVER_FULL) are retried, with one WARN for
# the state and none per retry, until a place frees; what was typed meanwhile
# is delivered then. A relay unreachable for longer than 0.1.0's 30 s is
# still joined once it comes up. --give-up SEC ends a script's wait: every
# held line reported "not sent", in order, exit 4. A batch run whose lines
# never went out exits 3, each line reported: into an empty room, at /quit,
# and at end of input with the relay down (after the 8 s EOF wait). The
# interactive status line shows the retry state, and a line held at /quit is
# reported on stderr once the screen is gone.
. "$E2E_LIB/common.sh"
need_bins

start_relay dead
deadport=$dead_PORT
kill -TERM "$dead_PID"; wait_exit "$dead_PID" 10 || fail "relayd did not stop"
start_keyd alice
start_keyd bob
start_keyd carol
start_keyd dave

note "a relay down for longer than 30 s (0.1.0 gave up then)"
chat dave later "$deadport"
t_dave=$(now_ms)
must_line "$W/dave.out" '^WARN cannot reach the relay at 127\.0\.0\.1:[0-9]+ \(Connection refused\); retrying$' 1 10
say dave "typed while the relay was down"

note "a full room: ROOM_FULL is retried until a place frees"
start_relay small --room-size 2
secure_pair alice bob full "$small_PORT"
chat carol full "$small_PORT"
must_line "$W/carol.out" '^WARN relay 127\.0\.0\.1:[0-9]+ refused us: room is full; retrying until a place frees$' 1 10
say carol "carol waited for a place"
# Tries go on (200 ms doubling, with jitter): several within 3 s, one WARN.
wait_line "$W/carol.out" '^ERROR ' 1 3 && fail "carol gave up: $(grep ERROR "$W/carol.out")"
e2e_alive carol
exactly "$W/carol.out" '^WARN ' 1

if command -v tmux >/dev/null 2>&1; then
	unset TMUX
	E2E_TMUX="$W/tmux.sock"
	room_args full
	tmux -S "$E2E_TMUX" -f /dev/null new-session -d -s st -x 120 -y 20 \
	    "'$BIN/chatc' $RA1 '$RA2' --nick erin --relay 127.0.0.1:$small_PORT --keyd '$alice_SOCK' 2>'$W/erin.err'; echo \$? >'$W/erin.exit'; sleep 60" ||
		fail "tmux would not start"
	end=$(( $(date +%s) + 10 ))
	until tmux -S "$E2E_TMUX" capture-pane -p -t st | grep -q 'relay retrying: room is full'; do
		[ "$(date +%s)" -gt "$end" ] && fail "the status line does not show the retry: $(tmux -S "$E2E_TMUX" capture-pane -p -t st)"
		sleep 0.05
	done
	note "status line: $(tmux -S "$E2E_TMUX" capture-pane -p -t st | grep 'relay retrying' | sed 's/  */ /g')"
	# /quit with a line still held: reported where it outlives the screen, exit 3.
	tmux -S "$E2E_TMUX" send-keys -t st -l 'typed on a screen' \; send-keys -t st Enter
	tmux -S "$E2E_TMUX" send-keys -t st -l '/quit' \; send-keys -t st Enter
	end=$(( $(date +%s) + 10 ))
	until [ -s "$W/erin.exit" ]; do
		[ "$(date +%s)" -gt "$end" ] && fail "/quit did not end the interactive chatc"
		sleep 0.05
	done
	[ "$(cat "$W/erin.exit")" = 3 ] || fail "interactive /quit with a held line exited $(cat "$W/erin.exit"), not 3"
	grep -q -x 'chatc: not sent (no secure session yet): typed on a screen' "$W/erin.err" ||
		fail "the held line was not reported after the screen closed: $(cat "$W/erin.err")"
	tmux -S "$E2E_TMUX" kill-server
	E2E_TMUX=""
else
	note "notice: tmux is not installed; the status line was not checked"
fi

stop_chatc bob
must_line "$W/carol.out" '^SECURE alice ' 1 20
must_line "$W/alice.out" '^MSG carol carol waited for a place$' 1 10
# Back in the room is routine (issue 16): stderr, not a WARN.
must_line "$W/carol.err" '^INFO in the room at 127\.0\.0\.1:[0-9]+ again \(after [0-9]+ failed tr' 1 5
note "carol: $(grep '^INFO in the room' "$W/carol.err")"
stop_chatc carol
stop_chatc alice

note "a full relay: SERVER_FULL is retried too"
start_relay one --max-clients 2
start_keyd erin
start_keyd frank
start_keyd gina
secure_pair erin frank crowded "$one_PORT"
chat gina crowded "$one_PORT"
must_line "$W/gina.out" '^WARN relay 127\.0\.0\.1:[0-9]+ refused us: relay is full; retrying until a place frees$' 1 10
say gina "gina got in"
wait_line "$W/gina.out" '^ERROR ' 1 2 && fail "gina gave up"
e2e_alive gina
stop_chatc frank
must_line "$W/gina.out" '^SECURE erin ' 1 20
must_line "$W/erin.out" '^MSG gina gina got in$' 1 10
stop_chatc gina
stop_chatc erin

note "into an empty room: WARN not sent, exit 3"
start_keyd hal
room_args nobody-here
printf 'hi\n' | "$BIN/chatc" "$RA1" "$RA2" --nick hal --relay "127.0.0.1:$small_PORT" \
    --keyd "$hal_SOCK" --batch >"$W/hal.out" 2>"$W/hal.err"
rc=$?
[ "$rc" -eq 3 ] || fail "echo hi | chatc into an empty room exited $rc, not 3"
exactly "$W/hal.out" '^WARN not sent \(no secure session yet\): hi$' 1

note "/quit with held lines: each reported, in order, exit 3"
printf 'first held\nsecond held\n/quit\nafter quit\n' | "$BIN/chatc" "$RA1" "$RA2" \
    --nick hal --relay "127.0.0.1:$small_PORT" --keyd "$hal_SOCK" --batch >"$W/hal2.out" 2>&1
rc=$?
[ "$rc" -eq 3 ] || fail "/quit with held lines exited $rc, not 3"
grep '^WARN not sent' "$W/hal2.out" >"$W/hal2.ns"
printf 'WARN not sent (no secure session yet): first held\nWARN not sent (no secure session yet): second held\n' |
	cmp -s - "$W/hal2.ns" || fail "held lines at /quit: $(cat "$W/hal2.out")"

note "--give-up SEC: held lines reported not sent, exit 4"
t0=$(now_ms)
room_args later
printf 'one\ntwo\n' | "$BIN/chatc" "$RA1" "$RA2" --nick hal --relay "127.0.0.1:$deadport" \
    --keyd "$hal_SOCK" --batch --give-up 2 >"$W/hal3.out" 2>&1
rc=$?
ms=$(( $(now_ms) - t0 ))
[ "$rc" -eq 4 ] || fail "--give-up 2 exited $rc, not 4: $(cat "$W/hal3.out")"
[ "$ms" -ge 1900 ] && [ "$ms" -lt 6000 ] || fail "--give-up 2 took $ms ms"
must_line "$W/hal3.out" '^WARN giving up: not in the room at 127\.0\.0\.1:[0-9]+ for 2 s' 1 1
grep '^WARN not sent' "$W/hal3.out" >"$W/hal3.ns"
printf 'WARN not sent (gave up waiting for the room): one\nWARN not sent (gave up waiting for the room): two\n' |
	cmp -s - "$W/hal3.ns" || fail "--give-up: $(cat "$W/hal3.out")"
note "figure: --give-up 2 exited 4 after $ms ms"

note "end of input, relay down, no --give-up: held lines wait 8 s, then exit 3"
t0=$(now_ms)
printf 'waits for a room\n' | "$BIN/chatc" "$RA1" "$RA2" --nick hal --relay "127.0.0.1:$deadport" \
    --keyd "$hal_SOCK" --batch >"$W/hal4.out" 2>&1
rc=$?
ms=$(( $(now_ms) - t0 ))
[ "$rc" -eq 3 ] || fail "EOF with the relay down exited $rc, not 3: $(cat "$W/hal4.out")"
[ "$ms" -ge 7900 ] && [ "$ms" -lt 12000 ] || fail "EOF wait took $ms ms, not about 8 s"
exactly "$W/hal4.out" '^WARN not sent \(no secure session yet\): waits for a room$' 1
note "figure: EOF with a held line and no relay: exit 3 after $ms ms"

# dave has been retrying all along; once 32 s have passed, the relay comes up.
while [ $(( $(now_ms) - t_dave )) -lt 32000 ]; do
	e2e_alive dave
	wait_line "$W/dave.out" '^ERROR ' 1 1 && fail "dave gave up: $(grep ERROR "$W/dave.out")"
done
exactly "$W/dave.out" '^WARN ' 1
RELAY_LISTEN="127.0.0.1:$deadport" start_relay late
chat carol later "$late_PORT"
must_line "$W/dave.out" '^SECURE carol ' 1 20
must_line "$W/carol.out" '^MSG dave typed while the relay was down$' 1 10
note "dave joined $(( ($(now_ms) - t_dave) / 1000 )) s after it started, relay down for 32 s"
stop_chatc dave
stop_chatc carol
note "ok: full room, full relay, a long outage retried; --give-up, empty room, /quit and EOF tell what was not sent"
