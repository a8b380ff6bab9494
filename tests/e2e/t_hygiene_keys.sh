#!/bin/sh
# SPDX-License-Identifier: ISC
# Secret hygiene: once a session has ended, none of its keys is left anywhere
# in keyd's memory. Needs a KEYLOG=1 build (make hygiene): its keyd writes
# every secret it derives (ephemeral scalars, ECDH secrets, handshake keys,
# prk, root, chain and message keys) to the descriptor VEIL_KEYLOG_FD names.
# Two keyds, two chatc --batch, messages both ways and a /rekey from each
# side; then, as root, lib/memscan.py reads /proc/PID/mem of every readable
# mapping of each keyd:
#  - positive control while the sessions are live: the current send and
#    receive chain keys ARE found (the scanner sees keyd's heap);
#  - also live: nothing but the ratchet's current state is there (root,
#    chain keys, ratchet key, header keys; every message key, replaced chain
#    key, older ratchet key, ECDH secret, prk is gone);
#  - chatc, live, holds none of the secrets (it must never know a key);
#  - after both chatc quit and keyd has closed their connections: NONE of
#    the secrets ever logged, by either keyd, is found in either keyd, in the
#    form the engine holds it, byte-reversed (a BIGNUM's limbs) or as
#    either 16-byte half (a partial copy).
# A normal build is checked for the absence of the hook, then skipped.
. "$E2E_LIB/common.sh"
need_bins
SCAN="$PY $E2E_LIB/memscan.py"

if ! grep -q VEIL_KEYLOG_FD "$BIN/keyd"; then
	# The hook must never be in a normal build, not even its variable name.
	for b in keyd chatc relayd; do
		grep -q VEIL_KEYLOG "$BIN/$b" && fail "$BIN/$b of a normal build names VEIL_KEYLOG"
	done
	skip "$BIN/keyd is not a KEYLOG=1 build (no hook, as it should be); run make hygiene"
fi
[ "$(id -u)" -eq 0 ] || skip "reading keyd's memory needs root (CAP_SYS_PTRACE)"

nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

start_relay relay
export VEIL_KEYLOG_FD=9
exec 9>>"$W/alice.keys"
start_keyd alice
exec 9>>"$W/bob.keys"
start_keyd bob
exec 9>&-
unset VEIL_KEYLOG_FD
base_alice=$(nfds "$alice_KEYD_PID")
base_bob=$(nfds "$bob_KEYD_PID")

secure_pair alice bob hygiene "$relay_PORT"
i=1
while [ $i -le 5 ]; do
	say alice "alice to bob $i"
	say bob "bob to alice $i"
	i=$((i + 1))
done
must_line "$W/bob.out" '^MSG alice alice to bob 5$' 1 10
must_line "$W/alice.out" '^MSG bob bob to alice 5$' 1 10
say alice /rekey
must_line "$W/alice.err" '^INFO .*rekeyed' 1 10
say alice "alice after her rekey"
say bob "bob after her rekey"
must_line "$W/bob.out" '^MSG alice alice after her rekey$' 1 10
must_line "$W/alice.out" '^MSG bob bob after her rekey$' 1 10
say bob /rekey
must_line "$W/bob.err" '^INFO .*rekeyed' 1 10
say bob "bob after his rekey"
must_line "$W/alice.out" '^MSG bob bob after his rekey$' 1 10
say alice "alice, the last word"
must_line "$W/bob.out" '^MSG alice alice, the last word$' 1 10

# Every kind of secret was logged by both keyds (else the scan proves less).
for who in alice bob; do
	for l in eph ecdh_hs prk_hs k_r k_i prk rk ck_r0 hk_r0 nhk_i nhk_r ck \
	    mk_send ck_send mk_recv ck_recv ecdh_step hks nhks hkr nhkr phkr; do
		[ "$(count "$W/$who.keys" "^$l ")" -gt 0 ] || fail "$who's keyd logged no $l secret"
	done
done
note "figure: secrets logged: alice's keyd $(count "$W/alice.keys" .), bob's keyd $(count "$W/bob.keys" .)"

# (a) Positive control: the live chain keys are in keyd's memory.
for who in alice bob; do
	eval "pid=\$${who}_KEYD_PID"
	$SCAN present "$pid" "$W/$who.keys" ck_send ck_recv >"$W/$who.scan-live.log" 2>&1
	rc=$?
	cat "$W/$who.scan-live.log"
	[ $rc -eq 2 ] && fail "cannot read the memory of $who's keyd (see above)"
	[ $rc -eq 0 ] || fail "positive control: $who's live chain keys not found; the scanner sees nothing"
done
# Inside the live session, only the ratchet's current state may be there
# (root, chain keys, ratchet private key, the header keys by their role):
# every message key, replaced chain key, older ratchet key, ECDH secret,
# handshake key and prk is already gone (per-message erasure, section 2.3).
for who in alice bob; do
	eval "pid=\$${who}_KEYD_PID"
	$SCAN absent "$pid" --except-last rk,ck_send,ck_recv,eph,hks,nhks,hkr,nhkr,phkr \
	    "$W/alice.keys" "$W/bob.keys" \
	    >"$W/$who.scan-old.log" 2>&1
	rc=$?
	cat "$W/$who.scan-old.log"
	[ $rc -eq 0 ] || fail "$who's live keyd still holds replaced or used-up secrets (rc $rc)"
done
# chatc sees plaintext, never a key.
for who in alice bob; do
	eval "pid=\$${who}_PID"
	$SCAN absent "$pid" "$W/alice.keys" "$W/bob.keys" >"$W/$who.scan-chatc.log" 2>&1
	rc=$?
	cat "$W/$who.scan-chatc.log"
	[ $rc -eq 0 ] || fail "chatc $who holds a session secret (rc $rc)"
done

# (b) End the sessions: alice quits (her keyd wipes on disconnect, bob's on
# her CLOSE), then bob. Wait until each keyd has closed the connection.
stop_chatc alice
must_line "$W/bob.out" '^LEFT alice$' 1 10
stop_chatc bob
for who in alice bob; do
	eval "pid=\$${who}_KEYD_PID base=\$base_${who}"
	end=$(( $(date +%s) + 10 ))
	while [ "$(nfds "$pid")" -gt "$base" ]; do
		[ "$(date +%s)" -gt "$end" ] && fail "$who's keyd still holds the connection after 10s"
		sleep 0.05
	done
	e2e_dead "$pid" && fail "$who's keyd is gone; it must still run for the scan"
done

for who in alice bob; do
	eval "pid=\$${who}_KEYD_PID"
	tries=0
	# A second look after 0.5 s only rules out the moment between close()
	# and the wipe that follows it in keyd; a key that stays fails.
	until $SCAN absent "$pid" "$W/alice.keys" "$W/bob.keys" >"$W/$who.scan-after.log" 2>&1; do
		tries=$((tries + 1))
		if [ $tries -ge 2 ]; then
			cat "$W/$who.scan-after.log"
			fail "secrets of ended sessions are still in $who's keyd"
		fi
		sleep 0.5
	done
	cat "$W/$who.scan-after.log"
done
note "figure: $(grep -h 'looked for' "$W/alice.scan-after.log" | sed 's/^memscan: //') in alice's keyd after the sessions ended"
note "ok: live chain keys found in both keyds and nothing older; none of the secrets left after the sessions ended, nor ever in chatc"
