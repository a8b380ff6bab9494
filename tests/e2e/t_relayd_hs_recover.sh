#!/bin/sh
# SPDX-License-Identifier: ISC
# After a tampered HS_CONFIRM the responder (alice) holds a secure session
# and the initiator (bob) does not. bob's /rekey starts a fresh handshake;
# alice answers it in a second keyd session while the first stays in use, and
# switches once it completes: both end up secure and talk again.
# After a tampered HS_FIN alice has no session and bob waits for an
# HS_CONFIRM that never comes: his handshake times out (15 s), and /rekey
# then recovers the same way. And a handshake message reflected back to its
# sender (not this step's) is ignored, not fatal: the real one completes the
# handshake on both sides. A session whose rekey message was lost recovers
# on the same session: the next /rekey sends the same REKEY_INIT again and
# the peer answers it (or repeats its answer), PROTOCOL.md 2.4.
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
start_keyd alice
start_keyd bob
start_proxy px "$relay_PORT" --attack flip-confirm:0:1
chat alice recover "$px_PORT"
must_line "$W/px.log" 'conn 0 member' 1 10
chat bob recover "$px_PORT"
must_line "$W/px.log" 'attack flip-confirm conn 0 frame 1 done' 1 15
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^(WARN|ERROR) ' 1 10
no_line "$W/bob.out" '^SECURE '

# bob starts again; the proxy tampers only once.
say bob /rekey
must_line "$W/bob.out" '^SECURE alice ' 1 15
must_line "$W/alice.out" '^SECURE bob ' 2 15
say alice 'after the new handshake'
must_line "$W/bob.out" '^MSG alice after the new handshake$' 1 10
say bob 'and back'
must_line "$W/alice.out" '^MSG bob and back$' 1 10

stop_chatc bob
must_line "$W/alice.out" '^LEFT bob$' 1 10
stop_chatc alice
no_line "$W/alice.out" '^ERROR '
no_line "$W/bob.out" '^ERROR '

# A tampered HS_FIN: alice (responder) refuses it, bob is left waiting.
start_proxy px2 "$relay_PORT" --attack flip-fin:1:1
chat alice recover2 "$px2_PORT"
must_line "$W/px2.log" 'conn 0 member' 1 10
chat bob recover2 "$px2_PORT"
must_line "$W/px2.log" 'attack flip-fin conn 1 frame 1 done' 1 15
must_line "$W/alice.out" '^WARN ' 1 10
must_line "$W/bob.out" '^WARN handshake with .* timed out' 1 25
no_line "$W/alice.out" '^SECURE '
no_line "$W/bob.out" '^SECURE '
say bob /rekey
must_line "$W/bob.out" '^SECURE alice ' 1 15
must_line "$W/alice.out" '^SECURE bob ' 1 15
say bob 'after the timeout'
must_line "$W/alice.out" '^MSG bob after the timeout$' 1 10
stop_chatc bob
stop_chatc alice
no_line "$W/alice.out" '^ERROR '
no_line "$W/bob.out" '^ERROR '

# bob's HS_FIN also comes back to bob, and alice's HS_RESP back to alice.
for rf in reflect-fin:1:1 reflect-resp:0:1; do
	rf_n=$(echo "$rf" | tr -d ':-')
	start_proxy "px_$rf_n" "$relay_PORT" --attack "$rf"
	eval "rf_port=\$px_${rf_n}_PORT"
	chat alice "$rf_n" "$rf_port"
	must_line "$W/px_$rf_n.log" 'conn 0 member' 1 10
	chat bob "$rf_n" "$rf_port"
	must_line "$W/px_$rf_n.log" "attack .* done" 1 15
	must_line "$W/bob.out" '^SECURE alice ' 1 15
	must_line "$W/alice.out" '^SECURE bob ' 1 15
	cat "$W/alice.out" "$W/bob.out" | grep -q '^WARN .*unexpected handshake' ||
		fail "$rf: the reflected message was not reported"
	say alice "after $rf"
	must_line "$W/bob.out" "^MSG alice after $rf\$" 1 10
	stop_chatc bob
	stop_chatc alice
done

# A lost REKEY_INIT (alice's first DATA) or REKEY_RESP (bob's first): alice's
# next /rekey resends her REKEY_INIT, the rekey completes on the same
# session (no new handshake), and both sides talk again in the new epoch.
for rk in drop:0:1 drop:1:1; do
	rk_n=$(echo "$rk" | tr -d ':')
	start_proxy "px_$rk_n" "$relay_PORT" --attack "$rk"
	eval "rk_port=\$px_${rk_n}_PORT"
	chat alice "$rk_n" "$rk_port"
	must_line "$W/px_$rk_n.log" 'conn 0 member' 1 10
	chat bob "$rk_n" "$rk_port"
	must_line "$W/alice.out" '^SECURE bob ' 1 15
	must_line "$W/bob.out" '^SECURE alice ' 1 15
	say alice /rekey
	must_line "$W/px_$rk_n.log" "attack .* done" 1 10
	say alice /rekey
	must_line "$W/alice.out" '^WARN rekeyed with bob \(epoch 1\)' 1 10
	must_line "$W/bob.out" '^WARN rekeyed with alice \(epoch 1\)' 1 10
	no_line "$W/alice.out" '^WARN .*starting a new handshake'
	exactly "$W/alice.out" '^SECURE bob ' 1
	exactly "$W/bob.out" '^SECURE alice ' 1
	say alice "alice after $rk"
	must_line "$W/bob.out" "^MSG alice alice after $rk\$" 1 10
	say bob "bob after $rk"
	must_line "$W/alice.out" "^MSG bob bob after $rk\$" 1 10
	stop_chatc bob
	stop_chatc alice
done
note "ok: a failed HS_CONFIRM or HS_FIN recovered by a fresh handshake (/rekey), a lost rekey message by its retransmission; reflected handshake messages ignored"
