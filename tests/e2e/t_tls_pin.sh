#!/bin/sh
# SPDX-License-Identifier: ISC
# chatc checks the relay's key before it sends a byte (PROTOCOL.md 1.0, issue
# 14). A man in the middle with a key of its own (a TLS proxy passing frames
# on to the real relay):
#  1. is refused when --relay-fp pins the relay's key: an ERROR naming both
#     fingerprints and how to change the pin, exit 1, and not one frame
#     through the proxy;
#  2. is refused on an address where known_relays pinned the relay's key on
#     first use (the first chatc says so, the second finds it known), naming
#     both keys, the file's line and chatc --forget-relay; after
#     --forget-relay the next connection pins what it finds;
# and known_relays, or its directory, open to others is refused at start.
# Also the link modes that do not match say what is wrong: a --plaintext
# chatc at a TLS relay, a TLS chatc at a --plaintext relay.
# On 0.1.0 chatc has no --relay-fp (exit 2) and never checks a relay.
. "$E2E_LIB/common.sh"
need_bins
command -v openssl >/dev/null 2>&1 || skip "no openssl CLI for the impostor's certificate"

# has FILE TEXT: FILE has a line holding TEXT (fixed string: fingerprints hold + and /).
has() { grep -q -F -- "$2" "$1"; }
must_has() { has "$1" "$2" || fail "$(basename "$1") lacks \"$2\": $(tail -n 3 "$1")"; }

start_relay relay
fa=$RELAY_FP
kr=$XDG_DATA_HOME/veil/known_relays
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mitm \
    -days 2 -keyout "$W/mitm.key" -out "$W/mitm.crt" 2>"$W/openssl.log" ||
	fail "openssl req: $(cat "$W/openssl.log")"
chmod 600 "$W/mitm.key"
fm=$("$BIN/relayd" --fingerprint --key "$W/mitm.key") || fail "fingerprint of the impostor"
start_proxy mitm "$relay_PORT" --tls-key "$W/mitm.key" --tls-cert "$W/mitm.crt" --upstream-tls
start_keyd alice
start_keyd bob

note "1. --relay-fp: another key is refused"
start_chatc alice --room pin --nick alice --relay "127.0.0.1:$mitm_PORT" --keyd "$alice_SOCK" \
    --relay-fp "$fa"
wait_exit "$alice_PID" 10 || fail "chatc did not end at the impostor"
[ "$E2E_RC" -eq 1 ] || fail "chatc exited $E2E_RC at the impostor, not 1"
must_line "$W/alice.out" '^ERROR the relay at 127\.0\.0\.1:[0-9]+ presented the key ' 1 1
must_has "$W/alice.out" "presented the key $fm, but --relay-fp pins $fa: refusing it"
must_has "$W/alice.out" "run chatc with --relay-fp NEW"
no_line "$W/mitm.log" 'member'
[ ! -e "$kr" ] || fail "a pinned chatc wrote known_relays"

note "2. trust on first use, then another key on the same address"
chat2() { start_chatc "$1" --room tofu --nick "$1" --relay "127.0.0.1:$2" --keyd "$3"; }
chat2 alice "$relay_PORT" "$alice_SOCK"
must_line "$W/alice.out" '^WARN first connection to the relay at ' 1 10
must_has "$W/alice.out" "first connection to the relay at 127.0.0.1:$relay_PORT: its key $fa is now pinned in $kr"
chat2 bob "$relay_PORT" "$bob_SOCK"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
no_line "$W/bob.out" '^WARN first connection'
say bob "over a pinned link"
must_line "$W/alice.out" '^MSG bob over a pinned link$' 1 10
stop_chatc alice
stop_chatc bob
exactly "$kr" "^127\\.0\\.0\\.1:$relay_PORT " 1
grep -Eq "^127\\.0\\.0\\.1:$relay_PORT [^ ]+ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\$" "$kr" ||
	fail "known_relays line: $(cat "$kr")"
must_has "$kr" "127.0.0.1:$relay_PORT $fa "
[ "$(stat -c %a "$kr")" = 600 ] && [ "$(stat -c %a "$(dirname "$kr")")" = 700 ] ||
	fail "known_relays modes: $(stat -c '%a %n' "$kr" "$(dirname "$kr")")"

# The relay goes; the impostor takes its address.
port=$relay_PORT
kill -TERM "$relay_PID"
wait_exit "$relay_PID" 10 || fail "relayd did not stop"
start_relay back
start_proxy mitm2 "$back_PORT" --listen "127.0.0.1:$port" --tls-key "$W/mitm.key" \
    --tls-cert "$W/mitm.crt" --upstream-tls
chat2 alice "$port" "$alice_SOCK"
say alice "not for the impostor"
wait_exit "$alice_PID" 10 || fail "chatc did not end at the impostor"
[ "$E2E_RC" -eq 1 ] || fail "chatc exited $E2E_RC at the impostor, not 1"
must_has "$W/alice.out" "presented the key $fm, but $kr line 1 pins $fa: refusing it"
must_has "$W/alice.out" "or chatc --forget-relay 127.0.0.1:$port"
no_line "$W/mitm2.log" 'member'
"$BIN/chatc" --forget-relay "127.0.0.1:$port" >"$W/forget.out" 2>&1 ||
	fail "chatc --forget-relay: $(cat "$W/forget.out")"
must_has "$W/forget.out" "forgot 127.0.0.1:$port $fa"
no_line "$kr" "^127\\.0\\.0\\.1:$port "
chat2 alice "$port" "$alice_SOCK"
must_line "$W/alice.out" '^WARN first connection to the relay at ' 1 10
must_has "$W/alice.out" "its key $fm is now pinned"
stop_chatc alice
"$BIN/chatc" --forget-relay "127.0.0.1:1" >"$W/forget2.out" 2>&1 || fail "forgetting nothing failed"
must_has "$W/forget2.out" "127.0.0.1:1 is not in $kr"

note "3. known_relays or its directory open to others: refused at start"
chmod 644 "$kr"
printf 'x\n' | "$BIN/chatc" --room m --nick alice --relay "127.0.0.1:$back_PORT" \
    --keyd "$alice_SOCK" --batch >"$W/mode.out" 2>&1 && fail "chatc used a known_relays of mode 644"
must_has "$W/mode.out" "chmod 600"
chmod 600 "$kr"
chmod 755 "$(dirname "$kr")"
printf 'x\n' | "$BIN/chatc" --room m --nick alice --relay "127.0.0.1:$back_PORT" \
    --keyd "$alice_SOCK" --batch >"$W/mode2.out" 2>&1 && fail "chatc used a directory of mode 755"
must_has "$W/mode2.out" "with mode 0700"
chmod 700 "$(dirname "$kr")"

note "4. link modes that do not match"
printf 'x\n' | "$BIN/chatc" --room m --nick alice --relay "127.0.0.1:$back_PORT" \
    --keyd "$alice_SOCK" --batch --plaintext --give-up 2 >"$W/plain.out" 2>&1
must_line "$W/plain.out" '^WARN .*a relay that speaks TLS\? drop --plaintext' 1 1
E2E_LINK=plain
start_relay plainrelay
printf 'x\n' | "$BIN/chatc" --room m --nick alice --relay "127.0.0.1:$plainrelay_PORT" \
    --keyd "$alice_SOCK" --batch --relay-fp "$fa" --give-up 2 >"$W/tls.out" 2>&1
must_line "$W/tls.out" '^WARN no TLS link with the relay at .*a relay without TLS\?' 1 1
echo PASS
