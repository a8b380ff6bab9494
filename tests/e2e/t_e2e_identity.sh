#!/bin/sh
# SPDX-License-Identifier: ISC
# Identities: the fingerprint in SECURE is exactly what `keyd --fingerprint`
# prints on the peer's side; first meeting "new", then "pinned" (in any
# room); a changed identity behind a nickname pinned in that room is refused
# with a WARN naming the nick, both fingerprints and `keyd --trust` (never
# --forget), in either role, and nothing is sent to it (the refused side
# sees a complete handshake: the wire never shows a refusal, PROTOCOL.md
# 2.2); `keyd --trust bob=FP` while alice's chatc runs is picked up within
# seconds (a new handshake, SECURE ... verified), and so is `keyd --forget`
# of that key (refused again: bob's old pin in that room counts again); a wrong --expect is
# refused, a right one gives "expected"; /verify shows the same 14-group
# safety number on both sides; `keyd --forget` also lets a new identity in,
# as new; bad --nick / --expect / --join are usage errors (exit 2).
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
for who in alice bob bob2 carol; do start_keyd "$who"; done
fa=$(fpr_of alice) fb=$(fpr_of bob) fb2=$(fpr_of bob2)
[ -n "$fa" ] && [ -n "$fb" ] && [ -n "$fb2" ] || fail "keyd --fingerprint printed nothing"
[ "$fb" != "$fb2" ] || fail "two homes gave the same fingerprint"
[ "$(fpr_of bob)" = "$fb" ] || fail "keyd --fingerprint is not stable"
case $fb in *" "*) fail "fingerprint is not one word: '$fb'" ;; esac

# mentions FILE FPR: some WARN/ERROR line names FPR (as printed, or bare hex).
mentions() {
	mn_hex=$(printf '%s' "$2" | tr -cd '0-9a-fA-F')
	grep -E '^(WARN|ERROR) ' "$1" | grep -q -i -F -e "$2" -e "$mn_hex"
}
# bob2 runs with the nickname bob.
chat_bob2() {
	room_args "$1"
	# shellcheck disable=SC2086
	start_chatc bob2 "$RA1" "$RA2" --nick bob --relay "127.0.0.1:$relay_PORT" --keyd "$bob2_SOCK" \
	    $CHATC_LINK
}
# refusal FILE: alice's refusal of bob2 names both fingerprints and keyd --trust, not --forget.
refusal() {
	must_line "$1" "^WARN refused bob: " 1 15
	mentions "$1" "$fb" || fail "the refusal does not name the pinned fingerprint $fb"
	mentions "$1" "$fb2" || fail "the refusal does not name the new fingerprint $fb2"
	grep '^WARN refused bob' "$1" | grep -q -F "keyd --trust bob=$fb2" ||
		fail "the refusal does not say what to do: $(grep '^WARN refused' "$1")"
	no_line "$1" 'forget'
}

note "first meeting: new, and the fingerprints are the peers' own"
secure_pair alice bob meet1 "$relay_PORT"
exactly "$W/alice.out" "^SECURE bob $fb new\$" 1
exactly "$W/bob.out" "^SECURE alice $fa new\$" 1
# /verify (batch: on stderr): both sides compute the same safety number, and
# name both fingerprints.
say alice "/verify bob"
say bob "/verify alice"
must_line "$W/alice.err" 'safety number' 1 10
must_line "$W/bob.err" 'safety number' 1 10
sa=$(sed -n 's/.*safety number[^:]*: *//p' "$W/alice.err" | head -n 1)
sb=$(sed -n 's/.*safety number[^:]*: *//p' "$W/bob.err" | head -n 1)
[ -n "$sa" ] && [ "$sa" = "$sb" ] || fail "safety numbers differ: alice '$sa', bob '$sb'"
echo "$sa" | grep -q -E '^([0-9]{5} ){13}[0-9]{5}$' || fail "not 14 groups of 5 digits: '$sa'"
grep -q -F "$fb" "$W/alice.err" && grep -q -F "$fa" "$W/alice.err" ||
	fail "/verify does not show both fingerprints: $(cat "$W/alice.err")"
no_line "$W/alice.out" '^(MSG|WARN|ERROR)'
note "safety number (both sides): $sa"
stop_chatc alice; stop_chatc bob

note "second meeting (another room): pinned"
secure_pair alice bob meet2 "$relay_PORT"
exactly "$W/alice.out" "^SECURE bob $fb pinned\$" 1
exactly "$W/bob.out" "^SECURE alice $fa pinned\$" 1
stop_chatc alice; stop_chatc bob

# alice goes through a proxy in the changed-identity cases: her connection
# must carry handshake messages only, never one DATA message. Both meet in
# meet2, where alice pinned bob (a nickname belongs to its room).
start_proxy proxy "$relay_PORT"

note "bob's identity changed; alice already in the room (alice responds)"
chat alice meet2 "$proxy_PORT"
must_line "$W/proxy.log" 'conn 0 member' 1 10
chat_bob2 meet2
refusal "$W/alice.out"
say alice "for the real bob only"
wait_line "$W/bob2.out" '^MSG ' 1 0.5 && fail "a message reached the impostor"
say bob2 "from the new key"
wait_line "$W/alice.out" '^MSG ' 1 0.5 && fail "alice shows a message from the refused key"
no_line "$W/alice.out" '^SECURE '
close_input alice; close_input bob2
wait_exit "$alice_PID" 10 || fail "alice did not exit"
wait_exit "$bob2_PID" 10 || fail "bob2 did not exit"
no_line "$W/bob2.out" '^MSG '
no_line "$W/alice.out" '^MSG '

must_line "$W/proxy.log" 'conn 0 c2r HS_RESP' 1 5
no_line "$W/proxy.log" 'conn 0 c2r DATA'

note "bob's identity changed; alice joins second (alice initiates), then keyd --trust while she runs"
chat_bob2 meet2
chat alice meet2 "$proxy_PORT"
refusal "$W/alice.out"
say alice "for the real bob only, again"
wait_line "$W/bob2.out" '^MSG ' 1 0.5 && fail "a message reached the impostor"
no_line "$W/alice.out" '^SECURE '
# The wire shows a complete handshake: HS_INIT and HS_FIN from alice, no DATA.
must_line "$W/proxy.log" 'conn 1 c2r HS_INIT' 1 5
must_line "$W/proxy.log" 'conn 1 c2r HS_FIN' 1 5
no_line "$W/proxy.log" 'conn 1 c2r DATA'
# bob really has a new key: alice compares fingerprints out of band, then trusts it.
t0=$(now_ms)
"$BIN/keyd" --trust "bob=$fb2" --home "$alice_HOME" >"$W/trust.out" 2>&1 ||
	fail "keyd --trust failed: $(cat "$W/trust.out")"
grep -q -F "$fb2" "$W/trust.out" || fail "keyd --trust did not say what it did: $(cat "$W/trust.out")"
must_line "$W/alice.out" "^SECURE bob $fb2 verified\$" 1 10
note "figure: keyd --trust picked up by the running chatc: SECURE ... verified after $(( $(now_ms) - t0 )) ms (REQ_STATUS every 2 s)"
say alice "for the new bob"
must_line "$W/bob2.out" '^MSG alice for the new bob$' 1 10
# The line alice typed while no session was secure was held (never sent to the
# refused key), and went out once she trusted the key: her decision.
exactly "$W/bob2.out" '^MSG alice for the real bob only, again$' 1
# And keyd --forget of that key while she runs: bob's old pin in this room
# counts again, so the new key is refused again, said again, sent nothing.
"$BIN/keyd" --forget "$fb2" --home "$alice_HOME" >"$W/forget0.out" 2>&1 ||
	fail "keyd --forget $fb2 failed: $(cat "$W/forget0.out")"
must_line "$W/alice.out" '^WARN keyd no longer accepts the key of bob \(known_peers changed\)' 1 10
must_line "$W/alice.out" '^WARN refused bob: ' 2 10
say alice "after the forget"
wait_line "$W/bob2.out" '^MSG alice after the forget$' 1 1 && fail "a message reached the key alice forgot"
close_input alice; close_input bob2
wait_exit "$alice_PID" 10 || fail "alice did not exit"
wait_exit "$bob2_PID" 10 || fail "bob2 did not exit"
[ "$(fpr_of bob)" = "$fb" ] || fail "bob's own fingerprint changed"

note "wrong --expect refused (carol has never met bob)"
wrong=$($PY -c 'import secrets; h=secrets.token_hex(20); print(":".join(h[i:i+4] for i in range(0,40,4)))')
chat bob expect1 "$relay_PORT"
chat carol expect1 "$relay_PORT" --expect "bob=$wrong"
must_line "$W/carol.out" '^(WARN|ERROR) .*bob' 1 15
say carol "not for an unexpected bob"
wait_line "$W/bob.out" '^MSG ' 1 1 && fail "bob got a message from carol despite the wrong --expect"
grep '^WARN refused bob' "$W/carol.out" | grep -q -F -e "$wrong" ||
	fail "the --expect refusal does not name the expected fingerprint"
no_line "$W/carol.out" '^SECURE '
close_input carol; close_input bob
wait_exit "$carol_PID" 10 || fail "carol did not exit"
wait_exit "$bob_PID" 10 || fail "bob did not exit"

note "right --expect: expected (carol fresh, alice with a pin)"
chat bob expect2 "$relay_PORT"
chat carol expect2 "$relay_PORT" --expect "bob=$fb"
chat alice expect2 "$relay_PORT" --expect "bob=$fb"
must_line "$W/carol.out" "^SECURE bob $fb expected\$" 1 15
must_line "$W/alice.out" "^SECURE bob $fb expected\$" 1 15
must_line "$W/alice.out" "^SECURE carol " 1 15
must_line "$W/bob.out" '^SECURE ' 2 15
say bob "hello both"
must_line "$W/carol.out" '^MSG bob hello both$' 1 10
must_line "$W/alice.out" '^MSG bob hello both$' 1 10
for who in alice carol bob; do stop_chatc "$who"; done

note "keyd --forget bob: every entry labelled bob goes; the key comes back as new"
"$BIN/keyd" --forget bob --home "$alice_HOME" >"$W/forget.out" 2>&1 || fail "keyd --forget failed: $(cat "$W/forget.out")"
grep -q -i -F -e "$fb" -e bob "$W/forget.out" || fail "keyd --forget did not say what it did: $(cat "$W/forget.out")"
chat alice meet2 "$relay_PORT"
chat_bob2 meet2
must_line "$W/alice.out" "^SECURE bob $fb2 new\$" 1 15
stop_chatc alice; stop_chatc bob2

note "usage errors"
for args in "--nick bad!nick" "--nick $($PY -c 'print("n"*33)')" "--nick alice --expect bob=nothex" \
    "--nick alice --expect bob" "--nick"; do
	# shellcheck disable=SC2086
	"$BIN/chatc" --room r --relay "127.0.0.1:$relay_PORT" --keyd "$alice_SOCK" --batch $args \
	    </dev/null >"$W/usage.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "chatc $args: exit $rc, wanted 2 (usage): $(head -n 2 "$W/usage.out")"
done
code=$(room_code meet1)
# (--join and --room together join both rooms: issue 16.)
for args in "--join veil:AAAA --nick a" "--join ${code}x --nick a" "--join $code --nick a stray"; do
	# shellcheck disable=SC2086
	"$BIN/chatc" --relay "127.0.0.1:$relay_PORT" --keyd "$alice_SOCK" --batch $args \
	    </dev/null >"$W/usage.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "chatc $args: exit $rc, wanted 2 (usage): $(head -n 2 "$W/usage.out")"
done
note "ok: fingerprints match, TOFU pins, changed identity refused both ways and trusted on purpose without a restart, --expect honoured"
