#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's hardening, seen from outside: a peer of another uid is closed
# without an answer (SO_PEERCRED), /proc/PID/status shows the seccomp filter
# (Seccomp: 2) and no_new_privs, and the process is not dumpable, so even a
# process of the same uid cannot read its /proc/PID/environ.
# As root, keyd runs as nobody (setpriv) in a directory nobody owns and root
# is "the other uid"; otherwise only the checks that need no second uid run.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
	# nobody cannot enter our 0700 work directory: a world-traversable one.
	D=$(mktemp -d /tmp/veil-keyd-nobody.XXXXXX) || fail "mktemp"
	chmod 711 "$D"
	trap 'rc=$?; rm -rf "$D"; (exit $rc); cleanup' EXIT
	cp "$BIN/keyd" "$LIB/keydclient.py" "$D/" && chmod 755 "$D/keyd" && chmod 644 "$D/keydclient.py"
	mkdir -m 700 "$D/n" && chown nobody:nogroup "$D/n"
	AS="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	# The python3 on our PATH may live where nobody cannot go.
	PYN=/usr/bin/python3
	[ -x "$PYN" ] || { echo "$NAME: skipped: no /usr/bin/python3 for nobody"; exit 77; }
	S="$D/n/run/keyd.sock"
	$AS "$D/keyd" --home "$D/n/home" --socket "$S" 2>"$W/nobody.err" &
	KPID=$!
	PIDS="$PIDS $KPID"
	# Ready once it says so (it binds, then listens, then sandboxes itself).
	i=0; while ! grep -q "listening on" "$W/nobody.err" && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
	$AS "$PYN" "$D/keydclient.py" fpr "$S" >"$W/fpr.out" 2>&1 || fail "same-uid client refused: $(cat "$W/fpr.out") $(cat "$W/nobody.err")"
	# Root is another uid: its HELLO gets no answer, the connection is closed.
	"$PY" - "$S" "$LIB" <<'PYEOF' || fail "a peer of another uid was served"
import sys
sys.path.insert(0, sys.argv[2])
import keydclient as kc
c = kc.Client(sys.argv[1], timeout=5)
try:
    c.hello("root")
except kc.Closed:
    sys.exit(0)
sys.exit(1)
PYEOF
	grep -q "refused a connection from uid 0" "$W/nobody.err" || fail "no operational line for the refused peer"
	# keyd still serves its own user afterwards.
	$AS "$PYN" "$D/keydclient.py" fpr "$S" >/dev/null 2>&1 || fail "keyd stopped serving after refusing root"
	READ_ENV="$AS cat /proc/$KPID/environ"
	# Control: nobody can read the environ of its own ordinary process.
	$AS sleep 5 &
	CPID=$!
	PIDS="$PIDS $CPID"
	sleep 0.1
	$AS cat "/proc/$CPID/environ" >/dev/null 2>&1 || fail "control: nobody cannot read its own environ"
else
	note "not root: the other-uid check is skipped"
	S="$W/run/keyd.sock"
	start_keyd k "$W/home" "$S"
	READ_ENV="cat /proc/$KPID/environ"
fi

if cat "$W"/*.err | grep -q "sandbox compiled out"; then
	# make SANDBOX=0 (sanitizer builds): the filter is compiled out on purpose.
	note "notice: keyd built with SANDBOX=0; the seccomp check is skipped"
else
	grep -Eq '^Seccomp:[[:space:]]+2$' "/proc/$KPID/status" || fail "no seccomp filter: $(grep Seccomp "/proc/$KPID/status")"
fi
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "/proc/$KPID/status" || fail "no_new_privs not set"
$READ_ENV >/dev/null 2>&1 && fail "a same-uid process read keyd's environ: it is dumpable"

# ptrace: a same-uid process may attach to an ordinary process of its uid
# (the control), never to keyd.
cat >"$W/attach.py" <<'PYEOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
if libc.ptrace(16, pid, None, None) != 0:          # PTRACE_ATTACH
    sys.exit(1)
os.waitpid(pid, 0x40000000)                        # __WALL: wait for the stop
libc.ptrace(17, pid, None, None)                   # PTRACE_DETACH
sys.exit(0)
PYEOF
AS_PT=${AS:-}
[ -n "$AS_PT" ] || { sleep 5 & CPID=$!; PIDS="$PIDS $CPID"; }
PY_PT=${PYN:-$PY}
if $AS_PT "$PY_PT" - "$CPID" <"$W/attach.py"; then
	$AS_PT "$PY_PT" - "$KPID" <"$W/attach.py" &&
	    fail "a same-uid process could ptrace keyd: it is dumpable"
	note "notice: ptrace attach to keyd refused (a control attach to an ordinary process of the same uid succeeded)"
else
	note "notice: this kernel refuses even the control attach (ptrace restricted); ptrace check skipped"
fi
note "ok"
exit 0
