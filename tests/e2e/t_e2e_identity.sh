#!/bin/sh
# SPDX-License-Identifier: ISC
# Identities: the fingerprint in SECURE is exactly what `keyd --fingerprint`
# prints on the peer's side; first meeting "new", then "pinned"; a changed
# identity behind a pinned nickname is refused with a WARN naming the nick and
# both fingerprints (in either role), and nothing is sent to it; a wrong
# --expect is refused, a right one gives "expected"; /verify shows the same
# safety number on both sides; `keyd --forget` allows
# the new identity on purpose; bad --nick / --expect are usage errors (exit 2).
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
chat_bob2() { start_chatc bob2 --room "$1" --nick bob --relay "127.0.0.1:$relay_PORT" --keyd "$bob2_SOCK"; }

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
grep -q -F "$fb" "$W/alice.err" && grep -q -F "$fa" "$W/alice.err" ||
	fail "/verify does not show both fingerprints: $(cat "$W/alice.err")"
no_line "$W/alice.out" '^(MSG|WARN|ERROR)'
note "safety number (both sides): $sa"
stop_chatc alice; stop_chatc bob

note "second meeting: pinned"
secure_pair alice bob meet2 "$relay_PORT"
exactly "$W/alice.out" "^SECURE bob $fb pinned\$" 1
exactly "$W/bob.out" "^SECURE alice $fa pinned\$" 1
stop_chatc alice; stop_chatc bob

# alice goes through a proxy in the changed-identity cases: her connection
# must carry handshake messages only, never one DATA message.
start_proxy proxy "$relay_PORT"

note "bob's identity changed; alice already in the room (alice responds)"
chat alice changed1 "$proxy_PORT"
must_line "$W/proxy.log" 'conn 0 member' 1 10
chat_bob2 changed1
must_line "$W/alice.out" '^(WARN|ERROR) .*bob' 1 15
mentions "$W/alice.out" "$fb" || fail "the refusal does not name the pinned fingerprint $fb"
mentions "$W/alice.out" "$fb2" || fail "the refusal does not name the new fingerprint $fb2"
say alice "for the real bob only"
wait_line "$W/bob2.out" '^MSG ' 1 0.5 && fail "a message reached the impostor"
no_line "$W/alice.out" '^SECURE '
no_line "$W/bob2.out" '^SECURE '
close_input alice; close_input bob2
wait_exit "$alice_PID" 10 || fail "alice did not exit"
wait_exit "$bob2_PID" 10 || fail "bob2 did not exit"
no_line "$W/bob2.out" '^MSG '

must_line "$W/proxy.log" 'conn 0 c2r HS_' 1 5
no_line "$W/proxy.log" 'conn 0 c2r DATA'

note "bob's identity changed; alice joins second (alice initiates)"
chat_bob2 changed2
chat alice changed2 "$proxy_PORT"
must_line "$W/alice.out" '^(WARN|ERROR) .*bob' 1 15
mentions "$W/alice.out" "$fb" || fail "the refusal does not name the pinned fingerprint $fb"
mentions "$W/alice.out" "$fb2" || fail "the refusal does not name the new fingerprint $fb2"
say alice "for the real bob only, again"
wait_line "$W/bob2.out" '^MSG ' 1 0.5 && fail "a message reached the impostor"
no_line "$W/alice.out" '^SECURE '
no_line "$W/bob2.out" '^SECURE '
close_input alice; close_input bob2
wait_exit "$alice_PID" 10 || fail "alice did not exit"
wait_exit "$bob2_PID" 10 || fail "bob2 did not exit"
no_line "$W/bob2.out" '^MSG '
must_line "$W/proxy.log" 'conn 1 c2r HS_INIT' 1 5
no_line "$W/proxy.log" 'conn 1 c2r (DATA|HS_FIN)'
[ "$(fpr_of bob)" = "$fb" ] || fail "bob's own fingerprint changed"

note "wrong --expect refused (carol has never met bob)"
wrong=$($PY -c 'import secrets; h=secrets.token_hex(20); print(":".join(h[i:i+4] for i in range(0,40,4)))')
chat bob expect1 "$relay_PORT"
chat carol expect1 "$relay_PORT" --expect "bob=$wrong"
must_line "$W/carol.out" '^(WARN|ERROR) .*bob' 1 15
say carol "not for an unexpected bob"
wait_line "$W/bob.out" '^(MSG|SECURE) ' 1 1 && fail "bob got a session or message from carol despite the wrong --expect"
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

note "keyd --forget bob: the new identity is accepted as new, on purpose"
"$BIN/keyd" --forget bob --home "$alice_HOME" >"$W/forget.out" 2>&1 || fail "keyd --forget failed: $(cat "$W/forget.out")"
grep -q -i -F -e "$fb" -e bob "$W/forget.out" || fail "keyd --forget did not say what it did: $(cat "$W/forget.out")"
chat alice forgot "$relay_PORT"
chat_bob2 forgot
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
note "ok: fingerprints match, TOFU pins, changed identity refused both ways, --expect honoured"
