#!/bin/sh
# SPDX-License-Identifier: ISC
# The spec is enough to interoperate: tests/e2e/lib/peer2.py, a veil/2 peer
# written from protocol/PROTOCOL.md alone (Python, the cryptography module),
# recomputes every value of the worked example (2.7) and the names of
# section 4 from their inputs, and each must equal the text; then, with a
# value of the text changed, it must say which one differs (the check can
# fail). The C engine reproduces the same text (tests/unit/check_example.c),
# so the two implementations agree byte for byte.
set -u
: "${TMPDIR:=/tmp}"
NAME=$(basename "$0" .sh)
HERE=$(cd "$(dirname "$0")" && pwd)
SPEC="$HERE/../../protocol/PROTOCOL.md"
PY=${PYTHON:-python3}
fail() { echo "$NAME: FAIL: $*"; exit 1; }
"$PY" -c "import cryptography" 2>/dev/null ||
	{ echo "$NAME: skipped: no python cryptography module (apt install python3-cryptography)"; exit 77; }
out=$("$PY" "$HERE/lib/peer2.py" example "$SPEC" 2>&1) || fail "$out"
echo "$out" | grep -q ", 0 differ$" || fail "$out"
echo "$NAME: figure: $out"
W=$(mktemp -d "$TMPDIR/p2.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
# sig_I's first hex digit, changed.
"$PY" - "$SPEC" "$W/spec.md" <<'PYEOF' || fail "could not make the changed copy"
import sys
t = open(sys.argv[1]).read()
i = t.index("sig_I = Ed25519-Sign(alice, signed)")
j = t.index("    ", i) + 4
t = t[:j] + ("1" if t[j] == "0" else "0") + t[j + 1:]
open(sys.argv[2], "w").write(t)
PYEOF
"$PY" "$HERE/lib/peer2.py" example "$W/spec.md" >"$W/bad.out" 2>&1 && fail "a changed value went unnoticed"
grep -q "sig_I = Ed25519-Sign(alice, signed) differs" "$W/bad.out" || fail "$(cat "$W/bad.out")"
exit 0
