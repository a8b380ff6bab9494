#!/bin/sh
# SPDX-License-Identifier: ISC
# Faults. The relay restarts (behind a recording proxy that keeps its port):
# both chatc's say so (INFO on stderr: routine, issue 16), reconnect, run fresh handshakes with new ephemeral
# keys (all four HS_INIT/HS_RESP keys distinct), a line typed during the
# outage is delivered once afterwards, and messages flow again. A peer killed
# with SIGKILL: LEFT. keyd killed: chatc says ERROR and exits non-zero.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
port=$relay_PORT
start_proxy proxy "$port"
start_keyd alice
start_keyd bob
secure_pair alice bob faults "$proxy_PORT"
say alice "before the outage"
must_line "$W/bob.out" '^MSG alice before the outage$' 1 10

note "relay stops"
kill -TERM "$relay_PID"
wait_exit "$relay_PID" 10 || fail "relayd did not exit on SIGTERM"
[ "$E2E_RC" -eq 0 ] || note "notice: relayd exited $E2E_RC on SIGTERM (DESIGN: 0)"
must_line "$W/alice.err" '^INFO lost the relay ' 1 15
must_line "$W/bob.err" '^INFO lost the relay ' 1 15
no_line "$W/alice.out" '^ERROR'
say alice "typed during the outage"
RELAY_LISTEN="127.0.0.1:$port" start_relay relay
[ "$relay_PORT" = "$port" ] || fail "relay came back on $relay_PORT, not $port"
t0=$(now_ms)
must_line "$W/alice.out" '^SECURE bob ' 2 30
must_line "$W/bob.out" '^SECURE alice ' 2 30
note "figure: relay back to both SECURE again: $(( $(now_ms) - t0 )) ms (includes reconnect backoff)"
must_line "$W/bob.out" '^MSG alice typed during the outage$' 1 10
say alice "after the outage"
say bob "bob after the outage"
must_line "$W/bob.out" '^MSG alice after the outage$' 1 10
must_line "$W/alice.out" '^MSG bob bob after the outage$' 1 10
exactly "$W/bob.out" '^MSG alice typed during the outage$' 1
exactly "$W/bob.out" '^MSG ' 3
exactly "$W/alice.out" '^MSG ' 1
grep -o 'eph [0-9a-f]*' "$W/proxy.log" | sort >"$W/ephs"
[ "$(wc -l <"$W/ephs")" -eq 4 ] || fail "expected 4 handshake keys on the wire, saw $(wc -l <"$W/ephs")"
[ "$(uniq -d "$W/ephs" | wc -l)" -eq 0 ] || fail "an ephemeral key was reused after the reconnect"
no_line "$W/alice.out" '^ERROR'
no_line "$W/bob.out" '^ERROR'

note "bob killed"
kill -KILL "$bob_PID"
must_line "$W/alice.out" '^LEFT bob$' 1 20
e2e_dead "$alice_PID" && fail "alice exited when bob was killed"

note "alice's keyd killed"
kill -KILL "$alice_KEYD_PID"
if ! wait_line "$W/alice.out" '^ERROR ' 1 5; then
	note "notice: chatc did not notice keyd's death within 5 s on its own; typing a line"
	say alice "are you there, keyd?"
	must_line "$W/alice.out" '^ERROR ' 1 10
fi
wait_exit "$alice_PID" 10 || fail "chatc kept running after ERROR"
[ "$E2E_RC" -ne 0 ] || fail "chatc exited 0 after losing keyd"
note "alice said: $(grep '^ERROR' "$W/alice.out" | head -n 1), exit $E2E_RC"
note "ok: relay restart recovered with fresh keys, LEFT on kill, ERROR on keyd loss"
