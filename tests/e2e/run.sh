#!/bin/sh
# SPDX-License-Identifier: ISC
# Runs every end-to-end test script tests/e2e/t_*.sh (or the ones named on the
# command line). Each script gets BIN (the directory holding relayd, keyd and
# chatc) and a private TMPDIR, and exits 0 (pass), 77 (skipped, with a reason
# on stdout) or anything else (fail). Scripts clean up every process they start.
#
# Scripts run E2E_JOBS at a time (default: the number of CPUs), results shown
# as they finish. Most of a script's time is spent waiting on events, so this
# costs little load; a script whose figures or timing bounds need the machine
# to itself says so with a line "# e2e: alone" and runs after the others, by
# itself. Under E2E_SANITIZE=1 (make sanitize) those scripts, and the ones
# that say "# e2e: nosan" (most of their time is a timer running out), are
# skipped: their figures mean nothing under ASan, and their code paths are
# run by the other scripts.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:=$(cd "$here/../.." && pwd)/bin}"
export BIN
export E2E_LIB="$here/lib"
jobs=${E2E_JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

if [ $# -gt 0 ]; then tests="$*"; else tests=$(ls "$here"/t_*.sh 2>/dev/null); fi
together="" alone=""
pass=0 fail=0 skip=0 failed=""
for t in $tests; do
	if [ "${E2E_SANITIZE:-0}" = 1 ] && grep -q -E '^# e2e: (alone|nosan)' "$t"; then
		skip=$((skip + 1))
		echo "SKIP $(basename "$t" .sh): timing or figures, not run under the sanitizers"
	elif grep -q '^# e2e: alone' "$t"; then alone="$alone $t"; else together="$together $t"; fi
done

suite_start=$(date +%s)
running=""	# "pid:name:dir:start" entries

start_one() {
	t=$1
	name=$(basename "$t" .sh)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/veil-e2e.XXXXXX")
	(TMPDIR="$dir" timeout -k 5 240 sh "$t" >"$dir/log" 2>&1; echo $? >"$dir/rc.tmp" &&
	    mv "$dir/rc.tmp" "$dir/rc") &
	running="$running $!:$name:$dir:$(date +%s)"
}

report() {
	name=$1 dir=$2 secs=$3
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)"
	   # Measurements and remarks a passing script wants seen.
	   grep -E ': (figure|notice): ' "$dir/log" | sed 's/^/    /' ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$dir/log")" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "FAIL $name (exit $rc, ${secs}s); last lines of its log:"
	   tail -n 25 "$dir/log" | sed 's/^/    /' ;;
	esac
	rm -rf "$dir"
}

# Waits until fewer than $1 scripts run, reporting those that finished.
reap() {
	while :; do
		still="" n=0
		for e in $running; do
			pid=${e%%:*} rest=${e#*:}
			name=${rest%%:*} rest=${rest#*:}
			dir=${rest%%:*} st=${rest#*:}
			# Its rc file is the last thing the runner subshell writes
			# (kill -0 would also succeed on a zombie).
			if [ ! -s "$dir/rc" ]; then
				still="$still $e"; n=$((n + 1))
			else
				wait "$pid" 2>/dev/null
				report "$name" "$dir" $(( $(date +%s) - st ))
			fi
		done
		running=$still
		[ $n -lt "$1" ] && return
		sleep 0.2
	done
}

for t in $together; do
	reap "$jobs"
	start_one "$t"
done
reap 1
for t in $alone; do
	start_one "$t"
	reap 1
done
echo "e2e: $(( $(date +%s) - suite_start ))s in all ($jobs at a time)"
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || { echo "failed:$failed"; exit 1; }
