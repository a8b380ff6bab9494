#!/bin/sh
# SPDX-License-Identifier: ISC
# Issue 12, finding 5: the relay learns nothing of nickname lengths from
# handshakes. Three chatc's with nicknames of 1, 9 and 32 bytes meet through
# a recording proxy (tests/e2e/lib/proxy.py --record); every handshake
# message on the wire has its one veil/2 length (HS_INIT 67, HS_RESP 212,
# HS_FIN 147: identity blocks padded to 65 bytes, PROTOCOL.md 2.2), checked
# by `proxy.py scan --hs-fixed`. (0.1.0's HS_RESP and HS_FIN carried the
# nickname unpadded: their sizes gave each nickname's length away.)
# Issue 17: the relay learns no counter or ratchet step either. Texts of 1,
# 48, 49, 112, 113, 2033 and 4000 bytes go out as DATA of 183, 183, 247, 247,
# 375, 4215 and 4215 bytes (103 + a bucket + 16), and five equal texts in a
# row give DATA messages of one size whose first 16 bytes after the type
# share nothing a counter would (`scan --unlinkable`; veil/1 showed epoch and
# counter there). Runs against 0.1.0 too (BIN=/work/baseline-bin), where the
# scan fails.
# The proxy reads relay frames: plain TCP on both ends (t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
long=$($PY -c 'print("n" * 32)')
for who in one nine long; do start_keyd "$who"; done
start_proxy px "$relay_PORT" --record "$W/rec"
# sized WHO NICK: a chatc with that nick through the proxy.
sized() {
	room_args sizes
	eval "sz_sock=\$${1}_SOCK"
	# shellcheck disable=SC2086
	start_chatc "$1" "$RA1" "$RA2" --nick "$2" --relay "127.0.0.1:$px_PORT" --keyd "$sz_sock" \
	    $CHATC_LINK
}
sized one a
must_line "$W/px.log" 'conn 0 member' 1 10
sized nine somewhat9
sized long "$long"
must_line "$W/one.out" '^SECURE ' 2 15
must_line "$W/nine.out" '^SECURE ' 2 15
must_line "$W/long.out" '^SECURE ' 2 15
say one "from the short one"
must_line "$W/long.out" '^MSG a from the short one$' 1 10
for n in 1 48 49 112 113 2033 4000; do say one "$($PY -c "print('s' * $n)")"; done
must_line "$W/long.out" '^MSG a s+$' 7 10
for i in 1 2 3 4 5; do say nine "the same line"; done
must_line "$W/one.out" '^MSG somewhat9 the same line$' 5 10
for w in one nine long; do stop_chatc "$w"; done
must_line "$W/px.log" 'conn 2 closed' 1 10
$PY "$E2E_LIB/proxy.py" scan "$W/rec" --hs-fixed --unlinkable --min-data 20 >"$W/scan.out" 2>&1
rc=$?
note "figure: $(grep 'handshake message sizes' "$W/scan.out")"
note "figure: $(grep 'DATA message sizes' "$W/scan.out")"
note "figure: $(grep 'DATA headers' "$W/scan.out")"
[ $rc -eq 0 ] || fail "handshake sizes depend on something: $(grep -E 'FOUND|sizes' "$W/scan.out" | head -n 5 | tr '\n' '|')"
grep -q 'HS_RESP 212 x3' "$W/scan.out" && grep -q 'HS_FIN 147 x3' "$W/scan.out" ||
	fail "not three HS_RESP of 212 and three HS_FIN of 147: $(cat "$W/scan.out")"
# one's eight texts and nine's five, each to two peers: 183 x16, 247 x4,
# 375 x2, 4215 x4, and the three CLOSEs (183) of the quitting chatc's; no
# other size. Issue 13's ACKs and PINGs (183) and VIEWs of three identities
# (247) come on top, as many as the timing makes: at least those counts
# there, exactly those of the two large buckets (nothing else is that big).
sizes=$(grep 'DATA message sizes' "$W/scan.out")
echo "$sizes" | grep -q -E '^scan: DATA message sizes: 183 x[0-9]+, 247 x[0-9]+, 375 x2, 4215 x4$' &&
	[ "$(echo "$sizes" | sed 's/.*183 x\([0-9]*\),.*/\1/')" -ge 19 ] &&
	[ "$(echo "$sizes" | sed 's/.*247 x\([0-9]*\),.*/\1/')" -ge 4 ] ||
	fail "DATA sizes are not the buckets the texts need: $sizes"
note "ok: nicknames of 1, 9 and 32 bytes, one size per handshake message; DATA sizes are buckets only, no counter visible"
