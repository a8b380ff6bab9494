#!/bin/sh
# SPDX-License-Identifier: ISC
# The systemd units as installed (make install-files, PREFIX /usr/local) score
# at most 3.0 in `systemd-analyze security` (issue 16: the keyd user unit of
# 0.1.0 scored 8.6 EXPOSED, relayd's 1.5). Offline, on the unit files: no
# running systemd is needed, only systemd-analyze (skipped without it); the
# user unit is scored as a user unit (--user, with a scratch runtime dir).
. "$E2E_LIB/common.sh"
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze is not installed"
src=$(cd "$E2E_LIB/../../.." && pwd)
mkdir -p "$W/run" "$W/units" && chmod 700 "$W/run"
sed 's|@BINDIR@|/usr/local/bin|g' "$src/keyd/keyd.service" >"$W/units/keyd.service"
sed 's|@SBINDIR@|/usr/local/sbin|g' "$src/relayd/relayd.service" >"$W/units/relayd.service"

# score UNIT [--user]: the overall exposure, e.g. 1.1
score() {
	XDG_RUNTIME_DIR="$W/run" systemd-analyze security --offline=true ${2:-} \
	    "$W/units/$1" >"$W/$1.log" 2>&1
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$W/$1.log"
}
k=$(score keyd.service --user)
r=$(score relayd.service)
[ -n "$k" ] || fail "no score for keyd.service: $(tail -n 3 "$W/keyd.service.log")"
[ -n "$r" ] || fail "no score for relayd.service: $(tail -n 3 "$W/relayd.service.log")"
note "figure: systemd-analyze security: keyd.service (user) $k, relayd.service $r"
awk -v k="$k" -v r="$r" 'BEGIN { exit !(k <= 3.0 && r <= 3.0) }' ||
	fail "exposure over 3.0: keyd $k, relayd $r"
note "ok"
