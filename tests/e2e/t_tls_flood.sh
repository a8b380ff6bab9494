#!/bin/sh
# SPDX-License-Identifier: ISC
# Malformed TLS and TLS floods leave relayd serving everyone else, within
# the limits it already has (issue 14). Two members of a room, a and b,
# exchange a ping and a message between every step, and each step's
# connections are closed without touching them:
#  1. handshakes that never finish (a ClientHello cut after 20 bytes, or
#     not one byte) hold slots of --max-clients: the next connection is
#     refused (the over-cap alert), and --idle-timeout closes them all;
#  2. garbage, an HTTP request, a relay JOIN in the clear, a TLS 1.2-only
#     ClientHello (so no renegotiation either: TLS 1.3 has none) and a
#     client naming only another ALPN protocol: each refused at once;
#  3. 0-RTT: a client resuming a session from another server, with early
#     data holding a JOIN and a DATA for the room (openssl s_client): the
#     early data is refused and a never hears it;
#  4. 40 KeyUpdate requests on one link (openssl s_client): answered, and
#     that link goes on;
#  5. 300 full handshakes from 4 threads: a and b keep exchanging, each
#     round trip well under a second.
# On 0.1.0 relayd speaks no TLS; there every one of these is garbage.
. "$E2E_LIB/common.sh"
need_bins
command -v openssl >/dev/null 2>&1 || skip "no openssl CLI"

start_relay relay --max-clients 20 --idle-timeout 2
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT" W
stats() {
	kill -USR1 "$relay_PID"
	must_line "$W/relay.err" 'relayd: stats:' "$1" 5
	grep 'relayd: stats:' "$W/relay.err" | tail -n 1
}

# The pair, and a named pipe to tell it what to do next.
mkfifo "$W/ctl" "$W/ack"
$PY - >"$W/pair.log" 2>&1 <<'PY' &
import os, socket, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("flood")
a = relay.Client("127.0.0.1", port)
b = relay.Client("127.0.0.1", port)
ida, _ = a.join(room)
idb, _ = b.join(room)
a.expect(relay.JOINED)
n, worst = 0, 0.0
with open(os.environ["W"] + "/ack", "w", buffering=1) as ack, \
        open(os.environ["W"] + "/ctl") as ctl:
    ack.write("ready\n")
    for line in ctl:
        cmd = line.strip()
        if cmd == "quit":
            break
        # "check": a round trip each way, then a ping each; "spin S": for S seconds.
        end = time.monotonic() + (float(cmd.split()[1]) if cmd.startswith("spin") else 0)
        while True:
            t0 = time.monotonic()
            b.send_data(ida, b"m%d" % n)
            got = a.expect(relay.DATA)
            assert got == (idb, ida, b"m%d" % n), got
            a.send_data(idb, b"r%d" % n)
            assert b.expect(relay.DATA)[2] == b"r%d" % n
            for c in (a, b):
                c.ping()
                c.expect(relay.PONG)
            worst = max(worst, time.monotonic() - t0)
            n += 1
            if time.monotonic() >= end:
                break
            time.sleep(0.02)
        ack.write("ok %d %.3f\n" % (n, worst))
print("pair: %d exchanges, slowest %.0f ms" % (n, worst * 1000))
PY
PAIR=$!
e2e_track $PAIR
exec 3<"$W/ack" 4>"$W/ctl"
read -r line <&3 || fail "the pair did not start: $(cat "$W/pair.log")"
check() {
	echo "${1:-check}" >&4
	read -r line <&3 || fail "the pair failed after $2: $(tail -n 5 "$W/pair.log")"
	note "after $2: pair $line"
}
check check "joining"

note "1. handshakes that never finish hold slots until --idle-timeout"
$PY - <<'PY' || fail "step 1"
import os, socket, ssl, time
import relay

port = int(os.environ["PORT"])
# A real ClientHello, of which only the first 20 bytes go out.
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = relay.tls_context().wrap_bio(inc, out)
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
assert hello[0] == 22 and len(hello) > 100, hello[:5]
held = []
for i in range(18):             # with a and b: the 20 of --max-clients
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2 == 0:
        s.sendall(hello[:20])
    held.append(s)
time.sleep(0.3)
t0 = time.monotonic()
over = relay.Client("127.0.0.1", port)
assert over.refused == relay.FE_SERVER_FULL, "a 21st connection was not refused"
over.close()
# Closed by --idle-timeout (2 s) without a byte (no frame can be sent yet).
for s in held:
    s.settimeout(6)
    assert s.recv(100) == b"", "a half-open handshake got bytes"
took = time.monotonic() - t0
assert took < 4.5, took
c = relay.Client("127.0.0.1", port)
c.join(relay.room_id("after"))
c.close()
print("18 stalled handshakes closed within %.1f s of the refusal; a newcomer got in" % took)
PY
check check "stalled handshakes"
st=$(stats 1)
case $st in *" refused_full=1 "*) ;; *) fail "refusals: $st" ;; esac
case $st in *" idle_timeout=18 "*) ;; *) fail "idle timeouts: $st" ;; esac

note "2. garbage, HTTP, a frame in the clear, TLS 1.2, another ALPN: refused"
$PY - <<'PY' || fail "step 2"
import os, socket, ssl, time
import relay

port = int(os.environ["PORT"])
for name, data in (("garbage", os.urandom(1500)),
                   ("http", b"GET / HTTP/1.1\r\nHost: relay\r\n\r\n"),
                   ("frame", relay.encode(relay.JOIN, payload=relay.room_id("flood")))):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    s.sendall(data)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    # At most a TLS alert, never a frame.
    assert got == b"" or got[0] == 21, (name, got[:16])
    s.close()
for name, ctx in (("TLS 1.2", ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)),
                  ("ALPN h2", relay.tls_context())):
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if name == "TLS 1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.set_alpn_protocols(["h2"])
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    try:
        ctx.wrap_socket(s)
        raise AssertionError("%s was served" % name)
    except ssl.SSLError as e:
        print("%s refused: %s" % (name, e.reason))
PY
check check "malformed TLS"
st=$(stats 2)
failed=$(echo "$st" | sed -n 's/.* handshakes_failed=\([0-9]*\) .*/\1/p')
[ "${failed:-0}" -ge 5 ] || fail "failed handshakes not counted: $st"

note "3. 0-RTT: early data refused, never read as frames"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other \
    -days 1 -keyout "$W/o.key" -out "$W/o.crt" 2>/dev/null || fail "openssl req"
oport=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "$oport" -key "$W/o.key" -cert "$W/o.crt" -tls1_3 -early_data -quiet \
    >"$W/s_server.log" 2>&1 &
e2e_track $!
i=0
until sleep 0.3 | openssl s_client -connect "127.0.0.1:$oport" -tls1_3 -sess_out "$W/sess" \
    >"$W/s_client1.log" 2>&1 && [ -s "$W/sess" ]; do
	i=$((i + 1)); [ $i -lt 20 ] || fail "no session from s_server: $(tail -n 3 "$W/s_client1.log")"
done
$PY -c '
import relay, struct
room = relay.room_id("flood")
open("'"$W"'/early.bin", "wb").write(relay.encode(relay.JOIN, payload=room) +
    relay.encode(relay.DATA, dst=relay.BCAST, payload=b"early data"))'
sleep 1 | openssl s_client -connect "127.0.0.1:$relay_PORT" -tls1_3 -alpn veil/1 \
    -sess_in "$W/sess" -early_data "$W/early.bin" >"$W/s_client2.log" 2>&1
grep -q 'Early data was rejected' "$W/s_client2.log" ||
	fail "early data not refused: $(grep -i early "$W/s_client2.log")"
check check "0-RTT"
grep -q 'early data' "$W/pair.log" && fail "a member got the early data"

note "4. 40 KeyUpdate requests on one link"
(for i in $(seq 1 40); do echo K; sleep 0.02; done; sleep 0.5) |
	openssl s_client -connect "127.0.0.1:$relay_PORT" -tls1_3 -alpn veil/1 \
	>"$W/s_client3.log" 2>&1
n=$(grep -c KEYUPDATE "$W/s_client3.log")
[ "$n" -ge 20 ] || fail "only $n KeyUpdates went out: $(tail -n 3 "$W/s_client3.log")"
check check "KeyUpdates"

note "5. 300 full handshakes from 4 threads, while the pair talks"
echo "spin 3" >&4
$PY - <<'PY' || fail "step 5"
import os, threading, time
import relay

port = int(os.environ["PORT"])
done, errs = [0], []
def worker():
    try:
        for _ in range(75):
            c = relay.Client("127.0.0.1", port)
            if c.refused is None:
                done[0] += 1
            c.close()
    except Exception as e:
        errs.append(repr(e))
t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
took = time.monotonic() - t0
assert not errs, errs[:3]
print("t_tls_flood: figure: %d TLS handshakes (of 300, the rest refused over the cap) in %.2f s from 4 threads"
      % (done[0], took))
PY
read -r line <&3 || fail "the pair failed during the handshake flood: $(tail -n 5 "$W/pair.log")"
note "after the handshake flood: pair $line"
worst=$(echo "$line" | awk '{ print $3 }')
awk -v w="$worst" 'BEGIN { exit !(w < 1.0) }' || fail "a round trip took ${worst}s"
echo quit >&4
wait_exit "$PAIR" 10 || fail "the pair did not end"
[ "$E2E_RC" -eq 0 ] || fail "the pair failed: $(tail -n 5 "$W/pair.log")"
note "figure: $(tail -n 1 "$W/pair.log")"
st=$(stats 3)
note "figure: $(echo "$st" | sed 's/.* tls: \(.*\) closed:.*/tls: \1/')"
echo PASS
