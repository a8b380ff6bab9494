#!/bin/sh
# SPDX-License-Identifier: ISC
# Issue 12, finding 2: what a member can make another member's chatc believe
# or say by claiming identities, with the hostile Python peer
# (tests/e2e/lib/peer2.py) against real chatc/keyd.
#
#  1. mallory calls itself bob and claims carol's key, which it does not
#     hold, as initiator and as responder. veil/2: the claim is never
#     proven, so the handshake fails as AUTH with a plain WARN; no alarm,
#     nothing about bob, no SECURE, known_peers unchanged. (0.1.0's
#     initiator looked the claim in HS_RESP up before any proof and raised
#     "identity of bob changed ... run: keyd --forget bob": a fake alarm,
#     naming an innocent key, that told alice to drop bob's real pin.)
#  2. Pin probing: mallory, with a key of its own, calls itself bob (pinned
#     by alice), then zed (a nick alice never met). veil/2: what mallory
#     receives (types and sizes) is the same both times, so it cannot tell
#     whether alice knows a bob (0.1.0's responder sent HS_CONFIRM only when
#     it accepted: the wire told).
#  3. mallory, first in the room, answers alice's handshake claiming bob's
#     key. veil/2: alice checks sig_R before revealing or signing anything:
#     no HS_FIN, so no signature of alice's over a transcript naming a key
#     whose owner never took part (0.1.0's alice sent HS_FIN, signed).
# Runs against 0.1.0 too (BIN=/work/baseline-bin: --room names, peer2 speaks
# veil/1), where each check fails as described.
. "$E2E_LIB/common.sh"
need_bins
$PY -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"

start_relay relay
start_keyd alice
start_keyd bob
start_keyd carol
bobkey=$(pubkey_of bob) carolkey=$(pubkey_of carol)
[ ${#bobkey} -eq 64 ] && [ ${#carolkey} -eq 64 ] || fail "cannot read the public keys"

# recv_seq NAME MEMBER: what peer2 NAME received from MEMBER, as "type:len" words.
recv_seq() {
	$PY - "$W/$1.json" "$2" <<'EOF'
import json, sys
seq = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("ev") == "recv" and e.get("member") == int(sys.argv[2]):
        seq.append("%d:%d" % (e["type"], e["len"]))
print(" ".join(seq))
EOF
}
# member_of NAME: the member id peer2 NAME got.
member_of() { sed -n 's/.*"ev": "joined", "member": \([0-9]*\).*/\1/p' "$W/$1.json" | head -n 1; }

note "alice pins bob in room claims"
secure_pair alice bob claims "$relay_PORT"
stop_chatc bob
must_line "$W/alice.out" '^LEFT bob$' 1 10
"$BIN/keyd" --list --home "$alice_HOME" >"$W/pins.before" 2>&1 || true
cp "$alice_HOME/known_peers" "$W/known_peers.before"

# claim_check FILE ROLE: what alice said about an unproven claim.
claim_check() {
	note "alice as $2 said: $(grep -E '^(WARN|SECURE) ' "$1" | head -n 2 | cut -c1-160 | tr '\n' '|')"
	no_line "$1" '^SECURE '
	no_line "$1" 'identity of bob|refused|forget|changed'
	must_line "$1" '^WARN handshake with member [0-9]+ failed: ' 1 5
	cmp -s "$alice_HOME/known_peers" "$W/known_peers.before" || fail "alice's known_peers changed"
}
note "1. mallory, as bob, claims carol's key without holding it"
from=$(wc -l <"$W/alice.out")
start_peer2 mallory claims "$relay_PORT" --nick bob --claim "$carolkey" --hold 30
must_line "$W/mallory.json" '"what": "HS_FIN"' 1 10
sleep 1
stop_peer2 mallory
tail -n +$((from + 1)) "$W/alice.out" >"$W/alice.claim"
claim_check "$W/alice.claim" responder
stop_chatc alice
start_peer2 mallory1b claims "$relay_PORT" --nick bob --claim "$carolkey" --hold 30 --no-initiate
chat alice claims "$relay_PORT"
must_line "$W/mallory1b.json" '"what": "HS_RESP"' 1 10
wait_line "$W/alice.out" '^WARN ' 1 5
sleep 1
stop_peer2 mallory1b
claim_check "$W/alice.out" initiator

note "2. pin probing: a nick alice pinned, then one she never met"
# probe NAME NICK: mallory as NICK with a key of its own; what it received in seqNAME.
probe() {
	pr_from=$(wc -l <"$W/alice.out")
	start_peer2 "$1" claims "$relay_PORT" --nick "$2" --hold 30
	must_line "$W/$1.json" '"what": "HS_FIN"' 1 10
	sleep 1.5
	stop_peer2 "$1"
	pr_a=$(sed -n 's/.*"ev": "joined", "member": [0-9]*, "others": \[\([0-9]*\).*/\1/p' "$W/$1.json")
	eval "seq_$1=\"\$(recv_seq $1 $pr_a)\""
	eval "said_$1=\"\$(tail -n +$((pr_from + 1)) \"\$W/alice.out\" | grep -E '^(SECURE|WARN) ' | head -n 1 | cut -c1-120)\""
}
probe probe1 bob
probe probe2 zed
note "figure: pin probe: mallory received [$seq_probe1] as bob (pinned), [$seq_probe2] as zed (never met)"
note "alice said: as bob: $said_probe1 / as zed: $said_probe2"
[ -n "$seq_probe1" ] || fail "mallory received nothing at all"
[ "$seq_probe1" = "$seq_probe2" ] ||
	fail "the wire tells a pinned nickname from an unknown one: [$seq_probe1] vs [$seq_probe2]"
stop_chatc alice

note "3. mallory answers alice's handshake claiming bob's key"
start_peer2 mallory3 claims3 "$relay_PORT" --nick bob --claim "$bobkey" --hold 30 --no-initiate
chat alice claims3 "$relay_PORT"
must_line "$W/mallory3.json" '"what": "HS_RESP"' 1 10
must_line "$W/alice.out" '^WARN ' 1 10
sleep 1
stop_peer2 mallory3
fins=$(grep -c '"ev": "recv", "member": [0-9]*, "type": 3' "$W/mallory3.json")
note "figure: alice's HS_FIN (her signature over a transcript naming bob's key) received by mallory: $fins"
[ "$fins" -eq 0 ] || fail "alice signed a transcript naming bob's key, which bob never proved"
no_line "$W/alice.out" '^SECURE '
no_line "$W/alice.out" 'identity of bob|refused bob|forget'
stop_chatc alice
note "ok: a claim is nothing until proven: no alarm, no pin, no signature, no probe"
