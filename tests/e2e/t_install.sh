#!/bin/sh
# SPDX-License-Identifier: ISC
# make install: DESTDIR and PREFIX honoured, every file where it belongs with
# its mode, man pages render, the systemd units carry their sandboxing
# directives and pass systemd-analyze verify where it exists; make uninstall
# removes everything it installed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
W=${TMPDIR:-/tmp}
fail() { echo "t_install: FAIL: $*"; exit 1; }
mk() { make --no-print-directory -s -C "$top" BIN="$BIN" "$@"; }

D=$W/dest
mk install-files DESTDIR="$D" PREFIX=/usr >/dev/null
for f in usr/bin/keyd usr/bin/chatc usr/sbin/relayd; do
	[ -x "$D/$f" ] || fail "$f missing or not executable"
	[ "$(stat -c %a "$D/$f")" = 755 ] || fail "$f mode $(stat -c %a "$D/$f")"
done
for f in usr/share/man/man1/keyd.1 usr/share/man/man1/chatc.1 usr/share/man/man8/relayd.8 \
    usr/lib/systemd/system/relayd.service usr/lib/systemd/user/keyd.service; do
	[ -f "$D/$f" ] || fail "$f missing"
	[ "$(stat -c %a "$D/$f")" = 644 ] || fail "$f mode $(stat -c %a "$D/$f")"
done
"$D/usr/sbin/relayd" --version | grep -q 'relayd (veil)' || fail "installed relayd does not run"

# Man pages render, with their sections.
for m in man1/keyd.1 man1/chatc.1 man8/relayd.8; do
	out=$(MANWIDTH=80 man -l "$D/usr/share/man/$m" 2>&1 | col -bx) || fail "man -l $m failed"
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES; do
		echo "$out" | grep -q "^$sec" || fail "$m has no $sec section"
	done
done

# Units: paths substituted, the second fence present.
u=$D/usr/lib/systemd/system/relayd.service
grep -q '^ExecStart=/usr/sbin/relayd ' "$u" || fail "relayd.service ExecStart not substituted"
for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    PrivateDevices=yes 'RestrictAddressFamilies=AF_INET AF_INET6' MemoryDenyWriteExecute=yes \
    'CapabilityBoundingSet=$' DynamicUser=yes 'SystemCallFilter=@system-service seccomp'; do
	grep -q "^$d" "$u" || fail "relayd.service lacks $d"
done
k=$D/usr/lib/systemd/user/keyd.service
grep -q '^ExecStart=/usr/bin/keyd --socket %t/veil/keyd.sock' "$k" || fail "keyd.service ExecStart"
grep -q '^LimitCORE=0' "$k" || fail "keyd.service lacks LimitCORE=0"
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants ExecStart to exist: install once more with PREFIX inside $W.
	R=$W/root
	mk install-files PREFIX="$R" >/dev/null
	systemd-analyze verify --man=no "$R/lib/systemd/system/relayd.service" ||
		fail "systemd-analyze verify relayd.service"
	systemd-analyze verify --man=no "$R/lib/systemd/user/keyd.service" ||
		fail "systemd-analyze verify keyd.service"
	echo "t_install: systemd-analyze verify: both units pass"
else
	echo "t_install: systemd-analyze not found; directives checked by grep only"
fi

mk uninstall DESTDIR="$D" PREFIX=/usr >/dev/null
left=$(find "$D" -type f | wc -l)
[ "$left" -eq 0 ] || fail "uninstall left $left files: $(find "$D" -type f)"
echo "t_install: ok"
