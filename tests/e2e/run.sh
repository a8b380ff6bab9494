#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs every end-to-end test script tests/e2e/t_*.sh (or the ones named on the
# command line). Each script gets BIN (the directory holding relayd, keyd and
# chatc) and a private TMPDIR, and exits 0 (pass), 77 (skipped, with a reason
# on stdout) or anything else (fail). Scripts clean up every process they start.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:=$(cd "$here/../.." && pwd)/bin}"
export BIN
export E2E_LIB="$here/lib"

if [ $# -gt 0 ]; then tests="$*"; else tests=$(ls "$here"/t_*.sh 2>/dev/null); fi
pass=0 fail=0 skip=0 failed=""
suite_start=$(date +%s)
for t in $tests; do
	name=$(basename "$t" .sh)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e.XXXXXX")
	start=$(date +%s)
	TMPDIR="$dir" timeout -k 5 240 sh "$t" >"$dir/log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)"
	   # Measurements and remarks a passing script wants seen.
	   grep -E ': (figure|notice): ' "$dir/log" | sed 's/^/    /'
	   rm -rf "$dir" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$dir/log")"; rm -rf "$dir" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "FAIL $name (exit $rc, ${secs}s); last lines of its log:"
	   tail -n 25 "$dir/log" | sed 's/^/    /'
	   rm -rf "$dir" ;;
	esac
done
echo "e2e: $(( $(date +%s) - suite_start ))s in all"
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
