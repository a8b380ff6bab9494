#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd's cost per idle connection: open 10,000 TCP connections that never
# send a byte, compare relayd's VmRSS before and after. The budget is 512
# bytes each (buffers exist only while data is in flight). Then the same
# connections join rooms (four per room) and stay quiet: reported, and
# held to 1 KiB each. Skipped (77) when this shell cannot open enough files.
# Over plain TCP (--plaintext): this is the relay's own cost; what TLS adds
# per idle connection is measured by make bench.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?BIN must name the directory holding relayd}"
: "${TMPDIR:=/tmp}"
: "${E2E_LIB:=$here/lib}"
N=${RELAYD_IDLE_CONNS:-10000}
log="$TMPDIR/relayd.log"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need=$((N + 64))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
	echo "open-file hard limit $hard is below $need"
	exit 77
fi
ulimit -n "$need"

"$BIN/relayd" --listen 127.0.0.1:0 --plaintext --max-clients $((N + 16)) --idle-timeout 3600 \
    2>"$log" &
pid=$!
export PYTHONPATH="$E2E_LIB" RELAYD_LOG="$log" RELAYD_PID="$pid" N
python3 -c 'import relay, os; relay.wait_listening(os.environ["RELAYD_LOG"])'
if grep -q 'sandbox compiled out' "$log"; then
	# SANDBOX=0 is the sanitizer / valgrind build: their allocators make RSS meaningless.
	echo "RSS not measured in a SANDBOX=0 (sanitizer) build"
	exit 77
fi
python3 - <<'PY'
import os, re, signal, socket, time
import relay

host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
pid, N = int(os.environ["RELAYD_PID"]), int(os.environ["N"])

def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

def relay_conns():
    """Asks relayd (SIGUSR1) how many connections it holds."""
    with open(os.environ["RELAYD_LOG"]) as f:
        before = f.read().count("relayd: stats:")
    os.kill(pid, signal.SIGUSR1)
    for _ in range(400):
        with open(os.environ["RELAYD_LOG"]) as f:
            lines = [l for l in f if l.startswith("relayd: stats:")]
        if len(lines) > before:
            return int(re.search(r"connections=(\d+)", lines[-1]).group(1))
        time.sleep(0.025)
    raise RuntimeError("no stats line")

# Warm up: the first connections touch the pools and the code pages.
warm = [relay.Client(host, port) for _ in range(8)]
for i, w in enumerate(warm):
    w.join(relay.room_id("warm-%d" % (i // 4)))
    w.ping()
    w.expect(relay.PONG, timeout=5)
for w in warm:
    w.close()
while relay_conns() != 0:
    time.sleep(0.05)
base = rss_kib()

socks = []
for i in range(N):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host, port))
    socks.append(s)
while relay_conns() < N:
    time.sleep(0.1)
idle = rss_kib()
per_idle = (idle - base) * 1024.0 / N
print("VmRSS %d kB before, %d kB with %d idle connections: %.0f bytes each"
      % (base, idle, N, per_idle))

# Now they all join (4 per room) and go quiet again.
join = [relay.encode(relay.JOIN, payload=relay.room_id("mem-%d" % (i // 4)))
        for i in range(N)]
for s, j in zip(socks, join):
    s.sendall(j)
for s in socks:
    s.settimeout(10)
    s.recv(4096)          # WELCOME (and JOINEDs); small, one read is enough
joined = rss_kib()
per_joined = (joined - base) * 1024.0 / N
print("VmRSS %d kB with %d joined, silent members (%d rooms): %.0f bytes each"
      % (joined, N, N // 4, per_joined))
assert relay_conns() == N
assert per_idle <= 512, "idle connections cost %.0f bytes each" % per_idle
assert per_joined <= 1024, "joined members cost %.0f bytes each" % per_joined
for s in socks:
    s.close()
PY
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "relayd exited $rc"; exit 1; }
echo PASS
