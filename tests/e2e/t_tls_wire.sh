#!/bin/sh
# SPDX-License-Identifier: ISC
# What a network observer sees of a TLS link (issue 14): two chatc's talk
# through a proxy that records every byte both ways (proxy.py --raw). Every
# byte of the capture belongs to a well-formed TLS record, only the two
# hellos go in the clear, and nowhere is the room id, a relay frame header
# (JOIN, WELCOME or JOINED with the member ids the relay handed out), a
# nickname or a message. The same scan over a --plaintext capture finds the
# room id and the headers (the check can fail). On 0.1.0 the link is plain
# TCP: chatc has no --relay-fp, and the control is what it would show.
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
start_keyd alice
start_keyd bob
start_proxy tap "$relay_PORT" --raw --record "$W/rec"
# room id (PROTOCOL.md 4: from the invite code's secret, as chat joins it)
# and the headers the relay sends in a fresh room.
rid=$($PY -c '
import base64, hashlib, hmac, sys
code = sys.argv[1][len("veil:"):]
secret = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))[2:34]
prk = hmac.new(b"veil/2 room", secret, hashlib.sha256).digest()
print(hmac.new(prk, b"veil/2 room id\x01", hashlib.sha256).hexdigest())' "$(room_code wire)")
join=01010000000000000020
# WELCOME to member 1 (nobody there) and to member 2 (1 there); JOINED of 2.
welcome1=010200000001000000020000
welcome2=0102000000020000000400010001
joined2=01030002000000000000
secure_pair alice bob wire "$tap_PORT"
for i in 1 2 3 4 5 6 7 8; do
	say alice "alice says secret $i"
	say bob "bob answers secret $i"
done
must_line "$W/bob.out" '^MSG alice alice says secret 8$' 1 10
must_line "$W/alice.out" '^MSG bob bob answers secret 8$' 1 10
stop_chatc alice
stop_chatc bob
$PY "$E2E_LIB/proxy.py" scan "$W/rec" --tls --min-data 8 --hex "$rid" --hex "$join" \
    --hex "$welcome1" --hex "$welcome2" --hex "$joined2" --text alice --text bob \
    --text "secret" --text wire >"$W/scan.log" 2>&1 ||
	fail "the TLS capture shows something: $(grep -E 'FOUND|too small' "$W/scan.log" | head -n 5)"
note "figure: $(grep -c 'records (first' "$W/scan.log") directions recorded, every byte in TLS records; $(sed -n 's/^scan: \(.* needles, 0 hits\)$/\1/p' "$W/scan.log")"

note "control: the same scan over a --plaintext capture"
E2E_LINK=plain
start_relay plain
start_proxy tap2 "$plain_PORT" --raw --record "$W/rec2"
CHATC_LINK=--plaintext
secure_pair alice bob wire "$tap2_PORT"
say alice "alice says secret 1"
must_line "$W/bob.out" '^MSG alice alice says secret 1$' 1 10
stop_chatc alice
stop_chatc bob
if $PY "$E2E_LIB/proxy.py" scan "$W/rec2" --tls --hex "$rid" --hex "$join" \
    --hex "$welcome1" --hex "$welcome2" >"$W/scan2.log" 2>&1; then
	fail "the scan found nothing in a plaintext capture: $(cat "$W/scan2.log")"
fi
for n in "bytes $rid" "bytes $join" "bytes $welcome1" "bytes $welcome2" "bytes outside TLS"; do
	grep -q "FOUND $n" "$W/scan2.log" || fail "the plaintext control misses $n"
done
echo PASS
