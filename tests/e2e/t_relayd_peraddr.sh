#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd --max-per-addr (issue 11): one source address cannot take every
# slot. With --max-clients 8 --max-per-addr 3, a host (127.0.0.1) holding
# three connections, joined or silent, gets ERROR SERVER_FULL for each more
# (the code of the client cap: the wire does not change), while another
# (127.0.0.2) still gets in; once one of the three closes, the host gets its
# place back. The counters count the refusals apart; no address is logged.
# 0.1.0 has no --max-per-addr: there one host fills --max-clients and
# locks everyone else out.
: "${E2E_LINK:=tls}"	# also runs over plain TCP: E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay --max-clients 8 --max-per-addr 3
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT"
$PY - <<'PY' || fail "per-address cap"
import os, socket, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("peraddr")

def client(src):
    c = relay.Client("127.0.0.1", port, connect=False)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    return c.connect(s)

# The host: one joined member, two silent connections.
mine = [client("127.0.0.1") for _ in range(3)]
mine[0].join(room)               # the other two never send a byte
# Every one more from it: refused at once, SERVER_FULL, closed.
for _ in range(20):
    over = client("127.0.0.1")
    over.expect_error(relay.FE_SERVER_FULL)
    over.close()
# Another host still gets in and talks to the first.
other = client("127.0.0.2")
me, others = other.join(room)
assert others == [mine[0].member], others
other.send_data(mine[0].member, b"hello from elsewhere")
assert mine[0].expect(relay.JOINED)[0] == me
assert mine[0].expect(relay.DATA) == (me, mine[0].member, b"hello from elsewhere")
# One of the three goes: the host gets a place again (once relayd saw it go).
mine.pop(2).close()
for attempt in range(100):
    c = client("127.0.0.1")
    try:
        c.join(room)
        break
    except (relay.ProtocolError, relay.Closed, OSError):
        c.close()
        time.sleep(0.05)
else:
    raise AssertionError("the freed place never came back")
print("per-address cap held; %d attempt(s) before the freed place was seen" % (attempt + 1))
PY
kill -USR1 "$relay_PID"
must_line "$W/relay.err" 'relayd: stats:' 1 5
stats=$(grep 'relayd: stats:' "$W/relay.err")
note "$stats"
n=$(echo "$stats" | sed -n 's/.* refused_full=0 refused_per_addr=\([0-9]*\) .*/\1/p')
[ -n "$n" ] && [ "$n" -ge 20 ] || fail "counters: $stats"
if grep -v 'listening on' "$W/relay.err" | grep -q '127\.0\.0\.'; then
	fail "relayd logged an address: $(cat "$W/relay.err")"
fi
echo PASS
