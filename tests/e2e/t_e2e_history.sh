#!/bin/sh
# SPDX-License-Identifier: ISC
# Optional local history (issue 16), each checked even when another fails:
#  off        by default nothing is kept;
#  at-rest    with "history yes" in chatc.conf, lines are kept in
#             $XDG_STATE_HOME/veil/history, mode 0600, sealed by keyd: not
#             one word of them is in the file;
#  replay     the next chatc on a terminal (tmux) shows them, in the window of
#             their room, before the new ones;
#  identity   a chatc with another keyd (another identity) cannot read them;
#  delete     chatc --delete-history removes the file, in one command.
# 0.1.0 kept nothing: at-rest, replay and delete fail there.
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }
XDG_STATE_HOME="$W/state"
export XDG_STATE_HOME
H="$XDG_STATE_HOME/veil/history"

start_relay relay
# tmux starts chatc by hand: the same room as chat hist (room_args).
room_args hist; RARGS="$RA1 $RA2"
start_keyd alice
start_keyd bob
start_keyd mallory

secure_pair alice bob hist "$relay_PORT"
say bob "unkept words before the switch"
must_line "$W/alice.out" '^MSG bob unkept words before the switch$' 1 10
stop_chatc alice
stop_chatc bob
[ -e "$H" ] && bad off "a history was kept without being asked for"

mkdir -p "$XDG_CONFIG_HOME/veil"
printf 'history yes\n' >"$XDG_CONFIG_HOME/veil/chatc.conf"
chmod 600 "$XDG_CONFIG_HOME/veil/chatc.conf"
secure_pair alice bob hist "$relay_PORT"
say bob "kept words zanzibar"
say alice "my own kept words"
must_line "$W/alice.out" '^MSG bob kept words zanzibar$' 1 10
must_line "$W/bob.out" '^MSG alice my own kept words$' 1 10
stop_chatc alice
stop_chatc bob
if [ -s "$H" ]; then
	[ "$(stat -c %a "$H")" = 600 ] || bad at-rest "mode $(stat -c %a "$H")"
	grep -a -q -e zanzibar -e 'kept words' "$H" && bad at-rest "plaintext in the file"
else
	bad at-rest "no history file at $H"
fi

if command -v tmux >/dev/null 2>&1; then
	unset TMUX
	E2E_TMUX="$W/tmux.sock"
	T() { tmux -S "$E2E_TMUX" "$@"; }
	T -f /dev/null new-session -d -s s -x 110 -y 24 \
	    "'$BIN/chatc' $RARGS --nick alice --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$alice_SOCK' 2>'$W/alice.err'; exec sleep 600"
	end=$(( $(now_ms) + 10000 ))
	until T capture-pane -p -t s | grep -q 'from the local history'; do
		[ "$(now_ms)" -gt "$end" ] && break
		sleep 0.05
	done
	T capture-pane -p -t s >"$W/screen.log"
	grep -q '<bob> kept words zanzibar' "$W/screen.log" && grep -q '<alice> my own kept words' "$W/screen.log" ||
		bad replay "not shown again: $(grep -E 'kept|history' "$W/screen.log")"
	grep -q 'unkept words' "$W/screen.log" && bad replay "a line from before the history was on"
	T send-keys -t s -l '/quit'; T send-keys -t s Enter
else
	note "notice: tmux missing; the replay was not checked"
fi

# Another identity: its keyd opens nothing of it.
chat mallory hist "$relay_PORT" --nick alice
wait_line "$W/mallory.err" 'history: [0-9]+ record\(s\) could not be read' 1 10 ||
	bad identity "another keyd read the history, or said nothing: $(head -n 3 "$W/mallory.err")"
stop_chatc mallory

"$BIN/chatc" --delete-history >"$W/del.out" 2>&1 || bad delete "exit $?: $(cat "$W/del.out")"
[ -e "$H" ] && bad delete "the file is still there: $(cat "$W/del.out")"
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
