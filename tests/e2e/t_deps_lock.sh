#!/bin/sh
# SPDX-License-Identifier: ISC
# tests/deps.sh waits for a held package-manager lock instead of failing
# (issue 11). Another process holds the dpkg and apt locks the way apt and
# unattended-upgrades do (fcntl); apt_get (tests/apt.sh, what deps.sh and
# bench/run.sh call) must say who holds them, wait, and succeed once they
# are free. The control shows the lock is real: plain apt-get fails at once.
. "$E2E_LIB/common.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (the package manager's locks)"
command -v apt-get >/dev/null 2>&1 || skip "no apt-get here"
here=$(cd "$(dirname "$0")/.." && pwd)
# An installed package: installing it again needs the locks, not the network.
pkg=$(dpkg-query -W -f='${Package}\n' coreutils 2>/dev/null) || skip "no dpkg-query"

$PY - "$W/held" /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock \
    /var/lib/apt/lists/lock /var/cache/apt/archives/lock > "$W/holder.log" 2>&1 <<'PYEOF' &
import fcntl, os, sys, time
fds = []
for p in sys.argv[2:]:
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX)
    fds.append(fd)
open(sys.argv[1], "w").close()
time.sleep(3)
PYEOF
holder=$!
e2e_track $holder
i=0
while [ ! -e "$W/held" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
[ -e "$W/held" ] || fail "the lock holder did not start"

if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" > "$W/plain.log" 2>&1; then
	fail "control: plain apt-get succeeded while the lock was held"
fi
grep -q "Could not get lock" "$W/plain.log" || fail "control: plain apt-get failed otherwise"

start=$(date +%s)
( . "$here/apt.sh"; VEIL_APT_WAIT=60 apt_get install -y -qq "$pkg" ) > "$W/wait.log" 2>&1 ||
	fail "apt_get failed instead of waiting"
secs=$(( $(date +%s) - start ))
grep -q "waiting for the package manager: its lock is held by python3 (pid $holder)" "$W/wait.log" ||
	fail "apt_get did not say who held the lock"
wait_exit "$holder" 5
[ $secs -ge 1 ] || fail "apt_get returned in ${secs}s, before the lock was released"
grep -q 'apt_get update' "$here/deps.sh" && grep -q 'apt_get install' "$here/deps.sh" ||
	fail "tests/deps.sh does not install through apt_get"
note "notice: waited ${secs}s for a held dpkg lock, then installed"
