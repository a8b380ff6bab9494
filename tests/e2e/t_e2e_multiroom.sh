#!/bin/sh
# SPDX-License-Identifier: ISC
# Several rooms in one chatc (issue 16; 0.1.0 took one --room and had no
# /join), each checked even when another fails:
#  batch     with --join CODE and --room NAME, every event line names its room
#            ("#two MSG ...", an invite code's room "#invite\x20" and the first
#            bytes of its id), lines go to the current room, /win N switching
#            it, and /join CODE adds a room at run time;
#  sessions  each room has its own sessions: bob in "one" never gets what is
#            said in "two";
#  screen    on the screen (tmux), messages land in their room's window, the
#            status line shows activity in the other one (2:two+), Alt-2
#            switches, /join NAME adds a window (three: the room key derived
#            inside the sandbox), /part takes it away.
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }

start_relay relay
for k in alice bob carol dave erin; do start_keyd "$k"; done
# "one" by invite code (chat), "two" and "three" by name.
byname() { start_chatc "$1" --room "$2" --nick "$1" --relay "127.0.0.1:$relay_PORT" --keyd "$(eval echo "\$${1}_SOCK")" $CHATC_LINK; }
ONE='#invite.x20[0-9a-f]{8}'
chat alice one "$relay_PORT" --room two
chat bob one "$relay_PORT"
byname carol two
must_line "$W/bob.out" '^SECURE alice ' 1 15
must_line "$W/carol.out" '^SECURE alice ' 1 15
if wait_line "$W/alice.out" "^$ONE SECURE bob " 1 10 && wait_line "$W/alice.out" '^#two SECURE carol ' 1 10; then
	say bob "hello from one"
	say carol "hello from two"
	wait_line "$W/alice.out" "^$ONE MSG bob hello from one\$" 1 10 || bad batch "no #invite... MSG line"
	wait_line "$W/alice.out" '^#two MSG carol hello from two$' 1 10 || bad batch "no #two MSG line"
	say alice "to the first room"
	must_line "$W/bob.out" '^MSG alice to the first room$' 1 10
	say alice "/win 2"
	say alice "to the second room"
	must_line "$W/carol.out" '^MSG alice to the second room$' 1 10
	[ "$(count "$W/bob.out" 'second room')" -eq 0 ] || bad sessions "bob got a line of room two"
	[ "$(count "$W/carol.out" 'first room')" -eq 0 ] || bad sessions "carol got a line of room one"
	chat erin four "$relay_PORT"
	say alice "/join $(room_code four)"
	wait_line "$W/alice.out" '^#invite.x20[0-9a-f]{8} SECURE erin ' 1 15 || bad batch "/join CODE: no session with erin"
	say alice "to the fourth room"
	must_line "$W/erin.out" '^MSG alice to the fourth room$' 1 10
	stop_chatc erin
else
	bad batch "events do not name their room: $(head -n 3 "$W/alice.out")"
fi
stop_chatc alice
stop_chatc bob
stop_chatc carol

command -v tmux >/dev/null 2>&1 || { [ -z "$BAD" ] || fail "broken:$BAD"; skip "tmux is not installed"; }
unset TMUX
E2E_TMUX="$W/tmux.sock"
T() { tmux -S "$E2E_TMUX" "$@"; }
screen() { T capture-pane -p -t s >"$W/screen.log" 2>/dev/null; }
wait_screen() {
	ws_end=$(( $(now_ms) + $(secs_ms "${2:-5}") ))
	while :; do
		screen; grep -q -E -e "$1" "$W/screen.log" && return 0
		[ "$(now_ms)" -gt "$ws_end" ] && return 1
		sleep 0.05
	done
}
T -f /dev/null new-session -d -s s -x 110 -y 24 \
    "'$BIN/chatc' --join $(room_code one) --room two --nick alice --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$alice_SOCK' 2>'$W/alice.err'; echo ALICE-EXIT=\$?; exec sleep 600" ||
	fail "tmux would not start"
chat bob one "$relay_PORT"
byname carol two
must_line "$W/bob.out" '^SECURE alice ' 1 15
must_line "$W/carol.out" '^SECURE alice ' 1 15
wait_screen '\[1:invite [0-9a-f]{8}\] 2:two' 10 || bad screen "no two windows on the status line: $(grep '1:' "$W/screen.log")"
say bob "bob speaks in one"
say carol "carol speaks in two"
if wait_screen 'bob speaks in one' 5; then
	sleep 0.3; screen
	grep -q 'carol speaks in two' "$W/screen.log" && bad screen "room two's message shows in window one"
	grep -q '2:two+' "$W/screen.log" || bad screen "no activity shown for window two: $(grep '1:inv' "$W/screen.log")"
else
	bad screen "bob's line is not in window one"
fi
T send-keys -t s M-2
if wait_screen 'carol speaks in two' 5; then
	grep -q 'bob speaks in one' "$W/screen.log" && bad screen "window two shows room one's message"
	grep -Eq '1:invite [0-9a-f]{8} \[2:two\]' "$W/screen.log" || bad screen "the status line does not show window two as current"
	T send-keys -t s -l 'typed in window two'; T send-keys -t s Enter
	must_line "$W/carol.out" '^MSG alice typed in window two$' 1 10
	[ "$(count "$W/bob.out" 'typed in window two')" -eq 0 ] || bad screen "bob got window two's line"
else
	bad screen "Alt-2 does not show window two"
fi
byname dave three
T send-keys -t s -l '/join three'; T send-keys -t s Enter
if wait_screen '\[3:three\]' 5; then
	must_line "$W/dave.out" '^SECURE alice ' 1 15
	T send-keys -t s -l 'hello three'; T send-keys -t s Enter
	must_line "$W/dave.out" '^MSG alice hello three$' 1 10
	T send-keys -t s -l '/part'; T send-keys -t s Enter
	must_line "$W/dave.out" '^LEFT alice$' 1 10
	wait_screen '[0-9a-f]{8}\]? \[?2:two' 5 && ! grep -q '3:three' "$W/screen.log" ||
		bad screen "window three is still there after /part: $(grep '1:inv' "$W/screen.log")"
else
	bad screen "/join three made no window: $(grep '1:inv' "$W/screen.log")"
fi
T send-keys -t s -l '/quit'; T send-keys -t s Enter
wait_screen 'ALICE-EXIT=0' 10 || bad screen "chatc did not end well: $(tail -n 3 "$W/screen.log")"
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
