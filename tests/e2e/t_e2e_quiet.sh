#!/bin/sh
# SPDX-License-Identifier: ISC
# Routine is not a warning (issue 16), each bug of 0.1.0 checked even when
# another fails:
#  rekey      a rekey is an INFO line on stderr, not a WARN on stdout (0.1.0:
#             "WARN rekeyed with bob" for every rekey; veil/2 has no periodic
#             rekey since issue 17's ratchet, so /rekey is the one left);
#  burst      a burst of 2200 lines from alice brings no warning at all: 0.1.0
#             showed ~28 "rejected message from bob: ... old epoch" though bob
#             sent nothing (its REKEY_INITs sent again, and bob's answers to
#             the copies, reached her after she had moved on);
#  slow-peer  with bob stopped for 4 s while alice sends 1200 lines, no
#             warning either: her lines wait for bob's window (issue 13's
#             flow control) and all arrive once he runs again;
#  reconnect  losing the relay and coming back are INFO lines (0.1.0: WARN
#             lost the relay, WARN in the room again).
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }
lines() { $PY -c 'import sys
for i in range(int(sys.argv[1]), int(sys.argv[2]) + 1): print("%s %d" % (sys.argv[3], i))' "$@"; }

start_relay relay
port=$relay_PORT
start_keyd alice
start_keyd bob
secure_pair alice bob quiet "$port"

lines 1 2200 burst >"$W/burst.txt"
say_file alice "$W/burst.txt"
must_line "$W/bob.out" '^MSG alice burst 2200$' 1 60
say alice /rekey
wait_line "$W/alice.err" '^INFO rekeyed with bob$' 1 10 ||
	bad rekey "no INFO line for the rekey on alice's stderr"
# Late echoes would come within a round trip; give them one.
say bob "bob after the burst"
must_line "$W/alice.out" '^MSG bob bob after the burst$' 1 10
[ "$(count "$W/alice.out" 'rekeyed')" -eq 0 ] && [ "$(count "$W/bob.out" 'rekeyed')" -eq 0 ] ||
	bad rekey "a rekey on stdout: $(grep rekeyed "$W/alice.out" | head -n 1)"
n=$(count "$W/alice.out" '^WARN ')
[ "$n" -eq 0 ] || bad burst "$n WARN line(s) at alice: $(grep '^WARN' "$W/alice.out" | sort | uniq -c | head -n 3)"
[ "$(count "$W/bob.out" '^WARN ')" -eq 0 ] || bad burst "WARN at bob: $(grep '^WARN' "$W/bob.out" | head -n 2)"
exactly "$W/bob.out" '^MSG alice burst ' 2200

# Bob stopped for 4 s while alice sends: her lines wait for his window.
kill -STOP "$bob_PID"
lines 1 1000 slow >"$W/slow1.txt"
say_file alice "$W/slow1.txt"
sleep 3.5
lines 1001 1200 slow >"$W/slow2.txt"
say_file alice "$W/slow2.txt"
sleep 0.5
kill -CONT "$bob_PID"
must_line "$W/bob.out" '^MSG alice slow 1200$' 1 60
exactly "$W/bob.out" '^MSG alice slow ' 1200
say bob "bob after the pause"
must_line "$W/alice.out" '^MSG bob bob after the pause$' 1 10
[ "$(count "$W/alice.out" '^WARN ')" -eq 0 ] ||
	bad slow-peer "WARN at alice: $(grep '^WARN' "$W/alice.out" | sort | uniq -c | head -n 3)"

# The relay goes and comes back on the same port.
wa=$(count "$W/alice.out" '^WARN ') wb=$(count "$W/bob.out" '^WARN ')
kill -TERM "$relay_PID"
wait_exit "$relay_PID" 10 || fail "relayd did not stop"
wait_line "$W/alice.err" '^INFO lost the relay at ' 1 10 || bad reconnect "no INFO line for the loss"
RELAY_LISTEN="127.0.0.1:$port" start_relay relay
must_line "$W/alice.out" '^SECURE bob ' 2 30
must_line "$W/bob.out" '^SECURE alice ' 2 30
wait_line "$W/alice.err" '^INFO in the room at .* again' 1 10 || bad reconnect "no INFO line when back"
[ "$(count "$W/alice.out" '^WARN ')" -eq "$wa" ] && [ "$(count "$W/bob.out" '^WARN ')" -eq "$wb" ] ||
	bad reconnect "WARN lines: $(grep '^WARN' "$W/alice.out" "$W/bob.out" | tail -n 3)"
say alice "after the reconnect"
must_line "$W/bob.out" '^MSG alice after the reconnect$' 1 10
stop_chatc alice
stop_chatc bob
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
