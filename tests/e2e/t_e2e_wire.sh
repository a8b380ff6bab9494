#!/bin/sh
# SPDX-License-Identifier: ISC
# Blind relay, seen from the wire: a proxy between chatc and relayd records
# every byte both ways. No message text, nickname, room name, fingerprint
# (hex in any form, raw, base64) or identity public key ever crosses it, and
# every message on it has a padding-bucket size. A message typed before any
# peer is there is not sent at all, and is delivered once a peer is secure.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins
a=alice_wiretap b=bob_wiretap
room=wiretap-room-name

start_relay relay
start_proxy proxy "$relay_PORT" --record "$W/rec"
start_keyd "$a"
start_keyd "$b"
fa=$(fpr_of "$a"); fb=$(fpr_of "$b")
[ -n "$fa" ] && [ -n "$fb" ] || fail "keyd --fingerprint printed nothing"

chat "$a" "$room" "$proxy_PORT"
must_line "$W/proxy.log" 'conn 0 accepted' 1 10
early="early bird: typed while alone in the room"
# Then 69 more: the hold queue is bounded, so some of these may be refused
# with "not sent"; what is held must arrive, in order, and nothing else.
{ echo "$early"; i=1; while [ $i -lt 70 ]; do i=$((i + 1)); echo "early number $i"; done; } >"$W/early"
say_file "$a" "$W/early"
# chatc handles its input in order: once the WARN for the next (too long) line
# is out, the early line has been dealt with. It must not have left as DATA.
say "$a" "$($PY -c 'print("y" * 4001)')"
must_line "$W/$a.out" '^WARN .*(too long|4001)' 1 10
wait_line "$W/proxy.log" 'conn 0 c2r' 1 0.5 && fail "chatc sent DATA with nobody in the room: $(grep 'conn 0 c2r' "$W/proxy.log" | head -n 2)"
no_line "$W/$a.out" '^(MSG|SECURE|ERROR)'

chat "$b" "$room" "$proxy_PORT"
must_line "$W/$b.out" "^SECURE $a " 1 15
must_line "$W/$a.out" "^SECURE $b " 1 15
must_line "$W/$b.out" "^MSG $a " 1 10
exactly "$W/$b.out" "^MSG $a $early\$" 1
# Held lines arrive (whole queue) before anything typed later; count them.
held=$(( 70 - $(count "$W/$a.out" '^WARN not sent') ))
[ $held -ge 1 ] && [ $held -le 70 ] || fail "held count $held is impossible"
must_line "$W/$b.out" "^MSG $a " $held 10
head -n $held "$W/early" | sed "s/^/MSG $a /" >"$W/early.want"
grep "^MSG $a " "$W/$b.out" | head -n $held | cmp -s - "$W/early.want" ||
	fail "the held messages did not arrive in order"
for n in $(seq $((held + 1)) 70); do
	exactly "$W/$b.out" "^MSG $a early number $n\$" 0
	exactly "$W/$a.out" "^WARN not sent .*early number $n\$" 1
done
note "notice: held before any peer: $held of 70 delivered in order, $((70 - held)) refused with WARN not sent"

texts="the eagle lands at midnight|Zürich 🚀 rendezvous ✓|password=hunter2-correct-horse"
echo "$texts" | tr '|' '\n' >"$W/texts"
while IFS= read -r t; do say "$a" "$t from $a"; say "$b" "$t from $b"; done <"$W/texts"
must_line "$W/$b.out" "^MSG $a " $((held + 3)) 10
must_line "$W/$a.out" "^MSG $b " 3 10
while IFS= read -r t; do
	exactly "$W/$b.out" "^MSG $a $t from $a\$" 1
	exactly "$W/$a.out" "^MSG $b $t from $b\$" 1
done <"$W/texts"
exactly "$W/$b.out" "^MSG $a $early\$" 1
exactly "$W/$b.out" "^MSG " $((held + 3))
exactly "$W/$a.out" "^MSG " 3
# Sizes across the padding buckets: the wire must show only bucket sizes.
for n in 61 62 200 1000 2000 3000 3997; do
	say "$a" "$($PY -c "import sys; print('L' * int(sys.argv[1]))" $n)"
done
must_line "$W/$b.out" "^MSG $a L" 7 10
exactly "$W/$b.out" "^MSG " $((held + 3 + 7))
stop_chatc "$a" 3	# the 4001-byte line, and any early line the hold queue refused
must_line "$W/$b.out" "^LEFT $a\$" 1 10
stop_chatc "$b"
must_line "$W/proxy.log" 'conn 1 closed' 1 10

set -- --text "$a" --text "$b" --text "$room" --text "$early" --text "early bird" --text "early number" \
    --fpr "$fa" --fpr "$fb"
while IFS= read -r t; do set -- "$@" --text "$t"; done <"$W/texts"
set -- "$@" --text "eagle" --text "Zürich" --text "hunter2" --text "rendezvous"
eval "ia=\$${a}_HOME/identity ib=\$${b}_HOME/identity"
set -- "$@" --identity "$ia" --identity "$ib"
$PY "$E2E_LIB/proxy.py" scan "$W/rec" --min-data 7 "$@" >"$W/scan.log" 2>&1 || {
	cat "$W/scan.log"; fail "secrets crossed the wire (or the recording is empty)"; }
# The identity keys scan looked for are the right ones: they give the
# fingerprints keyd prints.
grep -q "identity .*/$a.home/identity: public key [0-9a-f]*, fingerprint $fa\$" "$W/scan.log" &&
grep -q "identity .*/$b.home/identity: public key [0-9a-f]*, fingerprint $fb\$" "$W/scan.log" ||
	{ cat "$W/scan.log"; fail "the identity keys derived from the seeds do not give keyd's fingerprints"; }
note "notice: $(grep 'sizes' "$W/scan.log")"
note "$(tail -n 1 "$W/scan.log")"
note "ok: nothing in the clear; the early message was held, then delivered once"
