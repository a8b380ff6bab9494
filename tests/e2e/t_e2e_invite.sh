#!/bin/sh
# SPDX-License-Identifier: ISC
# Rooms by invite code and by name (issue 12, finding 4; PROTOCOL.md 4.1,
# 4.2): `chatc --new-room` prints one code on stdout (only the code: a
# script takes it as is) and a line for people on stderr; two people who
# --join it meet, at the relay the code names (no --relay needed); a code
# is a fresh secret each time (two codes, two rooms that never meet); a
# mistyped or truncated code is a usage error (exit 2) that says so; --room
# NAME still works (Argon2id over the name), with a WARN when the name is
# shorter than 16 bytes and none for a long one. Over TLS (issue 14) the
# code carries the relay's key: who joins by it accepts only that key (a code
# naming another key is refused, both fingerprints said), and a room name is
# salted with the key the link proved (with --relay-fp at start-up, else
# after the first TLS handshake pinned it in known_relays: both meet either
# way). Against 0.1.0 (BIN=/work/baseline-bin) --new-room is an unknown
# option (exit 2).
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
for who in alice bob carol; do start_keyd "$who"; done

note "--new-room"
# shellcheck disable=SC2086
"$BIN/chatc" --new-room --relay "127.0.0.1:$relay_PORT" ${RELAY_FP:+--relay-fp "$RELAY_FP"} \
    >"$W/code" 2>"$W/code.err"
rc=$?
[ $rc -eq 0 ] || fail "chatc --new-room exited $rc: $(cat "$W/code.err")"
[ "$(wc -l <"$W/code")" -eq 1 ] || fail "--new-room printed more than the code on stdout: $(cat "$W/code")"
code=$(cat "$W/code")
echo "$code" | grep -q -E '^veil:[A-Za-z0-9_-]+$' || fail "not a code: $code"
grep -q -e '--join' "$W/code.err" || fail "no line for people on stderr: $(cat "$W/code.err")"
note "stderr said: $(cat "$W/code.err")"
"$BIN/chatc" --new-room --relay "127.0.0.1:$relay_PORT" >"$W/code2" 2>/dev/null
code2=$(cat "$W/code2")
[ "$code" != "$code2" ] || fail "two --new-room gave the same code"

note "--join: the code's relay, no --relay"
start_chatc alice --join "$code" --nick alice --keyd "$alice_SOCK"
start_chatc bob --join "$code" --nick bob --keyd "$bob_SOCK"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
say alice "hello by invite"
must_line "$W/bob.out" '^MSG alice hello by invite$' 1 10
no_line "$W/alice.out" '^WARN '
# Another code is another room: carol never meets them.
start_chatc carol --join "$code2" --nick carol --keyd "$carol_SOCK"
wait_line "$W/carol.out" '^SECURE ' 1 2 && fail "carol, with another code, met someone"
wait_line "$W/alice.out" '^SECURE carol' 1 0.5 && fail "alice met carol of another room"
stop_chatc carol
stop_chatc bob
stop_chatc alice
if [ -n "$RELAY_FP" ]; then
	note "a code that pins another key: refused, nothing sent"
	other=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
	"$BIN/chatc" --new-room --relay "127.0.0.1:$relay_PORT" --relay-fp "$other" \
	    >"$W/code3" 2>/dev/null || fail "--new-room with a fingerprint failed"
	start_chatc carol --join "$(cat "$W/code3")" --nick carol --keyd "$carol_SOCK"
	must_line "$W/carol.out" '^ERROR the relay at ' 1 10
	grep '^ERROR' "$W/carol.out" | grep -q -F "presented the key $RELAY_FP, but the invite code pins $other" ||
		fail "the refusal does not name both keys: $(grep '^ERROR' "$W/carol.out")"
	wait_exit "$carol_PID" 10 || fail "chatc went on with a relay the code does not pin"
	no_line "$W/carol.out" '^SECURE '
fi

note "bad codes: usage errors that say so"
typo=$(printf '%s' "$code" | sed 's/^\(veil:..........\)\(.\)/\1\2\2/')
short=$(printf '%s' "$code" | cut -c1-30)
for bad in "$typo" "$short" "veil:" "nonsense"; do
	"$BIN/chatc" --join "$bad" --nick alice --keyd "$alice_SOCK" --batch </dev/null \
	    >"$W/bad.out" 2>"$W/bad.err"
	rc=$?
	[ $rc -eq 2 ] || fail "chatc --join '$bad' exited $rc, not 2"
	grep -q 'not a veil invite code' "$W/bad.err" || fail "--join '$bad' said: $(cat "$W/bad.err")"
done
note "a typo said: $(head -n 1 "$W/bad.err")"

note "--room NAME: a short name warns, a long one does not"
# shellcheck disable=SC2086
start_chatc alice --room lounge --nick alice --relay "127.0.0.1:$relay_PORT" --keyd "$alice_SOCK" \
    $CHATC_LINK
# shellcheck disable=SC2086
start_chatc bob --room lounge --nick bob --relay "127.0.0.1:$relay_PORT" --keyd "$bob_SOCK" \
    $CHATC_LINK
must_line "$W/alice.out" '^WARN room name is short \(6 bytes\): anyone who guesses it can join, and the relay can try names offline; chatc --new-room makes an invite code$' 1 10
must_line "$W/alice.out" '^SECURE bob ' 1 15
stop_chatc bob
stop_chatc alice
long="a quiet corner of the library, third floor"
start_chatc alice --room "$long" --nick alice --relay "127.0.0.1:$relay_PORT" --keyd "$alice_SOCK"
start_chatc bob --room "$long" --nick bob --relay "127.0.0.1:$relay_PORT" --keyd "$bob_SOCK"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
# No WARN but the first-use pin of the relay's key (no --relay-fp here).
grep '^WARN ' "$W/alice.out" "$W/bob.out" | grep -v 'first connection to the relay' &&
	fail "an unexpected WARN"
stop_chatc bob
stop_chatc alice
note "ok: codes make rooms, --join finds them, bad codes refused, short names warned"
