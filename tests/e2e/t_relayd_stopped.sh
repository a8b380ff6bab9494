#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# relayd: a stopped member (SIGSTOP) cannot stall its room, and a member
# stopped for a few seconds during a burst is not dropped (issue 11, item 6).
# Room: A and B exchange a message and its answer every 100 ms while A
# broadcasts bulk data (4 KiB frames, 256 KiB at a time); S is a separate
# process that reads everything. Kernel socket buffers on loopback hold
# megabytes, and how many depends on the kernel's tuning, so the script
# does not count bytes: it watches what relayd does.
#  1. S is stopped and A broadcasts until the room is held back (an A-B
#     exchange takes about the stall window: S's queue passed
#     --queue-soft), then 1 MiB more, which relayd queues for S alone.
#     After 3 s S is continued: it gets every frame, in order, and was
#     never dropped (under --queue-hard, under --slow-timeout).
#  2. S is stopped again and A broadcasts until A and B hear LEFT for S,
#     dropped once its queue passed --queue-hard; A and B went on all the
#     while. Continued, S reads whole frames in order, then ERROR SLOW.
# Every A-B exchange completes within the stall window (1 s) plus slack.
# Default flags throughout. On 0.1.0 S is dropped in step 1.
: "${E2E_LINK:=tls}"	# also runs over plain TCP: E2E_LINK=plain
. "$E2E_LIB/common.sh"

start_relay relay
export PYTHONPATH="$E2E_LIB" PORT="$relay_PORT"
stats() {
	kill -USR1 "$relay_PID"
	must_line "$W/relay.err" 'relayd: stats:' "$1" 5
	grep 'relayd: stats:' "$W/relay.err" | tail -n 1
}
$PY - <<'PY' || fail "stopped member: $(stats 1)"
import os, select, signal, socket, ssl, struct, sys, time
import relay

port = int(os.environ["PORT"])
room = relay.room_id("stopped")
SIZE = 4096
CHUNK = 64                          # frames (256 KiB) per broadcast step
CAP = 64 * 1024 * 1024 // SIZE      # give up after 64 MiB

a = relay.Client("127.0.0.1", port)
b = relay.Client("127.0.0.1", port)
ida, _ = a.join(room)
idb, _ = b.join(room)
assert a.expect(relay.JOINED)[0] == idb

rfd, wfd = os.pipe()
pid = os.fork()
if pid == 0:
    # S: joins, then reads everything; tells the parent how far it got.
    os.close(rfd)
    out = os.fdopen(wfd, "w", buffering=1)
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s = relay.Client("127.0.0.1", port, connect=False).connect(raw).sock
        s.settimeout(None)
        s.sendall(relay.encode(relay.JOIN, payload=room))
        seq = relay.Sequence(src=ida)
        mark = 0
        while True:
            data = s.recv(1 << 20)
            if not data:
                print("closed %d" % seq.next, file=out)
                break
            seq.feed(data)
            errs = [p for t, _, p in seq.others if t == relay.ERROR]
            if errs:
                print("error %d %d" % (errs[0][0], seq.next), file=out)
                break
            if any(t == relay.WELCOME for t, _, _ in seq.others):
                print("joined", file=out)
            seq.others.clear()
            if seq.next // CHUNK > mark:
                mark = seq.next // CHUNK
                print("got %d" % seq.next, file=out)
    except Exception as e:
        print("fail %r" % (e,), file=out)
    os._exit(0)
os.close(wfd)
rbuf = b""

def s_says(timeout, skip_got=False):
    """S's next line (None after timeout); with skip_got, its next but progress.
    Lines are split here, not by a buffered file: select() on a buffered
    reader misses lines already read into its buffer."""
    global rbuf
    end = time.monotonic() + timeout
    while True:
        while b"\n" not in rbuf:
            r, _, _ = select.select([rfd], [], [], max(0, end - time.monotonic()))
            if not r:
                return None
            chunk = os.read(rfd, 4096)
            if not chunk:
                return None
            rbuf += chunk
        line, rbuf = rbuf.split(b"\n", 1)
        line = line.decode().strip()
        if not (skip_got and line.startswith("got ")):
            return line

assert s_says(5) == "joined"
ids = a.expect(relay.JOINED)[0]
assert b.expect(relay.JOINED)[0] == ids

pad = os.urandom(SIZE - 4)
hdr = relay.HDR.pack(relay.VERSION, relay.DATA, 0, relay.BCAST, SIZE)
a.sock.setblocking(False)
pending = bytearray()
sent_k = 0
b_next = 0
exch = {}                           # exchange number -> time sent
rtts = []
n_ex = 0
next_ex = time.monotonic()
left = set()

def send_a(frame):
    pending.extend(frame)

def turn(deadline_check=True):
    """One turn of A, B: push A's backlog, read B, run the exchanges."""
    global b_next, n_ex, next_ex
    if pending:
        try:
            n = a.sock.send(pending)
            del pending[:n]
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
    now = time.monotonic()
    if now >= next_ex:
        send_a(relay.encode(relay.DATA, dst=idb, payload=b"ping %d" % n_ex))
        exch[n_ex] = now
        n_ex += 1
        next_ex = now + 0.1
    r, _, _ = select.select([a.sock, b.sock], [a.sock] if pending else [], [],
                            0 if a.pending() or b.pending() else 0.01)
    if b.sock in r or b.pending():
        b.take_ready()
        while True:
            try:
                ftype, src, dst, payload = b.recv(timeout=0)
            except TimeoutError:
                break
            if ftype == relay.DATA and dst == relay.BCAST:
                (k,) = struct.unpack_from(">I", payload)
                assert src == ida and k == b_next, (src, k, b_next)
                b_next += 1
            elif ftype == relay.DATA:
                send_a_b(payload)
            elif ftype == relay.LEFT:
                left.add(("b", src))
            else:
                raise AssertionError("B got type %d" % ftype)
    if a.sock in r or a.pending():
        a.take_ready()
        while True:
            try:
                ftype, src, dst, payload = a.recv(timeout=0)
            except TimeoutError:
                break
            if ftype == relay.DATA:
                k = int(payload.split()[1])
                rtts.append(time.monotonic() - exch.pop(k))
            elif ftype == relay.LEFT:
                left.add(("a", src))
            else:
                raise AssertionError("A got type %d" % ftype)

def send_a_b(payload):
    # B answers at once (B's sends are small; blocking is fine).
    b.send_data(ida, b"pong " + payload.split()[1])

def broadcast(n):
    global sent_k
    for _ in range(n):
        send_a(hdr + struct.pack(">I", sent_k) + pad)
        sent_k += 1

def run_until(cond, secs, what):
    end = time.monotonic() + secs
    while not cond():
        assert time.monotonic() < end, "%s: not within %ds (B at %d of %d, %d bytes pending)" % (
            what, secs, b_next, sent_k, len(pending))
        turn()

def held():
    """An exchange took most of a stall window: the room was held back."""
    return any(t >= 0.7 for t in rtts)

def step():
    broadcast(CHUNK)
    run_until(lambda: b_next == sent_k and not pending, 30, "broadcast")

# 1. S stopped; A broadcasts until relayd holds the room back for S, then
#    1 MiB more. S continued after 3 s gets it all.
os.kill(pid, signal.SIGSTOP)
t_stop = time.monotonic()
while not held():
    assert not left, "S dropped after %d frames, stopped: %r" % (sent_k, left)
    assert sent_k < CAP, "the room was never held back for S"
    step()
    run_until(lambda: not exch, 5, "exchanges")   # an exchange in flight shows the hold
held_at = sent_k
for _ in range(4):
    step()
run_until(lambda: time.monotonic() - t_stop >= 3.0, 10, "phase 1 wait")
assert not left, "S dropped, stopped for 3 s: %r" % left
os.kill(pid, signal.SIGCONT)
line = None
end = time.monotonic() + 20
while line != "got %d" % sent_k:
    line = s_says(max(0.1, end - time.monotonic()))
    assert line is not None and line.startswith("got "), "S after SIGCONT: %r" % line
assert not left, left
slow1 = max(rtts)
print("t_relayd_stopped: figure: phase 1: held back after %.1f MiB; S stopped 3 s with %.1f MiB sent, got it all; slowest exchange %.0f ms"
      % (held_at * SIZE / 2**20, sent_k * SIZE / 2**20, slow1 * 1000))

# 2. S stopped again; A broadcasts until S is dropped; the room goes on.
os.kill(pid, signal.SIGSTOP)
rtts.clear()
start_k = sent_k
while {("a", ids), ("b", ids)} - left:
    assert sent_k - start_k < CAP, "S never dropped"
    step()
    run_until(lambda: not exch, 5, "exchanges")
os.kill(pid, signal.SIGCONT)
line = s_says(20, skip_got=True)
assert line is not None and line.startswith("error %d " % relay.FE_SLOW), line
got = int(line.split()[2])
assert start_k <= got < sent_k, (start_k, got, sent_k)
os.waitpid(pid, 0)
slow2 = max(rtts)
assert len(rtts) >= 5, rtts
worst = max(slow1, slow2)
assert worst < 2.5, "an exchange took %.2fs" % worst
print("t_relayd_stopped: figure: stopped S dropped (SLOW) after %.1f MiB more, having got %.1f of them; slowest A-B exchange %.0f ms"
      % ((sent_k - start_k) * SIZE / 2**20, (got - start_k) * SIZE / 2**20, worst * 1000))
PY
stats=$(stats 1)
note "figure: flow control: $(echo "$stats" | sed 's/.* flow: \(.*\) tls:.*/\1/')"
case $stats in *' slow=1 '*) ;; *) fail "S was not dropped once for its queue: $stats" ;; esac
echo PASS
