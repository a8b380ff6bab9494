#!/bin/sh
# SPDX-License-Identifier: ISC
# An honest relay with members joining and leaving raises no false WARN
# (issue 13). alice and bob stay; carol joins, talks, leaves and joins
# again for CHURN_SECS (20 here; the 5 minutes by hand:
# CHURN_SECS=300), while alice and bob keep talking. Nobody may say WARN
# (no silence, no room-view difference, nothing missing), every line of
# alice's to bob ends DELIVERED, and the room codes of all three agree at
# the end.
. "$E2E_LIB/common.sh"
need_bins
SECS=${CHURN_SECS:-20}

start_relay relay
start_keyd alice
start_keyd bob
start_keyd carol
secure_pair alice bob churn "$relay_PORT"
k=0 rounds=0
t_end=$(( $(date +%s) + SECS ))
while [ "$(date +%s)" -lt $t_end ]; do
	rounds=$((rounds + 1))
	chat carol churn "$relay_PORT"
	must_line "$W/alice.out" '^SECURE carol ' "$rounds" 15
	must_line "$W/bob.out" '^SECURE carol ' "$rounds" 15
	must_line "$W/carol.out" '^SECURE bob ' 1 15
	must_line "$W/carol.out" '^SECURE alice ' 1 15
	k=$((k + 1)); say alice "a-line $k"
	say carol "hello $rounds"
	must_line "$W/bob.out" "^MSG carol hello $rounds\$" 1 10
	# Stay a while (0..3 s) so that views go back and forth, then leave.
	sleep "$((rounds % 4))"
	k=$((k + 1)); say alice "a-line $k"
	stop_chatc carol
	must_line "$W/alice.out" '^LEFT carol$' "$rounds" 10
	must_line "$W/bob.out" '^LEFT carol$' "$rounds" 10
	no_line "$W/carol.out" '^WARN '
	k=$((k + 1)); say alice "a-line $k"
	sleep "$((rounds % 3))"
done
chat carol churn "$relay_PORT"
must_line "$W/carol.out" '^SECURE bob ' 1 15
must_line "$W/carol.out" '^SECURE alice ' 1 15
must_line "$W/alice.out" "^DELIVERED bob $k\$" 1 15
# The views settle (debounce 2 s) before the codes are compared.
sleep 3
for who in alice bob carol; do say "$who" "/verify"; done
for who in alice bob carol; do
	must_line "$W/$who.err" 'room code: [0-9]{5} [0-9]{5}' 1 10
	eval "code_$who=\"\$(sed -n 's/.*room code: \([0-9]\{5\} [0-9]\{5\}\).*/\1/p' \"\$W/\$who.err\" | tail -n 1)\""
done
[ "$code_alice" = "$code_bob" ] && [ "$code_bob" = "$code_carol" ] ||
	fail "room codes differ: alice $code_alice, bob $code_bob, carol $code_carol"
for who in alice bob carol; do no_line "$W/$who.out" '^WARN '; done
stop_chatc alice
stop_chatc bob
stop_chatc carol
r=$($PY "$E2E_LIB/delivery.py" "$W/alice.out" alice "$W/bob.out" bob a-line "$k" \
    --all-delivered 2>&1) || fail "$r"
note "figure: ${SECS} s of churn, $rounds joins and leaves: no WARN anywhere; alice to bob: $r; room code $code_alice"
note "ok: honest churn raised no false warning"
