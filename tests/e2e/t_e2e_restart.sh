#!/bin/sh
# SPDX-License-Identifier: ISC
# Nothing lost when the relay restarts (issue 13). The relay is stopped
# (SIGSTOP) while alice and bob each type N lines: they leave chatc (each
# sealed and written to the socket) and sit in the kernel's buffers and
# the stopped relay. The relay is then killed and started again on the
# same port; both reconnect, shake hands again, and every line must end
# up DELIVERED (shown exactly once, in order) or UNDELIVERED, the counts
# matching (lib/delivery.py). On 0.1.0 the lines that had left chatc are
# gone without a word.
. "$E2E_LIB/common.sh"
need_bins
N=${RESTART_LINES:-30}

start_relay relay
port=$relay_PORT
start_keyd alice
start_keyd bob
secure_pair alice bob restart "$port"
say alice "a-line 1"
say bob "b-line 1"
must_line "$W/bob.out" '^MSG alice a-line 1$' 1 10
must_line "$W/alice.out" '^MSG bob b-line 1$' 1 10

kill -STOP "$relay_PID"
k=1
while [ $k -lt "$N" ]; do
	k=$((k + 1))
	printf 'a-line %d\n' $k >"$W/alice.in"
	printf 'b-line %d\n' $k >"$W/bob.in"
done
# Every line has left chatc: its DATA frame was written (or queued) before
# the relay dies. Wait until neither chatc writes anything for 500 ms.
wchar() { sed -n 's/^wchar: //p' "/proc/$1/io" 2>/dev/null; }
quiet=0 last="$(wchar "$alice_PID") $(wchar "$bob_PID")"
end=$(( $(date +%s) + 15 ))
while [ $quiet -lt 10 ] && [ "$(date +%s)" -le $end ]; do
	sleep 0.05
	cur="$(wchar "$alice_PID") $(wchar "$bob_PID")"
	if [ "$cur" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; fi
	last=$cur
done
kill -KILL "$relay_PID"
wait "$relay_PID" 2>/dev/null
must_line "$W/alice.err" '^INFO lost the relay' 1 60
RELAY_LISTEN="127.0.0.1:$port" start_relay relay
must_line "$W/alice.out" '^SECURE bob ' 2 30
must_line "$W/bob.out" '^SECURE alice ' 2 30
wait_line "$W/alice.out" '^(DELIVERED|UNDELIVERED) bob ' "$N" 30 ||
	note "alice: only $(count "$W/alice.out" '^(DELIVERED|UNDELIVERED) bob ') of $N lines reported"
wait_line "$W/bob.out" '^(DELIVERED|UNDELIVERED) alice ' "$N" 30 ||
	note "bob: only $(count "$W/bob.out" '^(DELIVERED|UNDELIVERED) alice ') of $N lines reported"
stop_chatc alice
stop_chatc bob
ra=$($PY "$E2E_LIB/delivery.py" "$W/alice.out" alice "$W/bob.out" bob a-line "$N" \
    --all-delivered 2>&1) || fail "alice to bob: $ra"
rb=$($PY "$E2E_LIB/delivery.py" "$W/bob.out" bob "$W/alice.out" alice b-line "$N" \
    --all-delivered 2>&1) || fail "bob to alice: $rb"
note "figure: relay restart, alice to bob: $ra"
note "figure: relay restart, bob to alice: $rb"
note "ok: a relay restart lost nothing; every line delivered exactly once"
