#!/bin/sh
# SPDX-License-Identifier: ISC
# A hostile member (tests/e2e/lib/relay.py, no keys at all) in a room with
# two real chatc's (issue 11, item 1). It broadcasts, and sends to each of
# them: 0.1.0's killer (one DATA of 4,123 bytes starting 01 01, which made
# every chatc print "ERROR lost keyd (length over its limit)" and exit 1),
# a maximal frame of the same, every end-to-end type (and unknown types and
# versions, veil/1's and veil/2's) at every length that matters, well-formed handshake messages with
# garbage inside (so keyd itself refuses them), a DATA message with no
# session, and a flood of malformed ones. Both chatc's stay up, never say
# ERROR, keep talking to each other, name the hostile member in their WARNs,
# and after 32 malformed messages in a row ignore it. It comes three times,
# leaving in between (a new member id each time, or an id given out again).
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
start_keyd alice
start_keyd bob
secure_pair alice bob den "$relay_PORT"

cat >"$W/hostile.py" <<'PYEOF'
import hashlib, os, socket, struct, sys, time
sys.path.insert(0, os.environ["E2E_LIB"])
import relay

import peer2

port, step = int(sys.argv[1]), sys.argv[2]
room, _ = peer2.room_from_secret(peer2.invite_decode(sys.argv[3])[0])
c = relay.Client("127.0.0.1", port)
me, others = c.join(room)
print("hostile member %d; others %s" % (me, others), flush=True)

def send(payload, dst=relay.BCAST):
    c.send_data(dst, payload)

def drain(secs):
    end = time.monotonic() + secs
    try:
        while time.monotonic() < end:
            c.recv(max(0.01, end - time.monotonic()))
    except (TimeoutError, relay.Closed):
        pass

if step == "shapes":
    killer = b"\x01\x01" + os.urandom(4121)            # 4,123 bytes: ended 0.1.0
    send(killer)
    send(b"\x01\x01" + b"\x04" * (relay.MAX_FRAME_DEFAULT - 2))
    for dst in others:
        send(killer, dst)
    lens = [1, 2, 3, 10, 66, 67, 68, 52, 83, 84, 116, 146, 147, 148, 211, 212, 213,
            81, 82, 83, 90, 122, 182, 183, 184, 4122, 4123, 4215, 4216, 8192]
    for v in (1, 2):
        for t in (0, 1, 2, 3, 4, 5, 15, 16, 17, 255):
            for n in lens:
                b = bytearray(os.urandom(n))
                b[0] = v
                if n > 1:
                    b[1] = t
                if n > 2:
                    b[2] = 4
                send(bytes(b))
    send(b"\x03\x01" + b"\x04" * 65)                   # version 3
    send(b"\x00")                                       # version 0
    print("shapes sent", flush=True)
    drain(1.0)
elif step == "garbage":
    # Well formed, garbage inside: keyd has to say no itself.
    send(b"\x02\x01\x04" + os.urandom(64))              # HS_INIT: a point not on the curve
    drain(0.5)
    send(b"\x02\x03" + os.urandom(145))                 # HS_FIN of no handshake it is in
    send(b"\x02\x10" + os.urandom(12 + 89) + os.urandom(64 + 16))   # DATA with no session
    print("garbage sent", flush=True)
    drain(1.0)
elif step == "flood":
    for i in range(40):
        send(b"\x02\x10" + os.urandom(20))             # DATA of no bucket size
    print("flood sent", flush=True)
    drain(1.0)
c.close()
PYEOF

hostile() {
	$PY "$W/hostile.py" "$relay_PORT" "$1" "$(room_code den)" >>"$W/hostile.log" 2>&1 ||
		fail "the hostile member failed: $(tail -n 5 "$W/hostile.log")"
}

note "0.1.0's killer, and every shape of blob"
hostile shapes
must_line "$W/hostile.log" 'shapes sent' 1 10
id1=$(sed -n 's/^hostile member \([0-9]*\);.*/\1/p' "$W/hostile.log" | head -n 1)
[ -n "$id1" ] || fail "the hostile member did not say its id"
for who in alice bob; do
	e2e_alive "$who"
	must_line "$W/$who.out" "^WARN rejected message from member $id1: length over its limit \\(4216 bytes\\)\$" 1 10
	must_line "$W/$who.out" "^LEFT member $id1|^WARN ignoring member $id1 from now on" 1 10
	no_line "$W/$who.out" '^ERROR'
done
say alice "alice after the shapes"
say bob "bob after the shapes"
must_line "$W/bob.out" '^MSG alice alice after the shapes$' 1 10
must_line "$W/alice.out" '^MSG bob bob after the shapes$' 1 10

note "well-formed garbage: keyd refuses, chatc says so"
hostile garbage
must_line "$W/hostile.log" 'garbage sent' 1 10
id2=$(sed -n 's/^hostile member \([0-9]*\);.*/\1/p' "$W/hostile.log" | sed -n 2p)
for who in alice bob; do
	must_line "$W/$who.out" "^WARN handshake with member $id2 failed: " 1 10
	must_line "$W/$who.out" "^WARN (rejected message from|unexpected handshake message from) member $id2" 1 10
	no_line "$W/$who.out" '^ERROR'
done

note "a flood of malformed messages: ignored after 32, one WARN"
# (relayd may give a member id out again: count only what follows.)
for who in alice bob; do eval "from_$who=\$(wc -l <\"\$W/$who.out\")"; done
hostile flood
must_line "$W/hostile.log" 'flood sent' 1 10
id3=$(sed -n 's/^hostile member \([0-9]*\);.*/\1/p' "$W/hostile.log" | sed -n 3p)
for who in alice bob; do
	must_line "$W/$who.out" "^WARN ignoring member $id3 from now on: 32 bad messages in a row" 1 10
	eval "tail -n +\$((from_$who + 1)) \"\$W/$who.out\"" >"$W/$who.flood"
	exactly "$W/$who.flood" "^WARN rejected message from member $id3: " 32
	exactly "$W/$who.flood" "^WARN " 33
	no_line "$W/$who.out" '^ERROR'
done

say alice "alice at the end"
say bob "bob at the end"
must_line "$W/bob.out" '^MSG alice alice at the end$' 1 10
must_line "$W/alice.out" '^MSG bob bob at the end$' 1 10
exactly "$W/alice.out" '^MSG ' 2
exactly "$W/bob.out" '^MSG ' 2
exactly "$W/alice.out" '^SECURE ' 1
exactly "$W/bob.out" '^SECURE ' 1
stop_chatc alice
must_line "$W/bob.out" '^LEFT alice$' 1 10
stop_chatc bob
note "figure: alice said $(count "$W/alice.out" '^WARN ') WARN lines for $(($(count "$W/hostile.log" 'hostile member'))) hostile visits, no ERROR"
note "ok: two chatc's survived every blob a member can send and kept talking"
