#!/bin/sh
# SPDX-License-Identifier: ISC
# A split room is detected (issue 13). The relay (a proxy in front of it)
# hides alice and carol from each other, while bob sees both: alice's and
# carol's WELCOME, JOINED and LEFT lose the other's member id and nothing
# passes between them. Each pairwise session is sound, so nothing but the
# exchange of room views can tell: a WARN naming the hidden member must come
# at alice, bob or carol, and the room codes of /verify must differ. On
# 0.1.0 nobody says anything.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
start_keyd alice
start_keyd bob
start_keyd carol
mkfifo "$W/px.ctl"
start_proxy px "$relay_PORT" --control "$W/px.ctl"
echo "hide 0 2" >"$W/px.ctl"
must_line "$W/px.log" 'ctl hide 0 2 ok' 1 5
chat alice split "$px_PORT"
must_line "$W/px.log" 'conn 0 member' 1 10
chat bob split "$px_PORT"
must_line "$W/px.log" 'conn 1 member' 1 10
chat carol split "$px_PORT"
must_line "$W/px.log" 'conn 2 member' 1 10
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/carol.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
must_line "$W/bob.out" '^SECURE carol ' 1 15
t0=$(now_ms)
VIEW='^WARN the room looks different to '
warned=""
end=$(( $(date +%s) + 30 ))
while [ -z "$warned" ] && [ "$(date +%s)" -le $end ]; do
	for who in alice bob carol; do
		[ "$(count "$W/$who.out" "$VIEW")" -gt 0 ] && warned="$warned $who"
	done
	sleep 0.1
done
[ -n "$warned" ] || fail "nobody warned of the split room within 30 s"
note "figure: split room named after $(( ($(now_ms) - t0) / 1000 )) s by$warned"
fc=$(fpr_of carol)
grep -q -F "$fc" "$W/alice.out" "$W/bob.out" ||
	fail "the warning does not name carol's fingerprint $fc"
# A few more seconds: the others say it too.
wait_line "$W/alice.out" "$VIEW" 1 10 || true
wait_line "$W/carol.out" "$VIEW" 1 10 || true
for who in alice bob carol; do
	say "$who" "/verify"
done
for who in alice bob carol; do
	must_line "$W/$who.err" 'room code: [0-9]{5} [0-9]{5}' 1 10
	eval "code_$who=\"\$(sed -n 's/.*room code: \([0-9]\{5\} [0-9]\{5\}\).*/\1/p' \"\$W/\$who.err\" | tail -n 1)\""
done
note "figure: room codes: alice $code_alice, bob $code_bob, carol $code_carol"
[ "$code_alice" != "$code_bob" ] && [ "$code_bob" != "$code_carol" ] &&
	[ "$code_alice" != "$code_carol" ] || fail "room codes do not differ"
for who in alice bob carol; do
	note "$who said: $(grep "$VIEW" "$W/$who.out" | head -n 2 | cut -c1-200 | tr '\n' '|')"
	stop_chatc "$who"
done
note "ok: the split room was named and the room codes differ"
