#!/bin/sh
# SPDX-License-Identifier: ISC
# Nothing lost in a stall (issue 13): alice's link to the relay (her own
# frame-aware proxy) stops both ways for STALL_SECS (60) while alice and bob
# keep typing to each other. The relay and chatc give up on the dead link
# after 45 s; alice reconnects once the link works again, and every line
# either side typed must end up DELIVERED (shown once, in order, at the
# other) or UNDELIVERED with a reason, the counts matching
# (lib/delivery.py). On 0.1.0 the lines typed into the stalled link vanish
# without a word (no DELIVERED/UNDELIVERED at all; the issue saw 450 lost
# each way).
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins
STALL=${STALL_SECS:-60}
N1=20 N2=60 N3=10	# lines each before, during and after the stall

start_relay relay
start_keyd alice
start_keyd bob
mkfifo "$W/pa.ctl"
start_proxy pa "$relay_PORT" --control "$W/pa.ctl"
chat alice stall "$pa_PORT"
must_line "$W/pa.log" 'conn 0 member' 1 10
chat bob stall "$relay_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15

k=0
burst() {	# N: N more lines from each side
	b_end=$((k + $1))
	while [ $k -lt $b_end ]; do
		k=$((k + 1))
		printf 'a-line %d\n' $k >"$W/alice.in"
		printf 'b-line %d\n' $k >"$W/bob.in"
	done
}
burst $N1
must_line "$W/bob.out" "^MSG alice a-line $N1\$" 1 15
echo "stall * both" >"$W/pa.ctl"
must_line "$W/pa.log" 'ctl stall \* both ok' 1 5
t0=$(now_ms)
# Typed while the link is dead, a few at a time over the whole stall.
i=0
while [ $i -lt 6 ]; do
	burst $((N2 / 6))
	sleep $((STALL / 6))
	i=$((i + 1))
done
echo "resume * both" >"$W/pa.ctl"
must_line "$W/pa.log" 'ctl resume \* both ok' 1 5
note "link stalled for $(( ($(now_ms) - t0) / 1000 )) s"
burst $N3
N=$k
# Recovery: every line of each side acknowledged (events, not sleeps).
wait_line "$W/alice.out" "^(DELIVERED|UNDELIVERED) bob " "$N" 90 ||
	note "alice: only $(count "$W/alice.out" '^(DELIVERED|UNDELIVERED) bob ') of $N lines reported"
wait_line "$W/bob.out" "^(DELIVERED|UNDELIVERED) alice " "$N" 30 ||
	note "bob: only $(count "$W/bob.out" '^(DELIVERED|UNDELIVERED) alice ') of $N lines reported"
close_input alice
close_input bob
wait_exit "$alice_PID" 20 || fail "alice did not exit after EOF"
arc=$E2E_RC
wait_exit "$bob_PID" 20 || fail "bob did not exit after EOF"
brc=$E2E_RC
ra=$($PY "$E2E_LIB/delivery.py" "$W/alice.out" alice "$W/bob.out" bob a-line "$N" 2>&1) ||
	fail "alice to bob: $ra"
rb=$($PY "$E2E_LIB/delivery.py" "$W/bob.out" bob "$W/alice.out" alice b-line "$N" 2>&1) ||
	fail "bob to alice: $rb"
note "figure: ${STALL} s stall, alice to bob: $ra"
note "figure: ${STALL} s stall, bob to alice: $rb"
# Exit 3 exactly when some line ended undelivered.
for who in alice bob; do
	[ "$who" = alice ] && rc=$arc || rc=$brc
	if [ "$(count "$W/$who.out" '^UNDELIVERED ')" -gt 0 ]; then want=3; else want=0; fi
	[ "$rc" -eq "$want" ] || fail "$who exited $rc, not $want"
done
note "ok: nothing typed during a ${STALL} s stall was lost without a word"
