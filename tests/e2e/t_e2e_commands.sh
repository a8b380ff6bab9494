#!/bin/sh
# SPDX-License-Identifier: ISC
# Commands take arguments and any case (issue 16; on 0.1.0 each of these was
# "unknown command"), each checked even when another fails:
#  case     /WHO is /who;
#  help     /help verify says what /verify does;
#  who      /who bob shows bob's fingerprint;
#  rekey    /rekey bob rekeys with bob only;
#  me       /me waves: the peer gets "/me waves", a screen shows "* alice waves";
#  msg      /msg bob TEXT reaches bob and not carol; alice's screen marks it;
#  usage    /clear now is a usage error, not sent;
#  quit     /quit bye says "bye" to the room, then leaves.
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }

start_relay relay
# tmux starts chatc by hand: the same room as chat cmds (room_args).
room_args cmds; RARGS="$RA1 $RA2"
start_keyd alice
start_keyd bob
start_keyd carol
chat alice cmds "$relay_PORT"
chat bob cmds "$relay_PORT"
chat carol cmds "$relay_PORT"
for p in bob carol; do must_line "$W/alice.out" "^SECURE $p " 1 15; done
must_line "$W/bob.out" '^SECURE carol ' 1 15

say alice "/WHO"
wait_line "$W/alice.err" '^room invite [0-9a-f]{8}; you are alice' 1 5 || bad case "/WHO: $(tail -n 2 "$W/alice.out")"
say alice "/help verify"
wait_line "$W/alice.err" '^/verify \[NICK\]: safety number' 1 5 || bad help "$(tail -n 2 "$W/alice.err")"
say alice "/who bob"
wait_line "$W/alice.err" "^  bob $(fpr_of bob) " 1 5 || bad who "$(tail -n 2 "$W/alice.err")"

say alice "/rekey bob"
if wait_line "$W/alice.err" '^rekeying with bob$' 1 5; then
	wait_line "$W/alice.err" '^INFO rekeyed with bob$' 1 10 || bad rekey "bob was not rekeyed"
	say alice "after the rekey"
	must_line "$W/carol.out" '^MSG alice after the rekey$' 1 10
	[ "$(count "$W/alice.err" 'rekey.* carol')" -eq 0 ] || bad rekey "carol was rekeyed too"
else
	bad rekey "$(tail -n 1 "$W/alice.out")"
fi

say alice "/me waves"
wait_line "$W/bob.out" '^MSG alice /me waves$' 1 5 || bad me "bob got: $(tail -n 1 "$W/bob.out")"

say alice "/msg bob just for you"
if wait_line "$W/bob.out" '^MSG alice just for you$' 1 5; then
	say alice "for everyone after it"
	must_line "$W/carol.out" '^MSG alice for everyone after it$' 1 10
	[ "$(count "$W/carol.out" 'just for you')" -eq 0 ] || bad msg "carol got the /msg"
else
	bad msg "bob got: $(tail -n 1 "$W/bob.out")"
fi
say alice "/msg nobody hello"
wait_line "$W/alice.out" '^WARN not sent to nobody \(no secure session with it in this room\): hello$' 1 5 ||
	bad msg "/msg to nobody: $(tail -n 1 "$W/alice.out")"

say alice "/clear now"
wait_line "$W/alice.out" '^WARN usage: /clear; not sent$' 1 5 || bad usage "$(tail -n 1 "$W/alice.out")"

# The screen: an action and a /msg as they are shown.
if command -v tmux >/dev/null 2>&1; then
	unset TMUX
	E2E_TMUX="$W/tmux.sock"
	T() { tmux -S "$E2E_TMUX" "$@"; }
	start_keyd dave
	T -f /dev/null new-session -d -s d -x 120 -y 20 \
	    "'$BIN/chatc' $RARGS --nick dave --relay 127.0.0.1:$relay_PORT $CHATC_LINK --keyd '$dave_SOCK' 2>'$W/dave.err'; exec sleep 600"
	must_line "$W/bob.out" '^SECURE dave ' 1 15
	must_line "$W/alice.out" '^SECURE dave ' 1 15
	say alice "/me dances"
	say bob "/msg dave only dave sees this"
	end=$(( $(now_ms) + 5000 ))
	until T capture-pane -p -t d | grep -q 'only dave sees this'; do
		[ "$(now_ms)" -gt "$end" ] && break
		sleep 0.05
	done
	T capture-pane -p -t d >"$W/dave.screen"
	grep -q '\* alice dances' "$W/dave.screen" || bad me "dave's screen: $(grep dances "$W/dave.screen")"
	# A /msg to us is shown as one (TEXT flag PRIVATE, issue 17's inner kinds).
	grep -q '\[bob -> you\] only dave sees this' "$W/dave.screen" ||
		bad msg "bob's /msg to dave is not marked: $(grep 'only dave' "$W/dave.screen")"
	T send-keys -t d -l '/msg alice psst'; T send-keys -t d Enter
	if wait_line "$W/alice.out" '^MSG dave psst$' 1 5; then
		# Marked as a /msg of ours, and delivered to its one peer (issue 13).
		end=$(( $(now_ms) + 5000 ))
		until T capture-pane -p -t d | grep -q '\[you -> alice\] \[  all  \] psst'; do
			[ "$(now_ms)" -gt "$end" ] && break
			sleep 0.05
		done
		T capture-pane -p -t d | grep -q '\[you -> alice\] \[  all  \] psst' ||
			bad msg "dave's own /msg is not marked delivered: $(T capture-pane -p -t d | grep psst)"
	else
		bad msg "dave's /msg did not reach alice"
	fi
fi

say alice "/quit bye all"
wait_line "$W/bob.out" '^MSG alice bye all$' 1 5 || bad quit "bob got: $(tail -n 1 "$W/bob.out")"
must_line "$W/bob.out" '^LEFT alice$' 1 10
wait_exit "$alice_PID" 10 || fail "alice did not end after /quit"
[ "$E2E_RC" -eq 3 ] || note "notice: alice exited $E2E_RC"
stop_chatc bob
stop_chatc carol
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
