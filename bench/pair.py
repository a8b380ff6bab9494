# SPDX-License-Identifier: ISC
"""A chatc pair, as people use it, for `make bench` (issue 17's cost rows).

    python3 bench/pair.py BINDIR RUNS [TURNS [BURST]]

Starts BINDIR's relayd and two keyd's, then for each run two chatc --batch
(alice first, bob the newcomer) in one room, and measures once both are
SECURE:

  alternating  alice and bob take turns, one 256-byte line each, each line
               written only once the previous one was shown at the other
               side: every line is a change of speaker (with veil/2, a
               ratchet step on each side; veil/1 had none). TURNS lines.
  one-sided    alice writes BURST lines at once, bob only listens; the
               time until bob has shown the last one, and how many he did
               not show (lost) once nothing came for 3 s.

Prints one line per run: "alt_msgs_s=N burst_msgs_s=N lost=N", or
"failed ..." with why. Python 3 standard library only; works with any
chatc whose --batch prints SECURE and MSG lines (0.1.0 included).

Plain TCP for every build, so that builds compare like with like: a
relayd that speaks TLS by default (its --help names --plaintext) gets
--plaintext, and so do its chatc's; 0.1.0's take neither flag.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

LINE = "x" * 256


class Proc:
    def __init__(self, argv, log):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(log, "wb"), bufsize=0)
        self.buf = b""
        self.fd = self.p.stdout.fileno()

    def lines(self, timeout):
        """The complete lines available within timeout seconds."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return []
        chunk = os.read(self.fd, 65536)
        if not chunk:
            raise EOFError
        self.buf += chunk
        *done, self.buf = self.buf.split(b"\n")
        return done

    def write(self, data):
        self.p.stdin.write(data)

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def wait_for(proc, pattern, n=1, timeout=20.0):
    """Reads proc's lines until n of them match pattern; the count seen."""
    seen, end = 0, time.monotonic() + timeout
    while seen < n and time.monotonic() < end:
        for ln in proc.lines(min(0.5, max(0.0, end - time.monotonic()))):
            if pattern.match(ln):
                seen += 1
    return seen


def start_daemon(argv, log, sock=None, port_re=None):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=open(log, "wb"),
                         stderr=subprocess.STDOUT)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if sock and os.path.exists(sock):
            return p, None
        if port_re:
            m = port_re.search(open(log, "rb").read())
            if m:
                return p, int(m.group(1))
        time.sleep(0.02)
    p.kill()
    raise RuntimeError("%s did not start: %s" % (argv[0], open(log, "rb").read()[-300:]))


def has_flag(prog, flag):
    """Whether prog --help names flag (the builds that default to TLS)."""
    try:
        out = subprocess.run([prog, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag.encode() in out.stdout + out.stderr


def one_run(bindir, tmp, port, socks, run, turns, burst, plain):
    room = "bench%d" % run
    chat = lambda nick, sock: [os.path.join(bindir, "chatc"), "--room", room, "--nick", nick,
                               "--relay", "127.0.0.1:%d" % port, "--keyd", sock, "--batch"] + plain
    a = Proc(chat("alice", socks[0]), os.path.join(tmp, "a%d.err" % run))
    time.sleep(0.3)         # alice is in the room first: bob is the newcomer
    b = Proc(chat("bob", socks[1]), os.path.join(tmp, "b%d.err" % run))
    try:
        if wait_for(b, re.compile(rb"^SECURE ")) < 1 or wait_for(a, re.compile(rb"^SECURE ")) < 1:
            return "failed: no SECURE"
        from_b, from_a = re.compile(rb"^MSG bob "), re.compile(rb"^MSG alice ")
        line = (LINE + "\n").encode()
        t0 = time.monotonic()
        for i in range(turns):
            if i % 2 == 0:
                a.write(line)
                if wait_for(b, from_a, 1, 10) < 1:
                    return "failed: alternating turn %d not shown" % i
            else:
                b.write(line)
                if wait_for(a, from_b, 1, 10) < 1:
                    return "failed: alternating turn %d not shown" % i
        alt = turns / (time.monotonic() - t0)
        t0 = time.monotonic()
        # Written while bob's lines are read: with end-to-end flow control
        # (issue 13) alice reads her input only as fast as bob acknowledges,
        # and bob shows only as fast as his output is read.
        writer = threading.Thread(target=a.write, args=(line * burst,), daemon=True)
        writer.start()
        # alice's own events (DELIVERED per line) are read too, as a script
        # or a terminal would: a full pipe would stop her.
        stop = threading.Event()

        def drain():
            while not stop.is_set():
                try:
                    a.lines(0.2)
                except (EOFError, OSError):
                    return
        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        got, t1, end = 0, t0, time.monotonic() + 60
        while got < burst and time.monotonic() < end:
            n = wait_for(b, from_a, burst - got, 3)
            if n == 0:
                break
            got += n
            t1 = time.monotonic()
        stop.set()
        drainer.join(1)
        return "alt_msgs_s=%.0f burst_msgs_s=%.0f lost=%d" % (
            alt, got / max(t1 - t0, 1e-6), burst - got)
    finally:
        a.stop()
        b.stop()


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    bindir, runs = argv[1], int(argv[2])
    turns = int(argv[3]) if len(argv) > 3 else 2000
    burst = int(argv[4]) if len(argv) > 4 else 5000
    tmp = tempfile.mkdtemp(prefix="veil-pair.")
    procs = []
    relayd = os.path.join(bindir, "relayd")
    plain = ["--plaintext"] if has_flag(relayd, "--plaintext") else []
    try:
        r, port = start_daemon([relayd, "--listen", "127.0.0.1:0"] + plain,
                               os.path.join(tmp, "relayd.log"),
                               port_re=re.compile(rb"listening on [0-9.]+:([0-9]+)"))
        procs.append(r)
        socks = []
        for who in ("ka", "kb"):
            sock = os.path.join(tmp, who, "keyd.sock")
            k, _ = start_daemon([os.path.join(bindir, "keyd"), "--socket", sock, "--home",
                                 os.path.join(tmp, who, "home")],
                                os.path.join(tmp, "keyd-%s.log" % who), sock=sock)
            procs.append(k)
            socks.append(sock)
        for run in range(runs):
            print(one_run(bindir, tmp, port, socks, run, turns, burst, plain), flush=True)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
