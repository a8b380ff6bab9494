#!/bin/sh
# SPDX-License-Identifier: ISC
# Static analysis of every program source: clang-tidy (.clang-tidy) and
# cppcheck. Prints every finding; fails if there is any.
# Usage: tests/analyze.sh "CFLAGS for the sources"
set -u
flags="$1 -DVEIL_VERSION=\"analyze\""
srcs=$(ls protocol/*.c sandbox/*.c relayd/*.c keyd/*.c chatc/*.c 2>/dev/null)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
n=$(echo "$srcs" | wc -l)
echo "  TIDY    $n files"
# shellcheck disable=SC2086
clang-tidy --quiet $srcs -- -std=c11 $flags >"$out" 2>&1 || rc=1
if grep -q -e 'warning:' -e 'error:' "$out"; then
	grep -v -e 'warnings\{0,1\} generated' -e '^Suppressed' -e 'Use -header-filter' "$out"
	rc=1
fi
echo "  CPPCHECK"
# shellcheck disable=SC2086
cppcheck -q --std=c11 --enable=warning,portability,performance --error-exitcode=1 \
	--inline-suppr $flags protocol sandbox relayd keyd chatc || rc=1
[ $rc -eq 0 ] && echo "analyze: clean"
exit $rc
