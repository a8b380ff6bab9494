#!/bin/sh
# SPDX-License-Identifier: ISC
# Suppression is detected (issue 13). The relay (a proxy on alice's link)
# drops every DATA frame from alice while keeping her listed (keepalives
# pass). Phase 1, nobody types: bob's keepalive PING gets no PONG and he must
# warn that alice is silent while the relay says she is here, within 30 s.
# Phase 2, alice types a line into the same black hole: she must warn
# within 30 s too. Then the drop ends and the line is delivered. On 0.1.0
# nothing is said at all.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins
SILENT='^WARN .*silent for [0-9]+ s while the relay says it is here'

start_relay relay
start_keyd alice
start_keyd bob
mkfifo "$W/pa.ctl"
start_proxy pa "$relay_PORT" --control "$W/pa.ctl"
chat alice suppress "$pa_PORT"
must_line "$W/pa.log" 'conn 0 member' 1 10
chat bob suppress "$relay_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
say alice "before"
must_line "$W/bob.out" '^MSG alice before$' 1 10

echo "drop * c2r" >"$W/pa.ctl"
must_line "$W/pa.log" 'ctl drop \* c2r ok' 1 5
t0=$(now_ms)
must_line "$W/bob.out" "$SILENT" 1 35
t1=$(now_ms)
note "figure: all of alice to bob dropped, nobody typing: bob warned after $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s"
[ $((t1 - t0)) -le 30000 ] || fail "bob warned only after $((t1 - t0)) ms (> 30 s)"
no_line "$W/bob.out" '^MSG alice into'

t0=$(now_ms)
say alice "into the void"
must_line "$W/alice.out" "$SILENT" 1 35
t1=$(now_ms)
note "figure: alice's line dropped: alice warned after $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s"
[ $((t1 - t0)) -le 30000 ] || fail "alice warned only after $((t1 - t0)) ms (> 30 s)"

echo "pass * c2r" >"$W/pa.ctl"
must_line "$W/bob.out" '^MSG alice into the void$' 1 20
must_line "$W/alice.out" '^DELIVERED bob 2$' 1 10
exactly "$W/bob.out" '^MSG alice into the void$' 1
stop_chatc alice
stop_chatc bob
note "ok: a relay dropping all of alice to bob was named on both sides within 30 s"
