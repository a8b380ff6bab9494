#!/bin/sh
# SPDX-License-Identifier: ISC
# The interactive screen, driven through tmux (100x30): alice types half a
# line; while it sits on her input line, five messages from bob (batch)
# arrive and show in the message area, and the half line is still intact on
# the cursor's row, also after escape sequences, a 4000-byte message and a
# resize. She finishes it, bob receives it whole; /quit exits 0. Ctrl-C quits
# with exit 0 and the terminal restored.
. "$E2E_LIB/common.sh"
need_bins
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"

start_relay relay
start_keyd alice
start_keyd bob
unset TMUX
E2E_TMUX="$W/tmux.sock"
T() { tmux -S "$E2E_TMUX" "$@"; }
screen() { T capture-pane -p -t e2e >"$W/screen.log" 2>/dev/null; }
# wait_screen ERE [SECS]: until the pane shows a line matching ERE.
wait_screen() {
	ws_end=$(( $(date +%s) + ${2:-10} ))
	while :; do
		screen; grep -q -E -e "$1" "$W/screen.log" && return 0
		[ "$(date +%s)" -gt "$ws_end" ] && return 1
		sleep 0.05
	done
}
cursor_line() {
	cl_y=$(T display -p -t e2e '#{cursor_y}')
	screen; sed -n "$((cl_y + 1))p" "$W/screen.log"
}

room_args screen
T -f /dev/null new-session -d -s e2e -x 100 -y 30 \
    "'$BIN/chatc' $RA1 '$RA2' --nick alice --relay 127.0.0.1:$relay_PORT --keyd '$alice_SOCK' 2>'$W/alice.err'; echo \$? >'$W/alice.exit'" \; \
    set-option -w -t e2e remain-on-exit on || fail "tmux would not start"
T set-option -t e2e status off >/dev/null 2>&1
wait_screen 'invite|screen|alice' 10 || fail "chatc drew nothing: $(cat "$W/screen.log")"
chat bob screen "$relay_PORT"
must_line "$W/bob.out" '^SECURE alice ' 1 15
wait_screen 'bob' 10 || fail "alice's screen never mentions bob: $(cat "$W/screen.log")"
fb=$(fpr_of bob)
grep -q -F "$fb" "$W/screen.log" || wait_screen "$(printf '%s' "$fb" | cut -c1-9)" 5 ||
	note "notice: bob's fingerprint is not on alice's screen after the handshake"

T send-keys -t e2e -l 'half typed line'
wait_screen 'half typed line' 5 || fail "typed text does not show: $(cat "$W/screen.log")"
for i in 1 2 3 4 5; do say bob "incoming number $i from bob"; done
wait_screen 'incoming number 5 from bob' 10 || fail "bob's messages are not shown: $(cat "$W/screen.log")"
for i in 1 2 3 4; do grep -q "incoming number $i from bob" "$W/screen.log" || fail "message $i missing from the screen"; done
line=$(cursor_line)
case $line in
*"half typed line"*) ;;
*) cat "$W/screen.log"; fail "the input line was broken by incoming messages: cursor row is '$line'" ;;
esac
[ "$(grep -c 'half typed line' "$W/screen.log")" -eq 1 ] || fail "the half line shows more than once"
grep 'incoming number' "$W/screen.log" | grep -q 'half typed' && fail "a message was drawn into the input line"

# Hostile bytes aimed at the terminal (clear screen, home, OSC title with BEL,
# C1 CSI) and a 4000-byte message that wraps over many rows: the screen is not
# cleared, the title is not set, the half line is still on the cursor's row.
e2e_alive bob
printf 'INJ \033[2J\033[H\033]2;pwned-title\007 \302\2332J END-INJ\n' >"$W/bob.in"
wait_screen 'END-INJ' 10 || fail "the escaped message is not shown: $(cat "$W/screen.log")"
grep -q 'INJ.*END-INJ' "$W/screen.log" || fail "the escaped message is not shown whole on one row"
grep -q 'incoming number 1 from bob' "$W/screen.log" ||
	fail "earlier messages vanished (screen cleared by an escape sequence?)"
[ "$(T display -p -t e2e '#{pane_title}')" != pwned-title ] || fail "a peer set the terminal title"
line=$(cursor_line)
case $line in
*"half typed line"*) ;;
*) cat "$W/screen.log"; fail "the input line was broken by an escape sequence: cursor row is '$line'" ;;
esac
say bob "$($PY -c 'print("W" * 3990 + " END-LONG")')"
wait_screen 'END-LONG' 10 || fail "the long message is not shown: $(cat "$W/screen.log")"
line=$(cursor_line)
case $line in
*"half typed line"*) ;;
*) cat "$W/screen.log"; fail "the input line was broken by a long message: cursor row is '$line'" ;;
esac

# A resize redraws; the half line survives it.
T resize-window -t e2e -x 70 -y 20 >/dev/null 2>&1 || T resize-pane -t e2e -x 70 -y 20
wait_screen 'half typed line' 5 || fail "the input line is gone after a resize"
line=$(cursor_line)
case $line in
*"half typed line"*) ;;
*) cat "$W/screen.log"; fail "after a resize the cursor row is '$line'" ;;
esac

T send-keys -t e2e -l ' now complete'
T send-keys -t e2e Enter
must_line "$W/bob.out" '^MSG alice half typed line now complete$' 1 10
exactly "$W/bob.out" '^MSG ' 1

T send-keys -t e2e -l '/quit'
T send-keys -t e2e Enter
# The shell around chatc records its exit status (tmux's own pane_dead_status
# is not always filled in when a pane dies).
end=$(( $(date +%s) + 10 ))
until [ -s "$W/alice.exit" ]; do
	[ "$(date +%s)" -gt "$end" ] && fail "/quit did not end chatc"
	sleep 0.05
done
st=$(cat "$W/alice.exit")
[ "$st" = 0 ] || fail "chatc exited $st after /quit"
must_line "$W/bob.out" '^LEFT alice$' 1 10
stop_chatc bob

# Ctrl-C in the middle of a line quits cleanly: exit 0, the terminal back in
# canonical mode with echo, signals and output processing, alternate screen off.
{
	printf "'%s' --room screen2 --nick alice --relay 127.0.0.1:%s --keyd '%s' 2>>'%s'\n" \
	    "$BIN/chatc" "$relay_PORT" "$alice_SOCK" "$W/alice.err"
	echo 'echo "EXIT=$?"'
	echo "stty -a | tr ' ;' '\\n\\n' | grep -E -x -e '-?(icanon|echo|isig|icrnl|opost)' | sort | tr '\\n' ' '"
	echo 'echo; echo WRAP-DONE; exec sleep 60'
} >"$W/wrap.sh"
T new-session -d -s e2e2 -x 100 -y 30 "sh '$W/wrap.sh'"
end=$(( $(date +%s) + 10 ))
until T capture-pane -p -t e2e2 | grep -q 'screen2'; do
	[ "$(date +%s)" -gt "$end" ] && fail "the second chatc drew nothing"
	sleep 0.05
done
T send-keys -t e2e2 -l 'abc'
T send-keys -t e2e2 C-c
end=$(( $(date +%s) + 10 ))
until T capture-pane -p -t e2e2 | grep -q 'WRAP-DONE'; do
	[ "$(date +%s)" -gt "$end" ] && fail "Ctrl-C did not end chatc: $(T capture-pane -p -t e2e2)"
	sleep 0.05
done
T capture-pane -p -t e2e2 >"$W/screen2.log"
grep -q '^EXIT=0$' "$W/screen2.log" || fail "chatc exited $(grep EXIT= "$W/screen2.log") on Ctrl-C"
modes=$(grep -E 'icanon' "$W/screen2.log" | sed 's/ *$//')
[ "$modes" = "echo icanon icrnl isig opost" ] || fail "terminal not restored after Ctrl-C: '$modes'"
[ "$(T display -p -t e2e2 '#{alternate_on}')" = 0 ] || fail "alternate screen left on after Ctrl-C"
note "ok: input line intact while messages arrive; /quit exits 0; Ctrl-C restores the terminal"
