#!/bin/sh
# SPDX-License-Identifier: ISC
# Makes sure the Debian packages veil builds and tests with are present.
# As root: installs what is missing (apt-get update first). Otherwise: prints
# the exact command to run and fails.
set -eu

# Build: libssl-dev libseccomp-dev libargon2-dev libncurses-dev (libtinfo, for
# chatc's screen) check libsubunit-dev pkg-config, libnats-dev (relayd --cluster).
# Tests: nats-server (the cluster scenarios), libjansson-dev (Wycheproof JSON),
# python3 (test proxies),
# python3-cryptography (tests/e2e/lib/peer2.py, the independent veil/2 peer), tmux
# (interactive screen), clang + libclang-rt-14-dev (fuzz smoke), procps,
# man-db + bsdextrautils (man pages render: man -l, col), valgrind (make valgrind).
PKGS="gcc make libc6-dev libssl-dev libseccomp-dev libargon2-dev libncurses-dev check libsubunit-dev pkg-config \
libnats-dev nats-server libjansson-dev python3 python3-cryptography tmux clang libclang-rt-14-dev procps util-linux man-db bsdextrautils valgrind"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "veil: missing build dependencies:$missing" >&2
	echo "veil: install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "veil: installing build dependencies:$missing" >&2
. "$(dirname "$0")/apt.sh"
apt_get update -qq
apt_get install -y -qq --no-install-recommends $missing >/dev/null
