#!/bin/sh
# SPDX-License-Identifier: ISC
# chatc.conf (issue 16: 0.1.0 needed --room --nick --relay --expect on every
# run), each checked even when another fails:
#  file      $XDG_CONFIG_HOME/veil/chatc.conf alone (no flag but --batch) joins
#            its rooms (an invite code, a room name) with its nick on its
#            relay, honouring its expect;
#  flags     a flag overrides the file (--nick, --join);
#  error     an unknown keyword stops chatc with exit 2 and one line naming
#            the file and the line, also on a terminal (tmux);
#  screen    on a terminal (tmux) the file's rooms are windows, and
#            "colour no" draws no colour.
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }

start_relay relay
start_keyd alice
start_keyd bob
start_keyd carol
mkdir -p "$XDG_CONFIG_HOME/veil"
CONF="$XDG_CONFIG_HOME/veil/chatc.conf"
cat >"$CONF" <<EOC
# alice's chatc
nick alice
relay 127.0.0.1:$relay_PORT
$(case $CHATC_LINK in --relay-fp*) echo "relay-fp $RELAY_FP" ;; esac)
keyd $alice_SOCK
join $(room_code confroom1)
room confroom2
expect bob=$(fpr_of bob)
colour no
EOC
chmod 600 "$CONF"

chat bob confroom1 "$relay_PORT"
start_chatc carol --room confroom2 --nick carol --relay "127.0.0.1:$relay_PORT" --keyd "$carol_SOCK" $CHATC_LINK
start_chatc alice
# The invite code's room is called "invite" and the first bytes of its id.
if wait_line "$W/alice.out" '^#invite.x20[0-9a-f]{8} SECURE bob .* expected$' 1 15; then
	wait_line "$W/alice.out" '^#confroom2 SECURE carol ' 1 15 || bad file "not in the file's second room"
	must_line "$W/bob.out" '^SECURE alice ' 1 10
else
	bad file "alice: $(head -n 3 "$W/alice.out" "$W/alice.err")"
fi
stop_chatc alice

# Flags over the file.
room_args confroom1
start_chatc alice --nick alice2 "$RA1" "$RA2"
if wait_line "$W/bob.out" '^SECURE alice2 ' 1 15; then
	no_line "$W/alice.out" '^#'	# one room: no prefixes
	[ "$(count "$W/carol.out" '^SECURE alice2 ')" -eq 0 ] || bad flags "--room did not replace the file's rooms"
else
	bad flags "--nick alice2 did not reach bob: $(head -n 3 "$W/alice.out" "$W/alice.err")"
fi
stop_chatc alice

# The screen: the file's rooms as windows, no colour.
if command -v tmux >/dev/null 2>&1; then
	unset TMUX
	E2E_TMUX="$W/tmux.sock"
	T() { tmux -S "$E2E_TMUX" "$@"; }
	T -f /dev/null new-session -d -s s -x 110 -y 20 \
	    "XDG_CONFIG_HOME='$XDG_CONFIG_HOME' '$BIN/chatc'; echo RC=\$?; exec sleep 600" ||
		fail "tmux would not start"
	end=$(( $(now_ms) + 10000 ))
	until T capture-pane -p -t s | grep -Eq '\[1:invite [0-9a-f]{8}\] 2:confroom2'; do
		[ "$(now_ms)" -gt "$end" ] && break
		sleep 0.05
	done
	T capture-pane -p -e -t s >"$W/screen.log"
	grep -Eq '\[1:invite [0-9a-f]{8}\] 2:confroom2' "$W/screen.log" || bad screen "no windows for the file's rooms: $(grep -a '1:' "$W/screen.log" | cat -v)"
	T send-keys -t s -l '/nosuchcommand'; T send-keys -t s Enter
	sleep 0.3
	T capture-pane -p -e -t s >"$W/screen.log"
	grep -q "$(printf '\033')\[[0-9;]*3[1-7]m" "$W/screen.log" && bad screen "colour drawn with colour no"
	T send-keys -t s -l '/quit'; T send-keys -t s Enter
fi

# An error in the file: one line naming the file and the line, exit 2.
cat >"$CONF" <<EOC
nick alice
room confroom1
nickname alice
EOC
"$BIN/chatc" --batch </dev/null >"$W/err.out" 2>"$W/err.err"
rc=$?
if [ $rc -ne 2 ]; then
	bad error "exit $rc: $(head -n 2 "$W/err.err")"
else
	[ "$(wc -l <"$W/err.err")" -eq 1 ] || bad error "$(wc -l <"$W/err.err") lines: $(cat "$W/err.err")"
	grep -q -F "chatc: $CONF line 3: unknown keyword \"nickname\"" "$W/err.err" ||
		bad error "said: $(cat "$W/err.err")"
fi
if command -v tmux >/dev/null 2>&1; then
	T new-session -d -s e -x 110 -y 10 \
	    "XDG_CONFIG_HOME='$XDG_CONFIG_HOME' '$BIN/chatc'; echo RC=\$?; exec sleep 600"
	end=$(( $(now_ms) + 5000 ))
	until T capture-pane -p -t e | grep -q 'RC='; do
		[ "$(now_ms)" -gt "$end" ] && break
		sleep 0.05
	done
	T capture-pane -p -t e >"$W/screen.log"
	grep -q 'line 3: unknown keyword "nickname"' "$W/screen.log" && grep -q 'RC=2' "$W/screen.log" ||
		bad error "on a terminal: $(cat "$W/screen.log")"
fi
stop_chatc bob
stop_chatc carol
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
