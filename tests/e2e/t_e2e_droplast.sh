#!/bin/sh
# SPDX-License-Identifier: ISC
# The last message of a burst, dropped by the relay, is reported (issue 13).
# A receiver notices a dropped message only when a later one arrives; after
# the last one of a burst none does. Here the proxy on alice's link drops
# the last DATA frame alice sends before 300 ms of quiet (her fifth line):
# alice's PING a second later comes back without its ACK, so she must say
# that a message to bob was not acknowledged, and send it again (bob shows
# all five, once each, in order). On 0.1.0 bob sees four and nobody says
# anything.
# The proxy reads relay frames: plain TCP on both ends (the subject is the
# end-to-end layer; t_tls_* test the link).
E2E_LINK=plain
. "$E2E_LIB/common.sh"
need_bins
N=5

start_relay relay
start_keyd alice
start_keyd bob
mkfifo "$W/pa.ctl"
start_proxy pa "$relay_PORT" --control "$W/pa.ctl"
chat alice droplast "$pa_PORT"
must_line "$W/pa.log" 'conn 0 member' 1 10
chat bob droplast "$relay_PORT"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
# Alice's first DATA frame after the handshake is her room view (2 s later):
# let it pass, so that what is dropped is a line.
wait_line "$W/pa.log" 'conn 0 c2r DATA' 1 5 || note "alice sent no DATA frame on her own"
echo "droplast 0" >"$W/pa.ctl"
must_line "$W/pa.log" 'ctl droplast 0 ok' 1 5
i=0
while [ $i -lt $N ]; do i=$((i + 1)); echo "burst $i"; done >"$W/burst"
say_file alice "$W/burst"
must_line "$W/pa.log" 'droplast conn 0 done' 1 10
must_line "$W/alice.out" '^WARN 1 message\(s\) to bob were not acknowledged' 1 10
must_line "$W/bob.out" "^MSG alice burst $N\$" 1 10
must_line "$W/alice.out" "^DELIVERED bob $N\$" 1 10
stop_chatc alice
stop_chatc bob
r=$($PY "$E2E_LIB/delivery.py" "$W/alice.out" alice "$W/bob.out" bob burst "$N" \
    --all-delivered 2>&1) || fail "$r"
note "figure: last of a burst dropped: $r; alice said: $(grep '^WARN 1 message' "$W/alice.out")"
note "ok: the dropped last message was reported and sent again"
