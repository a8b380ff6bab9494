#!/bin/sh
# SPDX-License-Identifier: ISC
# Issue 12, finding 5: the relay learns nothing of nickname lengths from
# handshakes. Three chatc's with nicknames of 1, 9 and 32 bytes meet through
# a recording proxy (tests/e2e/lib/proxy.py --record); every handshake
# message on the wire has its one veil/2 length (HS_INIT 67, HS_RESP 212,
# HS_FIN 147: identity blocks padded to 65 bytes, PROTOCOL.md 2.2), checked
# by `proxy.py scan --hs-fixed`. (0.1.0's HS_RESP and HS_FIN carried the
# nickname unpadded: their sizes gave each nickname's length away.) Runs
# against 0.1.0 too (BIN=/work/baseline-bin), where the scan fails.
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
	start_chatc "$1" "$RA1" "$RA2" --nick "$2" --relay "127.0.0.1:$px_PORT" --keyd "$sz_sock"
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
for w in one nine long; do stop_chatc "$w"; done
must_line "$W/px.log" 'conn 2 closed' 1 10
$PY "$E2E_LIB/proxy.py" scan "$W/rec" --hs-fixed >"$W/scan.out" 2>&1
rc=$?
note "figure: $(grep 'handshake message sizes' "$W/scan.out")"
[ $rc -eq 0 ] || fail "handshake sizes depend on something: $(grep -E 'FOUND|sizes' "$W/scan.out" | head -n 5 | tr '\n' '|')"
grep -q 'HS_RESP 212 x3' "$W/scan.out" && grep -q 'HS_FIN 147 x3' "$W/scan.out" ||
	fail "not three HS_RESP of 212 and three HS_FIN of 147: $(cat "$W/scan.out")"
note "ok: nicknames of 1, 9 and 32 bytes, one size per handshake message"
