#!/bin/sh
# SPDX-License-Identifier: ISC
# Issue 12, finding 6: nicknames are labels of keys, scoped to their room
# (PROTOCOL.md 4, trust rules), with the hostile Python peer where a key of
# its own is needed.
#  a. mallory (another key) calls itself alice in alice's room: refused
#     plainly ("another key uses your own nickname", both fingerprints),
#     nothing sent to it, and not pinned.
#  b. alice's second window (a second chatc on her own keyd, same key, same
#     nick) is hers: SECURE ... verified, said to be her own key; they talk.
#  c. bob, pinned as bob, comes back as robert: SECURE robert ... pinned and
#     a WARN that this is the key alice knows as bob.
#  d. another key calls itself bob in another room: no alarm (nicknames
#     belong to their room): SECURE bob ... new, and an INFO line that it is
#     not the bob of the other room.
# Runs against 0.1.0 too (BIN=/work/baseline-bin): there (a) was accepted
# and pinned as a new alice, (c) showed robert as a stranger, (d) was
# refused as "identity of bob changed".
. "$E2E_LIB/common.sh"
need_bins
$PY -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"

start_relay relay
for who in alice bob bob2; do start_keyd "$who"; done
fa=$(fpr_of alice) fb=$(fpr_of bob) fb2=$(fpr_of bob2)

note "a. another key uses alice's own nickname"
chat alice names "$relay_PORT"
start_peer2 mallory names "$relay_PORT" --nick alice --hold 30
must_line "$W/mallory.json" '"what": "HS_FIN"' 1 10
fm=$(sed -n 's/.*"ev": "joined".*"fpr": "\([0-9a-f:]*\)".*/\1/p' "$W/mallory.json")
must_line "$W/alice.out" '^WARN ' 1 10
note "alice said: $(grep -E '^(WARN|SECURE)' "$W/alice.out" | head -n 1 | cut -c1-200)"
no_line "$W/alice.out" '^SECURE '
must_line "$W/alice.out" "^WARN refused alice: another key \\(fingerprint $fm\\) uses your own nickname \\(yours is $fa\\)" 1 1
"$BIN/keyd" --list --home "$alice_HOME" >"$W/list.a" 2>&1
grep -q -F "$fm" "$W/list.a" && fail "the impostor of alice's own name was pinned: $(cat "$W/list.a")"
stop_peer2 mallory

note "b. alice's second window, same keyd"
room_args names
start_chatc alice2 "$RA1" "$RA2" --nick alice --relay "127.0.0.1:$relay_PORT" --keyd "$alice_SOCK"
must_line "$W/alice2.out" "^SECURE alice $fa verified\$" 1 15
must_line "$W/alice.out" "^SECURE alice $fa verified\$" 1 15
must_line "$W/alice.err" '^alice is your own key \(another chatc of yours\)$' 1 5
say alice2 "from my other window"
must_line "$W/alice.out" '^MSG alice from my other window$' 1 10
stop_chatc alice2

note "c. bob, pinned as bob, comes back as robert"
chat bob names "$relay_PORT"
must_line "$W/alice.out" "^SECURE bob $fb new\$" 1 15
stop_chatc bob
must_line "$W/alice.out" '^LEFT bob$' 1 10
room_args names
start_chatc robert "$RA1" "$RA2" --nick robert --relay "127.0.0.1:$relay_PORT" --keyd "$bob_SOCK"
must_line "$W/alice.out" "^SECURE robert $fb pinned\$" 1 15
must_line "$W/alice.out" "^WARN robert \\(fingerprint $fb\\) is the key you know as bob\$" 1 5
stop_chatc robert
stop_chatc alice

note "d. another key calls itself bob in another room"
chat alice names-elsewhere "$relay_PORT"
room_args names-elsewhere
start_chatc bob2 "$RA1" "$RA2" --nick bob --relay "127.0.0.1:$relay_PORT" --keyd "$bob2_SOCK"
must_line "$W/alice.out" '^(SECURE|WARN) ' 1 15
note "alice said: $(grep -E '^(WARN|SECURE)' "$W/alice.out" | head -n 1 | cut -c1-200)"
must_line "$W/alice.out" "^SECURE bob $fb2 new\$" 1 5
no_line "$W/alice.out" '^WARN '
must_line "$W/alice.err" "^bob here \\(fingerprint $fb2\\) is not the bob you know from another room \\(fingerprint $fb\\)" 1 5
say bob2 "a bob of this room"
must_line "$W/alice.out" '^MSG bob a bob of this room$' 1 10
stop_chatc bob2
stop_chatc alice
note "ok: own name refused and not pinned, own key welcome, a known key under a new name named, a nickname per room"
