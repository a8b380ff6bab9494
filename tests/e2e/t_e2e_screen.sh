#!/bin/sh
# SPDX-License-Identifier: ISC
# The screen as irssi or WeeChat users expect it (issue 16), driven through
# tmux (send-keys, paste-buffer, capture-pane), alice on the screen and bob in
# --batch. Each bug of 0.1.0 is checked even when another fails:
#  scrollback  PgUp shows what scrolled off, PgDn comes back;
#  history     Up brings back a line sent before;
#  complete    Tab completes a nick ("bo" -> "bob: ") and a command;
#  readline    Ctrl-Left/Right move by words, Ctrl-W, Alt-B, Ctrl-K, Ctrl-Y;
#  paste       a bracketed paste of 3 lines sends nothing until a second
#              Enter (0.1.0 sent 2 lines at once as it was pasted);
#  long        4,100 bytes go as 2 messages after a second Enter (0.1.0
#              refused the line and threw the typed text away);
#  wrap        a long message wraps at spaces, the rows after the first
#              indented under the text (0.1.0 cut words, no indent);
#  mention     a line naming alice is highlighted (reverse video);
#  no-color    with NO_COLOR set no colour is drawn;
#  term        TERM=dumb (no cursor addressing) gets the chat as --batch,
#              saying so, without escape sequences (0.1.0 drew ANSI anyway);
#  transcript  after /quit the conversation is still on the terminal;
#  error       ... and after an error (keyd lost), with the ERROR on stderr.
. "$E2E_LIB/common.sh"
need_bins
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }

start_relay relay
# tmux starts chatc by hand: the same room as chat screen (room_args).
room_args screen; RARGS="$RA1 $RA2"
start_keyd alice
start_keyd bob
unset TMUX
E2E_TMUX="$W/tmux.sock"
T() { tmux -S "$E2E_TMUX" "$@"; }
screen() { T capture-pane -p ${2:-} -t "${1:-s}" >"$W/screen.log" 2>/dev/null; }
# wait_screen ERE [SECS] [PANE] [-e]: until the pane shows a line matching ERE.
wait_screen() {
	ws_end=$(( $(now_ms) + $(secs_ms "${2:-5}") ))
	while :; do
		screen "${3:-s}" "${4:-}"; grep -q -E -e "$1" "$W/screen.log" && return 0
		[ "$(now_ms)" -gt "$ws_end" ] && return 1
		sleep 0.05
	done
}
input_is() {
	cy=$(T display -p -t s '#{cursor_y}')
	screen; sed -n "$((cy + 1))p" "$W/screen.log" | sed 's/ *$//'
}
type_enter() { T send-keys -t s -l "$1"; T send-keys -t s Enter; }

T -f /dev/null new-session -d -s s -x 100 -y 30 \
    "'$BIN/chatc' $RARGS --nick alice --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$alice_SOCK' 2>'$W/alice.err'; echo ALICE-EXIT=\$?; exec sleep 600" ||
	fail "tmux would not start"
T set-option -t s status off >/dev/null 2>&1
wait_screen 'alice' 10 || fail "chatc drew nothing: $(cat "$W/screen.log")"
chat bob screen "$relay_PORT"
must_line "$W/bob.out" '^SECURE alice ' 1 15
wait_screen 'bob\((new|pinned)\)' 10 || fail "alice never shows bob secure: $(cat "$W/screen.log")"

# scrollback
for i in $(seq 1 60); do say bob "scroll line $i"; done
wait_screen 'scroll line 60$' 10 || fail "bob's lines do not show: $(cat "$W/screen.log")"
grep -q 'scroll line 1$' "$W/screen.log" && fail "the screen is taller than expected"
T send-keys -t s PPage PPage PPage
if wait_screen 'scroll line 1$' 3; then
	grep -q 'scroll line 60$' "$W/screen.log" && bad scrollback "PgUp did not move the view"
	T send-keys -t s NPage NPage NPage NPage
	wait_screen 'scroll line 60$' 3 || bad scrollback "PgDn did not come back"
else
	bad scrollback "PgUp does not show the first line"
fi
T send-keys -t s NPage NPage NPage NPage

# history
type_enter "the first line"
must_line "$W/bob.out" '^MSG alice the first line$' 1 10
type_enter "the second line"
must_line "$W/bob.out" '^MSG alice the second line$' 1 10
T send-keys -t s Up Up
sleep 0.3
case $(input_is) in
*"the first line") T send-keys -t s Enter
	wait_line "$W/bob.out" '^MSG alice the first line$' 2 10 || bad history "Enter on it sent nothing" ;;
*) bad history "Up Up shows '$(input_is)'"; T send-keys -t s C-u ;;
esac

# complete
T send-keys -t s -l 'bo'; T send-keys -t s Tab; T send-keys -t s -l 'hi'; T send-keys -t s Enter
wait_line "$W/bob.out" '^MSG alice bob: hi$' 1 5 || bad complete "Tab on 'bo': $(tail -n 1 "$W/bob.out")"
T send-keys -t s C-u
T send-keys -t s -l '/wh'; T send-keys -t s Tab
sleep 0.3
case $(input_is) in
*"/who") ;;
*) bad complete "Tab on '/wh' shows '$(input_is)'" ;;
esac
T send-keys -t s C-u

# readline: Ctrl-Left twice, insert; End; Ctrl-W; Alt-B, Ctrl-K; Ctrl-A, Ctrl-Y.
T send-keys -t s -l 'alpha beta gamma'
T send-keys -t s C-Left C-Left; T send-keys -t s -l 'X'; T send-keys -t s End
T send-keys -t s C-w; T send-keys -t s -l 'delta epsilon'; T send-keys -t s M-b C-k C-a C-y
T send-keys -t s Enter
wait_line "$W/bob.out" '^MSG alice epsilonalpha Xbeta delta $' 1 5 ||
	bad readline "sent: $(tail -n 1 "$W/bob.out")"

# paste: three lines, bracketed; nothing goes before the second Enter.
n0=$(count "$W/bob.out" '^MSG ')
printf 'pasted one\npasted two\npasted three' | T load-buffer -
T paste-buffer -p -t s
sleep 0.5
n1=$(count "$W/bob.out" '^MSG ')
if [ "$n1" -ne "$n0" ]; then
	bad paste "$((n1 - n0)) line(s) went out as they were pasted"
	T send-keys -t s C-u
else
	T send-keys -t s Enter
	wait_screen '3 lines: Enter sends them as 3 messages' 3 || bad paste "no question before sending"
	[ "$(count "$W/bob.out" '^MSG ')" -eq "$n0" ] || bad paste "sent before the second Enter"
	T send-keys -t s Enter
	wait_line "$W/bob.out" '^MSG alice pasted three$' 1 5 || bad paste "the second Enter sent nothing"
	tail -n 3 "$W/bob.out" | tr '\n' '|' | grep -q '^MSG alice pasted one|MSG alice pasted two|MSG alice pasted three|$' ||
		bad paste "bob got: $(tail -n 3 "$W/bob.out" | tr '\n' '|')"
fi

# long: 4,100 bytes of words, pasted; two messages after the second Enter.
$PY -c 'import sys; sys.stdout.write(" ".join(["w%03d" % (i % 1000) for i in range(820)]))' >"$W/long.txt"
T load-buffer "$W/long.txt"
T paste-buffer -p -t s
T send-keys -t s Enter
if wait_screen 'Enter sends it as 2 messages' 3; then
	T send-keys -t s Enter
	if wait_line "$W/bob.out" '^MSG alice .*w819$' 1 5; then
		got=$(tail -n 2 "$W/bob.out" | sed 's/^MSG alice //' | tr '\n' ' ' | sed 's/ *$//')
		[ "$got" = "$(cat "$W/long.txt")" ] || bad long "bob got other text ($(printf %s "$got" | wc -c) bytes)"
	else
		bad long "nothing arrived after the second Enter"
	fi
else
	bad long "no question for an over-long line: $(grep -E 'long|not sent' "$W/screen.log" | head -n 2)"
	T send-keys -t s C-u
fi

# wrap: a long message from bob, words whole, later rows indented.
say bob "$($PY -c 'print(" ".join(["wrapword%02d" % i for i in range(30)]))')"
wait_screen 'wrapword29' 5 || fail "the long message from bob does not show"
grep -E 'wrapword[0-9]$|wrapwor$|wrapw$' "$W/screen.log" >/dev/null && bad wrap "a word was cut: $(grep -E 'wrapw' "$W/screen.log" | head -n 3)"
grep -E '^ {6,}wrapword' "$W/screen.log" >/dev/null || bad wrap "no indented continuation row: $(grep wrapword "$W/screen.log" | head -n 3)"

# mention
say bob "a line for ALICE to see"
if wait_screen 'a line for ALICE to see' 5 s -e; then
	grep 'a line for ALICE' "$W/screen.log" | grep -q "$(printf '\033')\[[0-9;]*;7m\|$(printf '\033')\[7m" ||
		bad mention "not highlighted: $(grep 'a line for ALICE' "$W/screen.log" | cat -v)"
else
	bad mention "the line does not show"
fi

# transcript
type_enter "/quit"
end=$(( $(date +%s) + 10 ))
until T capture-pane -p -t s | grep -q 'ALICE-EXIT='; do
	[ "$(date +%s)" -gt "$end" ] && fail "/quit did not end chatc"
	sleep 0.05
done
# The pane's own history too: the transcript is longer than the pane.
T capture-pane -p -S -400 -t s >"$W/screen.log"
grep -q 'ALICE-EXIT=0' "$W/screen.log" || fail "chatc exited $(grep -o 'ALICE-EXIT=[0-9]*' "$W/screen.log")"
grep -q 'a line for ALICE to see' "$W/screen.log" && grep -q 'the second line' "$W/screen.log" ||
	bad transcript "the conversation is gone: $(tail -n 5 "$W/screen.log")"

# no-color: a second chatc with NO_COLOR; a warning and bob's line show plain.
T new-session -d -s n -x 100 -y 20 \
    "NO_COLOR=1 '$BIN/chatc' $RARGS --nick alice2 --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$alice_SOCK' --expect bob=0000000000000000000000000000000000000000 2>>'$W/alice.err'; exec sleep 600"
if wait_screen 'bob' 10 n -e; then
	type_n() { T send-keys -t n -l "$1"; T send-keys -t n Enter; }
	type_n "/nosuchcommand"
	wait_screen 'unknown command' 5 n -e || bad no-color "no warning to look at"
	grep -q "$(printf '\033')\[[0-9;]*3[1-7]m" "$W/screen.log" &&
		bad no-color "colour with NO_COLOR set: $(grep "$(printf '\033')\[[0-9;]*3[1-7]m" "$W/screen.log" | head -n 1 | cat -v)"
else
	bad no-color "the second chatc drew nothing: $(cat "$W/screen.log")"
fi

# term: a terminal that cannot place the cursor gets the chat line by line.
T new-session -d -s d -x 100 -y 10 \
    "TERM=dumb '$BIN/chatc' $RARGS --nick dumbo --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$alice_SOCK' 2>&1; exec sleep 600"
if wait_screen 'SECURE bob' 10 d -e; then
	grep -q 'cannot place the cursor; going on as with --batch' "$W/screen.log" ||
		bad term "no word about TERM=dumb: $(head -n 3 "$W/screen.log")"
	grep -q "$(printf '\033')" "$W/screen.log" && bad term "escape sequences on a dumb terminal"
else
	bad term "nothing readable on a dumb terminal: $(head -n 3 "$W/screen.log" | cat -v)"
fi
T kill-session -t d

# error: keyd goes away under a third screen; the conversation stays too.
start_keyd carol
T new-session -d -s c -x 100 -y 20 \
    "'$BIN/chatc' $RARGS --nick carol --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$carol_SOCK' 2>'$W/carol.err'; echo CAROL-EXIT=\$?; exec sleep 600"
must_line "$W/bob.out" '^SECURE carol ' 1 15
say bob "before carol loses keyd"
if wait_screen 'before carol loses keyd' 10 c; then
	kill -KILL "$carol_KEYD_PID"
	wait_screen 'CAROL-EXIT=1' 10 c || bad error "chatc did not end when keyd went: $(tail -n 3 "$W/screen.log")"
	T capture-pane -p -S -100 -t c >"$W/screen.log"
	grep -q 'before carol loses keyd' "$W/screen.log" ||
		bad error "the conversation is gone after the error: $(tail -n 4 "$W/screen.log")"
	grep -q 'lost keyd' "$W/carol.err" || bad error "the ERROR is not on stderr: $(cat "$W/carol.err")"
else
	bad error "carol's screen never showed bob's line"
fi
# bob's last line went to alice's key too, held only by alice2 now, which
# refused bob (--expect) and so never acknowledges: it ends UNDELIVERED at
# exit (issue 13), exit 3; nothing else may.
stop_chatc bob 3
[ "$(count "$W/bob.out" '^UNDELIVERED ')" -eq "$(count "$W/bob.out" '^UNDELIVERED alice2 [0-9]+ exit$')" ] ||
	bad undelivered "$(grep '^UNDELIVERED' "$W/bob.out" | head -n 3)"
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
