#!/bin/sh
# SPDX-License-Identifier: ISC
# Four people in one room: everyone gets a secure session with each of the
# other three and sees every message of the others exactly once (never their
# own). A second room on the same relay at the same time: nothing crosses
# between the two rooms, not a session, not a message.
. "$E2E_LIB/common.sh"
need_bins
A="alice bob carol dave"
B="erin frank"

start_relay relay
for who in $A $B; do start_keyd "$who"; done
for who in $A; do chat "$who" room-one "$relay_PORT"; done
for who in $B; do chat "$who" room-two "$relay_PORT"; done

for who in $A; do must_line "$W/$who.out" '^SECURE ' 3 20; done
for who in $B; do must_line "$W/$who.out" '^SECURE ' 1 20; done
for who in $A; do
	for peer in $A; do
		[ "$peer" = "$who" ] && continue
		exactly "$W/$who.out" "^SECURE $peer [^ ]+ new$" 1
	done
done
exactly "$W/erin.out" '^SECURE frank [^ ]+ new$' 1
exactly "$W/frank.out" '^SECURE erin [^ ]+ new$' 1

# Three messages from each, all in flight at once.
for who in $A $B; do
	say "$who" "from $who one, to my room"
	say "$who" "from $who two ✓"
	say "$who" "from $who three"
done
for who in $A; do must_line "$W/$who.out" '^MSG ' 9 20; done
for who in $B; do must_line "$W/$who.out" '^MSG ' 3 20; done

for who in $A; do
	exactly "$W/$who.out" "^MSG $who " 0
	for peer in $A; do
		[ "$peer" = "$who" ] && continue
		grep "^MSG $peer " "$W/$who.out" >"$W/got" || true
		printf 'MSG %s from %s one, to my room\nMSG %s from %s two ✓\nMSG %s from %s three\n' \
		    "$peer" "$peer" "$peer" "$peer" "$peer" "$peer" >"$W/want"
		cmp -s "$W/got" "$W/want" || fail "$who did not get $peer's three messages in order"
	done
	for other in $B; do no_line "$W/$who.out" "(^| )$other( |$)"; done
done
for who in $B; do
	for other in $A; do no_line "$W/$who.out" "(^| )$other( |$)"; done
done
exactly "$W/erin.out" '^MSG frank ' 3
exactly "$W/frank.out" '^MSG erin ' 3

# One leaves room one: the three others see LEFT, room two sees nothing.
stop_chatc carol
for who in alice bob dave; do must_line "$W/$who.out" '^LEFT carol$' 1 10; done
for who in $B; do no_line "$W/$who.out" '^LEFT'; done
for who in $A $B; do no_line "$W/$who.out" '^(WARN|ERROR)'; done
for who in alice bob dave erin frank; do stop_chatc "$who"; done
note "ok: 4 in room one (12 sessions, 36 messages), 2 in room two, isolated"
