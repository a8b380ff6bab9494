#!/bin/sh
# SPDX-License-Identifier: ISC
# make check's stages, each run even when one before it failed: static
# analysis, unit tests, end-to-end scripts, fuzz smoke. Each stage ends its
# output with "<stage>: N passed, N failed"; the last line of all adds them
# up: "check: N passed, N failed". Exits 0 only when nothing failed.
# Usage: tests/check.sh "MAKE COMMAND"
set -u
make_cmd=${1:-make}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/veil-check.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
total_pass=0 total_fail=0 parts=""

# stage NAME TARGET: runs `make TARGET`, shows its output, adds up its line.
stage() {
	st_name=$1 st_target=$2
	{ $make_cmd "$st_target"; echo $? >"$tmp/$st_name.rc"; } 2>&1 | tee "$tmp/$st_name.log"
	st_rc=$(cat "$tmp/$st_name.rc")
	st_line=$(grep -E "^$st_name: [0-9]+ passed, [0-9]+ failed" "$tmp/$st_name.log" | tail -n 1)
	if [ -n "$st_line" ]; then
		st_p=$(echo "$st_line" | sed 's/^[^:]*: \([0-9]*\) passed.*/\1/')
		st_f=$(echo "$st_line" | sed 's/.* \([0-9]*\) failed.*/\1/')
		# A stage that failed without a failed test (a build error) counts one.
		[ "$st_rc" -ne 0 ] && [ "$st_f" -eq 0 ] && st_f=1
	else
		st_p=0 st_f=$([ "$st_rc" -eq 0 ] && echo 0 || echo 1)
		[ "$st_rc" -eq 0 ] && st_p=1
	fi
	total_pass=$((total_pass + st_p))
	total_fail=$((total_fail + st_f))
	st_skip=$(echo "$st_line" | sed -n 's/.* \([0-9][0-9]*\) skipped.*/ (\1 skipped)/p')
	parts="$parts${parts:+, }$st_name $st_p/$((st_p + st_f))$st_skip"
}

# The static analysis is one check: clean, or not.
{ $make_cmd analyze; echo $? >"$tmp/analyze.rc"; } 2>&1 | tee "$tmp/analyze.log"
if [ "$(cat "$tmp/analyze.rc")" -eq 0 ]; then
	echo "analyze: 1 passed, 0 failed" >>"$tmp/analyze.log"
fi
st_rc=$(cat "$tmp/analyze.rc")
if [ "$st_rc" -eq 0 ]; then total_pass=$((total_pass + 1)); parts="analyze 1/1"
else total_fail=$((total_fail + 1)); parts="analyze 0/1"; fi

stage unit unit
stage e2e e2e
stage fuzz fuzz-smoke

echo "check: $parts; $(( $(date +%s) - start ))s"
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
