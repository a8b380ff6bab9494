#!/bin/sh
# SPDX-License-Identifier: ISC
# An active attacker on the wire (tests/e2e/lib/proxy.py between both chatc's
# and relayd). Each case is one tampering with alice's third message to bob
# (bit flips in ciphertext, tag, sealed header, header nonce, version;
# truncation; drop; replay; reorder; reflection back to alice) or with a
# handshake (the proxy puts its own P-256 key into HS_INIT or HS_RESP; bit
# flips in the sealed handshake messages; each handshake message reflected to
# its sender; the first message of a new ratchet chain lost). Every case must end with a
# WARN (or ERROR) at the victim, and nothing false shown: every MSG line is
# one alice really sent, once. Since issue 13 the attacked message is not
# acknowledged, so alice sends it again: all of them are shown, in order.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins
K=6			# messages alice sends in each case; the 3rd is attacked

start_relay relay
start_keyd alice
start_keyd bob
fa=$(fpr_of alice) fb=$(fpr_of bob)
i=0
while [ $i -lt $K ]; do i=$((i + 1)); echo "MSG alice message $i of $K, unaltered ✓"; done >"$W/sent"

# run_case NAME ATTACK: fresh proxy, fresh room, alice first (conn 0), bob second.
rc_prev=""
run_case() {
	rc_name=$1 rc_attack=$2
	# The previous case's proxy has done its job.
	if [ -n "$rc_prev" ]; then kill "$rc_prev" 2>/dev/null; wait "$rc_prev" 2>/dev/null; fi
	start_proxy "px_$rc_name" "$relay_PORT" --attack "$rc_attack"
	eval "rc_prev=\$px_${rc_name}_PID"
	eval "rc_port=\$px_${rc_name}_PORT"
	chat alice "attack-$rc_name" "$rc_port"
	must_line "$W/px_$rc_name.log" 'conn 0 member' 1 10
	chat bob "attack-$rc_name" "$rc_port"
}

# data_case NAME ACTION DELIVERED VICTIM [ERE] [FROM]: attack the 3rd DATA
# frame FROM (alice, the responder, conn 0 by default; or bob, the initiator,
# conn 1) sends to the other; the VICTIM must say WARN or ERROR (matching ERE,
# case-insensitive, if given).
data_case() {
	dc_name=$1 dc_action=$2 dc_want=$3 dc_victim=$4 dc_ere=${5:-.} dc_from=${6:-alice}
	if [ "$dc_from" = alice ]; then dc_to=bob dc_conn=0; else dc_to=alice dc_conn=1; fi
	run_case "$dc_name" "$dc_action:$dc_conn:3"
	must_line "$W/alice.out" '^SECURE bob ' 1 15
	must_line "$W/bob.out" '^SECURE alice ' 1 15
	sed "s/^MSG alice //" "$W/sent" >"$W/$dc_from.in"
	must_line "$W/px_$dc_name.log" "attack $dc_action conn $dc_conn frame 3 done" 1 10
	must_line "$W/$dc_victim.out" '^(WARN|ERROR) ' 1 10
	must_line "$W/$dc_to.out" "^MSG $dc_from " "$dc_want" 10
	# Everything was sent through the proxy before we judge.
	must_line "$W/px_$dc_name.log" "conn $dc_conn c2r DATA" "$K" 10
	stop_chatc "$dc_from"
	must_line "$W/$dc_to.out" "^LEFT $dc_from\$" 1 10
	stop_chatc "$dc_to"
	sed "s/^MSG alice /MSG $dc_from /" "$W/sent" >"$W/sent.$dc_from"
	grep '^MSG ' "$W/$dc_to.out" >"$W/got" || true
	if grep -v -x -F -f "$W/sent.$dc_from" "$W/got" >"$W/false"; then
		fail "$dc_name: $dc_to was shown a message $dc_from never sent: $(head -n 2 "$W/false")"
	fi
	[ "$(sort "$W/got" | uniq -d | wc -l)" -eq 0 ] || fail "$dc_name: a message was shown twice"
	exactly "$W/$dc_to.out" '^MSG ' "$dc_want"
	if [ "$dc_want" -lt $K ]; then
		no_line "$W/$dc_to.out" "^MSG $dc_from message 3 of $K"
	fi
	# In the order they were sent.
	grep -x -F -f "$W/got" "$W/sent.$dc_from" | cmp -s - "$W/got" || fail "$dc_name: messages out of order"
	no_line "$W/$dc_from.out" '^MSG '
	grep -E '^(WARN|ERROR) ' "$W/$dc_victim.out" | grep -q -i -E -e "$dc_ere" ||
		fail "$dc_name: no WARN/ERROR at $dc_victim matching /$dc_ere/"
	note "case $dc_name: $(grep -c '^MSG ' "$W/got")/$K delivered; $dc_victim said: $(grep -E '^(WARN|ERROR) ' "$W/$dc_victim.out" | head -n 2 | tr '\n' '|')"
}

data_case flipct    flip-ct        $K         bob
data_case fliptag   flip-tag       $K         bob
data_case flipctr   flip-ctr       $K         bob
data_case flipepoch flip-epoch     $K         bob
data_case flipver   flip-ver       $K         bob
data_case trunc     truncate       $K         bob
data_case truncs    truncate-short $K         bob
data_case drop      drop           $K         bob 'miss|gap|drop|lost|skip'
data_case replay    replay         $K         bob
data_case replayl   replay-late    $K         bob
data_case reorder   reorder        $K         bob
data_case reflect   reflect        $K         alice
# The other direction (initiator to responder: the other chain key).
data_case bflipct   flip-ct        $K         alice . bob
data_case breplay   replay-late    $K         alice . bob
data_case breflect  reflect        $K         bob   . bob

# hs_case NAME ATTACK [bob-may-be-secure]: the handshake must fail; no
# session at alice (the responder), no message anywhere. Only when HS_FIN,
# the last message, is tampered with may bob (who already checked alice's
# signed HS_RESP) show SECURE; what he then sends must not show at alice.
# The side that failed starts one new handshake of its own (PROTOCOL.md 2.1);
# the proxy tampers only once, so that one may succeed: it is waited for
# only after the checks, which look at the first 0.5 s.
hs_case() {
	hs_name=$1 hs_bob_ok=${3:-no}
	run_case "$hs_name" "$2"
	must_line "$W/px_$hs_name.log" "attack .* done" 1 10
	hs_victim=bob
	case $2 in flip-fin:*) hs_victim=alice ;; esac
	must_line "$W/$hs_victim.out" '^(WARN|ERROR) ' 1 10
	e2e_alive alice && printf 'alice after a tampered handshake\n' >"$W/alice.in"
	e2e_alive bob && printf 'bob after a tampered handshake\n' >"$W/bob.in"
	# bob secure (after his own new handshake, if his first failed) means alice is too, soon.
	if [ "$hs_bob_ok" = no ] && wait_line "$W/bob.out" '^SECURE ' 1 0.5; then
		wait_line "$W/alice.out" '^SECURE ' 1 5 ||
			fail "$hs_name: bob shows a session alice does not have"
	fi
	# Whatever was typed during the failed handshake is never shown as sent by someone else.
	close_input alice; close_input bob
	wait_exit "$alice_PID" 20 || fail "$hs_name: alice did not exit on EOF"
	wait_exit "$bob_PID" 20 || fail "$hs_name: bob did not exit on EOF"
	[ "$(count "$W/alice.out" '^MSG ')" -eq "$(count "$W/alice.out" '^MSG bob bob after a tampered handshake$')" ] ||
		fail "$hs_name: alice shows a false message"
	[ "$(count "$W/bob.out" '^MSG ')" -eq "$(count "$W/bob.out" '^MSG alice alice after a tampered handshake$')" ] ||
		fail "$hs_name: bob shows a false message"
	grep -q -E "^WARN handshake with member [0-9]+ failed: .*; starting a new handshake\$" "$W/$hs_victim.out" ||
		fail "$hs_name: $hs_victim did not say the handshake failed and start a new one"
	note "case $hs_name: refused; $hs_victim said: $(grep -E '^(WARN|ERROR) ' "$W/$hs_victim.out" | head -n 2 | tr '\n' '|')"
}
# bob is the newcomer, so the initiator: HS_INIT and HS_FIN come from conn 1,
# HS_RESP from conn 0.
hs_case swapinit swap-init:1:1
hs_case swapresp swap-resp:0:1
hs_case flipresp flip-resp:0:1
hs_case flipfin  flip-fin:1:1 bob-may-be-secure

# reflect_case NAME ATTACK: a handshake message is also sent back to its own
# sender. The session may survive or fail, but nothing false may show: any
# SECURE names the peer's real fingerprint, any MSG is one the peer sent, and
# the odd message is reported with a WARN.
reflect_case() {
	rf_name=$1
	run_case "$rf_name" "$2"
	must_line "$W/px_$rf_name.log" "attack .* done" 1 10
	rf_end=$(( $(date +%s) + 10 ))
	until [ "$(cat "$W/alice.out" "$W/bob.out" | grep -c '^WARN ')" -gt 0 ]; do
		[ "$(date +%s)" -gt "$rf_end" ] && fail "$rf_name: neither side said WARN"
		sleep 0.05
	done
	wait_line "$W/bob.out" '^SECURE ' 1 0.5
	e2e_alive alice && printf 'alice on %s\n' "$rf_name" >"$W/alice.in"
	e2e_alive bob && printf 'bob on %s\n' "$rf_name" >"$W/bob.in"
	wait_line "$W/bob.out" '^MSG ' 1 0.5
	wait_line "$W/alice.out" '^MSG ' 1 0.5
	close_input alice; close_input bob
	wait_exit "$alice_PID" 10 || fail "$rf_name: alice did not exit on EOF"
	wait_exit "$bob_PID" 10 || fail "$rf_name: bob did not exit on EOF"
	[ "$(count "$W/alice.out" '^SECURE ')" -eq "$(count "$W/alice.out" "^SECURE bob $fb ")" ] ||
		fail "$rf_name: alice shows a session that is not bob's: $(grep '^SECURE' "$W/alice.out")"
	[ "$(count "$W/bob.out" '^SECURE ')" -eq "$(count "$W/bob.out" "^SECURE alice $fa ")" ] ||
		fail "$rf_name: bob shows a session that is not alice's: $(grep '^SECURE' "$W/bob.out")"
	[ "$(count "$W/alice.out" '^MSG ')" -eq "$(count "$W/alice.out" "^MSG bob bob on $rf_name\$")" ] ||
		fail "$rf_name: alice shows a false message"
	[ "$(count "$W/bob.out" '^MSG ')" -eq "$(count "$W/bob.out" "^MSG alice alice on $rf_name\$")" ] ||
		fail "$rf_name: bob shows a false message"
	exactly "$W/alice.out" '^MSG ' "$(count "$W/alice.out" '^MSG ' | sed 's/^[1-9][0-9]*$/1/')"
	exactly "$W/bob.out" '^MSG ' "$(count "$W/bob.out" '^MSG ' | sed 's/^[1-9][0-9]*$/1/')"
	rf_out="secure: alice $(count "$W/alice.out" '^SECURE ') bob $(count "$W/bob.out" '^SECURE '); delivered: to bob $(count "$W/bob.out" '^MSG '), to alice $(count "$W/alice.out" '^MSG ')"
	if [ "$(count "$W/alice.out" '^SECURE ')" -ne "$(count "$W/bob.out" '^SECURE ')" ]; then
		note "notice: $rf_name leaves a one-sided session ($rf_out); the side that thinks it is secure is not told"
	fi
	note "case $rf_name: nothing false shown ($rf_out)"
}
# HS_INIT and HS_FIN come from bob (conn 1), HS_RESP from alice.
reflect_case rflinit reflect-init:1:1
reflect_case rflresp reflect-resp:0:1
reflect_case rflfin  reflect-fin:1:1

# step_case NAME FROM TO ATTACK: the proxy drops FROM's first DATA: the
# first message of a new chain (alice, the responder: her chain r0, no DH
# yet; bob, the initiator: his first ratchet step). FROM's next message of
# that chain still opens, the loss shows as a gap at TO, nothing false shows;
# then they take turns (a ratchet step at every change of speaker, PROTOCOL.md
# 2.3) and a /rekey (a PING) comes back as "rekeyed".
step_case() {
	sc_name=$1 sc_from=$2 sc_to=$3
	run_case "$sc_name" "$4"
	must_line "$W/alice.out" '^SECURE bob ' 1 15
	must_line "$W/bob.out" '^SECURE alice ' 1 15
	say "$sc_from" "$sc_from first, lost"
	must_line "$W/px_$sc_name.log" "attack .* done" 1 10
	say "$sc_from" "$sc_from second"
	must_line "$W/$sc_to.out" "^MSG $sc_from $sc_from second\$" 1 10
	must_line "$W/$sc_to.out" "^WARN 1 message\\(s\\) from $sc_from missing" 1 10
	for i in 1 2 3; do
		say "$sc_to" "$sc_to turn $i"
		must_line "$W/$sc_from.out" "^MSG $sc_to $sc_to turn $i\$" 1 10
		say "$sc_from" "$sc_from turn $i"
		must_line "$W/$sc_to.out" "^MSG $sc_from $sc_from turn $i\$" 1 10
	done
	say "$sc_from" /rekey
	must_line "$W/$sc_from.err" "^INFO rekeyed with $sc_to\$" 1 10
	close_input alice; close_input bob
	wait_exit "$alice_PID" 10 || fail "$sc_name: alice did not exit on EOF"
	wait_exit "$bob_PID" 10 || fail "$sc_name: bob did not exit on EOF"
	# Issue 13: the lost one is sent again (its PING's PONG shows it lost) and
	# shown once, before the second.
	exactly "$W/$sc_to.out" "^MSG $sc_from $sc_from first, lost\$" 1
	grep '^MSG ' "$W/$sc_to.out" | head -n 2 | tr '\n' '|' |
	    grep -q "^MSG $sc_from $sc_from first, lost|MSG $sc_from $sc_from second|\$" ||
		fail "$sc_name: the lost first message was not shown first, before the second"
	exactly "$W/$sc_to.out" '^MSG ' 5
	exactly "$W/$sc_from.out" '^MSG ' 3
	[ "$(grep '^MSG ' "$W/$sc_to.out" | sort | uniq -d | wc -l)" -eq 0 ] || fail "$sc_name: shown twice"
	exactly "$W/alice.out" '^SECURE bob ' 1
	exactly "$W/bob.out" '^SECURE alice ' 1
	no_line "$W/alice.out" '^ERROR '
	no_line "$W/bob.out" '^ERROR '
	note "case $sc_name: the lost first message of a chain shown as a gap, sent again, the session went on"
}
step_case stepr0 alice bob drop:0:1
step_case stepi1 bob alice drop:1:1
note "ok: 15 tamperings of data, 9 of handshakes, 2 lost first messages of a chain: all refused or recovered (and sent again), nothing false shown"
