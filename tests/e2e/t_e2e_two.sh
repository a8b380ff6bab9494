#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# Two people, 2000 messages each way at once: every one delivered, in order,
# byte-exact (Unicode, a maximum 4000-byte line); a 4001-byte line refused with
# WARN and never delivered, cut or not. Prints the time from chatc start to
# SECURE and the message rate of the pair. /rekey (a PING whose PONG completes
# a ratchet round trip) is reported once its PONG is back, and messages still flow; // sends a leading slash. EOF right after 1000
# more lines flushes them all, exits 3 (the 4001-byte line was not sent),
# and the peer sees LEFT.
. "$E2E_LIB/common.sh"
need_bins
N=${E2E_MESSAGES:-2000}

# Lines: numbered, mixed scripts; line N/2 is exactly 4000 bytes of UTF-8; a
# 4001-byte line sits in the middle of each stream.
$PY - "$W" "$N" <<'PYEOF' || fail "cannot generate messages"
import sys
w, n = sys.argv[1], int(sys.argv[2])
words = ["héllo", "wörld", "日本語", "🚀", "ελληνικά", "русский", "العربية", "a+b=c", "'quote'",
         '"dq"', "%s%n", "$(id)", "`x`", "<b>", "&amp;", "~!@#", "z" * 40]
for who, peer in (("alice", "bob"), ("bob", "alice")):
    sent, want = [], []
    for i in range(1, n + 1):
        if i == n // 2:
            line = ("🚀" if who == "alice" else "é") * (1000 if who == "alice" else 2000)
            assert len(line.encode()) == 4000
        else:
            k = i % len(words)
            line = "%s %05d %s %s" % (who, i, " ".join(words[k:] + words[:k]), "." * (i % 97))
        sent.append(line)
        want.append("MSG %s %s" % (who, line))
        if i == n // 2 + 1:
            big = "é" * 2000 + "x"
            assert len(big.encode()) == 4001
            sent.append(big)
    with open("%s/%s.send" % (w, who), "w", encoding="utf-8") as f:
        f.write("\n".join(sent) + "\n")
    with open("%s/%s.want" % (w, peer), "w", encoding="utf-8") as f:
        f.write("\n".join(want) + "\n")
PYEOF

start_relay relay
start_keyd alice
start_keyd bob

chat alice lobby "$relay_PORT"
E2E_POLL=0.01
chat bob lobby "$relay_PORT"
must_line "$W/bob.out" '^SECURE alice ' 1 15
t_bob=$(now_ms)
must_line "$W/alice.out" '^SECURE bob ' 1 15
t_alice=$(now_ms)
E2E_POLL=0.05
note "figure: chatc start to SECURE: bob (initiator) $((t_bob - bob_START)) ms, alice (responder, from bob's start) $((t_alice - bob_START)) ms (polled every 10 ms)"

E2E_POLL=0.01
t0=$(now_ms)
cat "$W/alice.send" >"$W/alice.in" & e2e_track $!; fa=$!
cat "$W/bob.send" >"$W/bob.in" & e2e_track $!; fb=$!
must_line "$W/bob.out" '^MSG alice ' "$N" 90
must_line "$W/alice.out" '^MSG bob ' "$N" 90
t1=$(now_ms)
E2E_POLL=0.05
wait $fa; wait $fb
ms=$((t1 - t0)); [ $ms -gt 0 ] || ms=1
note "figure: $((2 * N)) messages ($N each way, one pair) in $ms ms = $((2 * N * 1000 / ms)) msg/s"

for who in alice bob; do
	grep '^MSG ' "$W/$who.out" >"$W/$who.got"
	cmp -s "$W/$who.got" "$W/$who.want" || {
		diff "$W/$who.want" "$W/$who.got" | head -n 10 | cut -c1-200
		fail "$who did not receive exactly the $N messages in order"
	}
done
# The 4001-byte line: a WARN at its sender, nothing of it at the receiver.
for who in alice bob; do
	must_line "$W/$who.out" '^WARN .*(4001|too long)' 1 5
	no_line "$W/$who.out" '^ERROR'
done
no_line "$W/bob.out" 'éx$'
no_line "$W/alice.out" 'éx$'

# /rekey: alice reports it once bob's PONG is back (bob, who only answered,
# says nothing), and messages still flow both ways; "//" sends a literal
# leading slash.
say alice /rekey
must_line "$W/alice.err" '^INFO .*rekeyed' 1 10
no_line "$W/bob.err" 'rekey'
say alice "//after the rekey, from alice"
say bob "after the rekey, from bob"
must_line "$W/bob.out" '^MSG alice /after the rekey, from alice$' 1 10
must_line "$W/alice.out" '^MSG bob after the rekey, from bob$' 1 10
exactly "$W/bob.out" '^MSG ' $((N + 1))  # before the one-way run
exactly "$W/alice.out" '^MSG ' $((N + 1))

# One way, 10000 short messages: the rate of one sender to one receiver.
R=10000
i=0; while [ $i -lt $R ]; do i=$((i + 1)); echo "rate $i"; done >"$W/rate"
E2E_POLL=0.01
t0=$(now_ms)
say_file alice "$W/rate"
must_line "$W/bob.out" '^MSG alice rate ' $R 60
ms=$(( $(now_ms) - t0 )); [ $ms -gt 0 ] || ms=1
E2E_POLL=0.05
note "figure: $R messages one way (alice to bob) in $ms ms = $((R * 1000 / ms)) msg/s"
grep '^MSG alice rate ' "$W/bob.out" | sed 's/^MSG alice //' | cmp -s - "$W/rate" || fail "one-way messages lost or reordered"

# EOF right behind 1000 more lines: alice flushes them all before leaving;
# bob gets every one, then LEFT alice. Then bob leaves.
i=0; while [ $i -lt 1000 ]; do i=$((i + 1)); echo "last words $i"; done >"$W/last"
say_file alice "$W/last"
stop_chatc alice 3	# the 4001-byte line was never sent
must_line "$W/bob.out" '^LEFT alice$' 1 10
sed 's/^/MSG alice /' "$W/last" >"$W/last.want"
grep '^MSG alice last words ' "$W/bob.out" | cmp -s - "$W/last.want" ||
	fail "EOF did not flush: bob got $(count "$W/bob.out" '^MSG alice last words ') of 1000"
[ "$(tail -n 1 "$W/bob.out")" = "LEFT alice" ] || fail "bob saw something after LEFT alice"
stop_chatc bob 3
exactly "$W/alice.out" '^SECURE ' 1
exactly "$W/bob.out" '^SECURE ' 1
note "ok: $N+$N messages byte-exact and in order"
