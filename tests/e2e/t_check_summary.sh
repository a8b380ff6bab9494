#!/bin/sh
# SPDX-License-Identifier: ISC
# make check ends with one "check: N passed, N failed" line adding up every
# stage (tests/check.sh), runs every stage even after one failed, and fails
# when any did. Driven with a stand-in for make that plays each stage's
# last line, so it takes no time (issue 16: 0.1.0's make check had no
# summary and stopped at the first failing stage).
. "$E2E_LIB/common.sh"
src=$(cd "$E2E_LIB/../../.." && pwd)
cat >"$W/fake-make" <<'EOS'
#!/bin/sh
case $1 in
analyze) echo "analyze: clean" ;;
unit) echo "unit: 5 line(s) of error output ..."; echo "unit: 700 passed, 2 failed"; exit 2 ;;
e2e) echo "PASS t_x (1s)"; echo "e2e: 30 passed, 0 failed, 1 skipped" ;;
fuzz-smoke) echo "cc: error: something"; exit 2 ;;
esac
EOS
chmod +x "$W/fake-make"
sh "$src/tests/check.sh" "$W/fake-make" >"$W/check.out" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "check.sh passed with failing stages"
last=$(tail -n 1 "$W/check.out")
# analyze 1 + unit 700/2 + e2e 30 + fuzz (no summary, failed) 0/1
[ "$last" = "check: 731 passed, 3 failed" ] || fail "last line: '$last'"
grep -q 'PASS t_x' "$W/check.out" || fail "the e2e stage did not run after unit failed"
grep -q 'e2e 30/30 (1 skipped)' "$W/check.out" || fail "no breakdown: $(tail -n 2 "$W/check.out")"
note "ok"
