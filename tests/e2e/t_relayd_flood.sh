#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# relayd: a healthy reader is never dropped under a burst (issue 11, item 6).
# One sender floods 300,000 DATA frames of 256 bytes to one reader, one
# send() per frame, as fast as it can; the reader reads as fast as it can
# (one Python process each, the reader taking one frame at a time, so the
# sender is the faster). Every frame arrives, in order, and nobody is
# dropped: when the reader's queue passes --queue-soft relayd stops reading
# the sender, and TCP slows the sender down. On 0.1.0 the reader gets ERROR
# SLOW after its 256 KiB queue fills.
: "${E2E_LINK:=tls}"	# also runs over plain TCP: E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT" RELAY_PID="$relay_PID"
$PY - <<'PY' || fail "flood"
import os, socket, struct, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("flood")
N, SIZE = 300000, 256

reader = relay.Client("127.0.0.1", port)
me, _ = reader.join(room)

# The sender: one send() per frame, blocking, nothing batched; still a
# member at the end (nobody dropped the sender either).
pid = relay.fork_flooder("127.0.0.1", port, room, N, SIZE, dst=me)

# The reader: as fast as it can, one frame at a time (header, then payload),
# as a simple client does; two reads per frame make it slower than the
# sender's one send per frame.
t0 = time.monotonic()
first = None
sock = reader.sock
sock.settimeout(30)
hdrbuf = bytearray(relay.HDR_LEN)
body = bytearray(65536)
view = memoryview(body)
unpack = relay.HDR.unpack_from
k = 0

def readn(buf, n):
    got = 0
    while got < n:
        r = sock.recv_into(buf[got:n] if got else buf, n - got)
        if r == 0:
            raise AssertionError("reader closed by relayd after %d frames" % k)
        got += r

try:
    while k < N:
        readn(hdrbuf, relay.HDR_LEN)
        ver, ftype, src, dst, ln = unpack(hdrbuf)
        readn(view, ln)
        if first is None:
            first = time.monotonic()
        if ftype == relay.ERROR:
            raise AssertionError("reader got ERROR %d after %d of %d frames" % (body[0], k, N))
        if ftype == relay.JOINED:
            continue
        assert ftype == relay.DATA and ln == SIZE, (ftype, ln)
        (got,) = struct.unpack_from(">I", body)
        assert got == k, "frame %d where %d was due" % (got, k)
        k += 1
except socket.timeout:
    raise AssertionError("reader got %d of %d frames, then nothing for 30 s" % (k, N))
took = time.monotonic() - first
_, status = os.waitpid(pid, 0)
assert status == 0, "sender failed (status %d)" % status
print("t_relayd_flood: figure: %d frames of %d bytes, one send() each, all delivered in %.2fs (%.0f frames/s)"
      % (N, SIZE, took, N / took))
PY
kill -USR1 "$relay_PID"
must_line "$W/relay.err" 'relayd: stats:' 1 5
stats=$(grep 'relayd: stats:' "$W/relay.err")
note "figure: flow control: $(echo "$stats" | sed 's/.* flow: \(.*\) tls:.*/\1/')"
case $stats in *' slow=0 '*) ;; *) fail "a connection was dropped as slow" ;; esac
case $stats in *' stalled=0 '*) ;; *' stalled='*) fail "a connection was dropped as stalled" ;; esac
echo PASS
