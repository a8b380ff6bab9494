#!/bin/sh
# SPDX-License-Identifier: ISC
# make demo: a relay and two people, alice and bob, each with their own keyd
# (temporary homes, so fresh identities), talking through the relay.
#
# On a terminal with tmux: two panes side by side, alice left and bob right,
# each an interactive chatc; you watch the handshake, compare the two
# fingerprints, and type. /quit in both panes (or detach: Ctrl-b d) ends it.
# Otherwise: a short scripted conversation in batch mode, then the transcript
# of what each side saw, and what a network observer saw (through a
# recording proxy on the TLS link). The relay speaks TLS 1.3 with a key made
# for the demo; both chatc's pin it (--relay-fp).
# Every process started here is ended on the way out, whatever happens.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:=$(cd "$here/.." && pwd)/bin}"
E2E_LIB="$here/e2e/lib"
export BIN E2E_LIB
. "$E2E_LIB/common.sh"
E2E_NAME=demo
for b in relayd keyd chatc; do
	[ -x "$BIN/$b" ] || fail "$BIN/$b is missing; run make first"
done

start_relay relay
start_keyd alice
start_keyd bob
fa=$(fpr_of alice) fb=$(fpr_of bob)
echo "veil demo: relay on 127.0.0.1:$relay_PORT (ephemeral port), temporary files in $W (removed on exit)"
echo "  the relay's key:     $relay_FP (TLS 1.3; both sides pin it with --relay-fp)"
echo "  alice's fingerprint: $fa"
echo "  bob's fingerprint:   $fb"

if [ -t 0 ] && [ -t 1 ] && command -v tmux >/dev/null 2>&1 && [ -z "${VEIL_DEMO_BATCH:-}" ]; then
	unset TMUX
	E2E_TMUX="$W/tmux.sock"
	cols=$(tput cols 2>/dev/null || echo 160) rows=$(tput lines 2>/dev/null || echo 40)
	# pane NICK: the command one pane runs; it waits for Enter if chatc fails,
	# so a newcomer can read why.
	pane() {
		eval "p_sock=\$${1}_SOCK"
		printf "'%s' --room demo --nick %s --relay 127.0.0.1:%s --keyd '%s' %s; rc=\$?; " \
		    "$BIN/chatc" "$1" "$relay_PORT" "$p_sock" "$CHATC_LINK"
		printf '[ $rc -eq 0 ] || { echo; echo "chatc %s exited $rc; press Enter"; read x; }' "$1"
	}
	T() { tmux -S "$E2E_TMUX" "$@"; }
	T -f /dev/null new-session -d -s demo -x "$cols" -y "$rows" "$(pane alice)" ||
		fail "tmux would not start"
	T split-window -h -t demo "$(pane bob)"
	T select-layout -t demo even-horizontal >/dev/null
	T select-pane -t demo -L 2>/dev/null
	T set-option -t demo status-left-length 0 >/dev/null
	T set-option -t demo status-right-length 120 >/dev/null
	T set-option -t demo status-left '' >/dev/null
	T set-option -t demo status-right \
	    "veil demo: left alice, right bob. /quit in each pane to end, Ctrl-b o switches, Ctrl-b d leaves " >/dev/null
	echo "  compare these with what each side shows once the session is secure."
	echo "  starting tmux: alice on the left, bob on the right; /quit in both to end."
	T attach-session -t demo
	echo "veil demo: done; stopping the relay and both keyd's."
	exit 0
fi

# No terminal (or no tmux): a scripted conversation in batch mode, through a
# recording proxy so we can show what crossed the wire.
# seen: appends what each side printed since the last call to the transcript,
# so it reads in the order things happened.
seen_alice=0 seen_bob=0
: >"$W/transcript"
seen() {
	for who in alice bob; do
		eval "n=\$seen_$who"
		total=$(wc -l <"$W/$who.out")
		[ "$total" -gt "$n" ] || continue
		tail -n "+$((n + 1))" "$W/$who.out" | head -n "$((total - n))" |
		    sed "s/^/  $(printf '%-5s' "$who")| /" >>"$W/transcript"
		eval "seen_$who=$total"
	done
}
start_proxy proxy "$relay_PORT" --raw --record "$W/rec"
chat alice demo "$proxy_PORT"
chat bob demo "$proxy_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
seen
say alice "hi bob, this is end-to-end encrypted"
must_line "$W/bob.out" '^MSG alice ' 1 10
seen
say bob "hi alice. the relay only ever sees padded ciphertext"
must_line "$W/alice.out" '^MSG bob ' 1 10
seen
say alice "does my fingerprint match what you see? ($fa)"
must_line "$W/bob.out" '^MSG alice ' 2 10
seen
say bob "it does; and mine should read $fb"
must_line "$W/alice.out" '^MSG bob ' 2 10
seen
stop_chatc bob
must_line "$W/alice.out" '^LEFT bob$' 1 10
seen
stop_chatc alice
seen

echo
echo "transcript (each chatc --batch's event lines, prefixed by who saw them):"
cat "$W/transcript"
echo
echo "what a network observer saw (every byte, both ways, recorded by a proxy):"
rid=$($PY -c 'import hashlib; print(hashlib.sha256(b"veil/1 room id" + b"demo").hexdigest())')
$PY "$E2E_LIB/proxy.py" scan "$W/rec" --tls --min-data 4 --text alice --text bob \
    --text "end-to-end encrypted" --text "padded ciphertext" --fpr "$fa" --fpr "$fb" \
    --identity "$alice_HOME/identity" --identity "$bob_HOME/identity" --hex "$rid" \
    --hex 01010000000000000020 >"$W/scan.log" 2>&1
rc=$?
grep -v ': public key ' "$W/scan.log" | sed 's/^scan: /  /'
[ $rc -eq 0 ] || fail "something crossed the wire in the clear (see above)"
echo "  0 hits: TLS records only; no room id, frame header, nickname, message text,"
echo "  fingerprint or identity key crossed the wire in the clear. Inside TLS the"
echo "  relay sees frames, and every message in them is padded to a fixed bucket size."
