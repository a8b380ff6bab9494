#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd confines itself once listening: /proc/PID/status shows a seccomp
# filter (Seccomp: 2) and NoNewPrivs: 1; started as root it runs as --user
# (non-zero uid and gid, no groups) inside the empty chroot, and refuses a
# jail that is missing or writable by others. Also serves IPv6 ([::1]:0).
# Over TLS: libssl's handshakes and records run under that filter.
# Skipped (77) in a SANDBOX=0 build (no filter, no chroot: sanitizers need
# /proc), after the checks that still apply.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?BIN must name the directory holding relayd}"
: "${TMPDIR:=/tmp}"
: "${E2E_LIB:=$here/lib}"
log="$TMPDIR/relayd.log"
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export PYTHONPATH="$E2E_LIB"
"$BIN/relayd" --gen-key "$TMPDIR/relay.key" >"$TMPDIR/relay.fp"
RELAY_FP=$(cat "$TMPDIR/relay.fp")
export RELAY_FP

field() { awk -v f="$1:" '$1 == f { print $2; exit }' "/proc/$pid/status"; }

listen=127.0.0.1:0
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	listen='[::1]:0'
fi
"$BIN/relayd" --listen "$listen" --key "$TMPDIR/relay.key" 2>"$log" &
pid=$!
RELAYD_LOG="$log" python3 - <<'PY'
import os
import relay
host, port = relay.wait_listening(os.environ["RELAYD_LOG"])
a = relay.Client(host, port)
b = relay.Client(host, port)
a.join(relay.room_id("sbx")); b.join(relay.room_id("sbx"))
a.expect(relay.JOINED)
b.send_data(1, b"over %s" % host.encode())
assert a.expect(relay.DATA) == (2, 1, b"over %s" % host.encode())
# Enough traffic for records of every size, in and out, under the filter.
blob = os.urandom(16000)
for n in range(50):
    b.send_data(relay.BCAST, blob[:320 * n + 1])
for n in range(50):
    assert a.expect(relay.DATA)[2] == blob[:320 * n + 1]
print("served on", host, "over TLS, key", a.fingerprint)
PY

compiled_out=0
grep -q 'sandbox compiled out' "$log" && compiled_out=1
echo "status: Seccomp=$(field Seccomp) NoNewPrivs=$(field NoNewPrivs) Uid=$(field Uid) Gid=$(field Gid) Groups=$(field Groups)"
[ "$(field NoNewPrivs)" = 1 ] || { echo "NoNewPrivs not set"; exit 1; }
if [ $compiled_out -eq 0 ]; then
	[ "$(field Seccomp)" = 2 ] || { echo "no seccomp filter"; exit 1; }
fi
if [ "$(id -u)" -eq 0 ]; then
	[ "$(field Uid)" != 0 ] || { echo "still uid 0"; exit 1; }
	[ "$(field Gid)" != 0 ] || { echo "still gid 0"; exit 1; }
	[ -z "$(field Groups)" ] || { echo "supplementary groups kept"; exit 1; }
	root=$(readlink "/proc/$pid/root")
	echo "chroot: $root"
	if [ $compiled_out -eq 0 ]; then
		case "$root" in
		/var/empty|/run/relayd-empty) ;;
		*) echo "not in the empty chroot"; exit 1 ;;
		esac
		[ -z "$(ls -A "$root")" ] || { echo "chroot $root is not empty"; exit 1; }
	fi
fi
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || { echo "relayd exited $rc"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
	# Refusals, each before serving anyone: exit 1 with a reason.
	mkdir -m 0777 "$TMPDIR/open-jail"
	for args in "--chroot $TMPDIR/missing" "--chroot $TMPDIR/open-jail" \
	    "--user no-such-user-veil" "--user root"; do
		rc=0
		# shellcheck disable=SC2086
		"$BIN/relayd" --listen 127.0.0.1:0 --key "$TMPDIR/relay.key" $args 2>"$TMPDIR/refuse.log" || rc=$?
		[ "$rc" -eq 1 ] || { echo "relayd $args: exit $rc, wanted 1"; exit 1; }
		! grep -q 'listening on' "$TMPDIR/refuse.log" || { echo "$args: served"; exit 1; }
		sed 's/^/  refused: /' "$TMPDIR/refuse.log"
	done
fi

if [ $compiled_out -eq 1 ]; then
	echo "seccomp filter compiled out (SANDBOX=0 build)"
	exit 77
fi
echo PASS
