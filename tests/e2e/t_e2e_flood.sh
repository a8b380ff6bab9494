#!/bin/sh
# SPDX-License-Identifier: ISC
# Issue 12, finding 3: a flood of first contacts. The hostile Python peer
# (tests/e2e/lib/peer2.py --rejoin) joins alice's room FLOOD times (default
# 3,000, enough to spend the pin budget 45 times over; FLOOD=11000 is the
# issue's figure, past 1 MiB on 0.1.0), each time with a new key and a new 31-byte nickname, completes a
# handshake with alice's chatc and leaves. Then:
#  - alice's known_peers stays bounded (the pin budget: 64 at once, one more
#    per 30 s; the rest are provisional, in keyd's memory) and small;
#  - honest bob, arriving after the flood, still gets a session at once;
#  - a malformed line someone put in known_peers is reported with its line
#    number and skipped, never a reason to refuse anyone;
#  - alice's chatc never said ERROR.
# (0.1.0 pinned every first contact: the file grew past keyd's 1 MiB bound,
# and from then on keyd refused every handshake, honest bob's too; a
# malformed line made every lookup fail.) Runs against 0.1.0 too
# (BIN=/work/baseline-bin, peer2 speaking veil/1).
. "$E2E_LIB/common.sh"
need_bins
$PY -c 'import cryptography' 2>/dev/null || skip "python3-cryptography is not installed"
FLOOD=${FLOOD:-3000}

start_relay relay
start_keyd alice
start_keyd bob
# Someone breaks a line of alice's file (keyd reads it again at each lookup).
printf 'this line is not an entry\n' >>"$alice_HOME/known_peers"
chat alice flood "$relay_PORT"
sleep 0.5
t0=$(now_ms)
start_peer2 flooder flood "$relay_PORT" --nick ffffffffffffffffffffffffff --rejoin "$FLOOD"
wait_exit "$flooder_PID" 200 || fail "the flood did not end within 200 s"
secs=$(( ($(now_ms) - t0) / 1000 ))
note "flood: $(cat "$W/flooder.json")"
hs=$(sed -n 's/.*"handshakes": \([0-9]*\).*/\1/p' "$W/flooder.json")
must_line "$W/alice.out" '^SECURE f' "$FLOOD" 30
no_line "$W/alice.out" '^ERROR '
e2e_alive alice

note "honest bob after the flood"
chat bob flood "$relay_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
say bob "still here"
must_line "$W/alice.out" '^MSG bob still here$' 1 10

entries=$(grep -c -v -e '^#' -e '^$' "$alice_HOME/known_peers")
bytes=$(wc -c <"$alice_HOME/known_peers")
note "figure: finding 3: $FLOOD first contacts by rejoining in $secs s, $hs handshakes completed, alice showed $(count "$W/alice.out" '^SECURE f') SECURE; known_peers $entries lines, $bytes bytes; bob secure after it"
[ "$hs" -eq "$FLOOD" ] || fail "only $hs of $FLOOD handshakes completed"
[ "$bytes" -lt 65536 ] || fail "known_peers grew to $bytes bytes"
[ "$entries" -le $((64 + 2 + secs / 30 + 2)) ] || fail "known_peers has $entries entries after $secs s"
grep -q 'known_peers:[0-9]*: .*skipped' "$W/alice.keyd.err" ||
	fail "the malformed line was not reported with its line number: $(tail -n 3 "$W/alice.keyd.err")"
note "keyd said: $(grep 'skipped' "$W/alice.keyd.err" | head -n 1)"
[ "$(grep -c 'skipped' "$W/alice.keyd.err")" -le 3 ] ||
	fail "the malformed line was reported $(grep -c 'skipped' "$W/alice.keyd.err") times"
stop_chatc bob
stop_chatc alice
note "ok: a flood of first contacts leaves known_peers bounded, bob welcome, a bad line skipped"
