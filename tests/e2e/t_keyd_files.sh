#!/bin/sh
# SPDX-License-Identifier: ISC
# keyd's files and command line: socket 0600 in a 0700 directory, identity
# and known_peers 0600, the fingerprint stable across restarts and equal to
# what keyd answers over IPC, a too-open identity or socket directory
# refused, --help / --version / usage errors.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

H="$W/home" S="$W/run/keyd.sock"

# --version, --help, usage errors.
[ "$("$BIN/keyd" --version)" = "keyd (veil) 0.1.0" ] || fail "--version: $("$BIN/keyd" --version)"
"$BIN/keyd" --help >"$W/help.out" || fail "--help exited non-zero"
for w in --socket --home --daemon --fingerprint --forget --help --version example default; do
	grep -q -e "$w" "$W/help.out" || fail "--help does not mention $w"
done
for args in "--bogus" "--forget" "--fingerprint --forget bob" "--fingerprint --daemon" \
    "--forget bad/nick" "extra"; do
	"$BIN/keyd" $args --home "$H" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "keyd $args: exit $rc, want 2"
done

# --fingerprint creates the identity (0600, home 0700) and says so on stderr.
F1=$("$BIN/keyd" --fingerprint --home "$H" 2>"$W/fpr.err") || fail "--fingerprint failed"
grep -q "created a new identity" "$W/fpr.err" || fail "no note that the identity was created"
echo "$F1" | grep -Eq '^[0-9a-f]{4}(:[0-9a-f]{4}){9}$' || fail "fingerprint format: $F1"
[ "$("$BIN/keyd" --fingerprint --home "$H" | wc -l)" -eq 1 ] || fail "--fingerprint prints more than one line"
[ "$(mode "$H")" = 700 ] || fail "home mode $(mode "$H")"
[ "$(mode "$H/identity")" = 600 ] || fail "identity mode $(mode "$H/identity")"
[ "$(stat -c %s "$H/identity")" = 32 ] || fail "identity is not 32 bytes"

# The daemon: socket 0600 in a new 0700 directory, known_peers 0600.
start_keyd k "$H" "$S"
[ "$(mode "$W/run")" = 700 ] || fail "socket directory mode $(mode "$W/run")"
[ "$(mode "$S")" = 600 ] || fail "socket mode $(mode "$S")"
[ -S "$S" ] || fail "$S is not a socket"
[ "$(mode "$H/known_peers")" = 600 ] || fail "known_peers mode $(mode "$H/known_peers")"
# Over IPC keyd answers HELLO with the same fingerprint.
F2=$("$PY" "$LIB/keydclient.py" fpr "$S") || fail "HELLO failed"
[ "$F1" = "$F2" ] || fail "IPC fingerprint $F2 differs from --fingerprint $F1"
kill -TERM "$KPID"; wait "$KPID"; rc=$?
[ $rc -eq 0 ] || fail "keyd exited $rc on SIGTERM"
grep -q "stopped" "$W/k.err" || fail "no stop line"

# Restart: same identity, same fingerprint.
start_keyd k2 "$H" "$S"
F3=$("$PY" "$LIB/keydclient.py" fpr "$S") || fail "HELLO after restart failed"
[ "$F1" = "$F3" ] || fail "fingerprint changed across restart: $F1 then $F3"
kill -TERM "$KPID"; wait "$KPID"

# Never a key on stderr: the seed's hex does not appear in any log.
SEED=$(od -An -tx1 "$H/identity" | tr -d ' \n')
cat "$W"/*.err | tr -d ' \n' | grep -qi "$SEED" && fail "the identity seed appears in a log"

# A too-open identity is refused, like ssh does.
chmod 644 "$H/identity"
"$BIN/keyd" --fingerprint --home "$H" >/dev/null 2>"$W/open.err" && fail "0644 identity accepted"
grep -q "permissions 0644 for '$H/identity' are too open" "$W/open.err" || fail "message: $(cat "$W/open.err")"
"$BIN/keyd" --home "$H" --socket "$S" 2>"$W/open2.err" && fail "daemon started with a 0644 identity"
chmod 600 "$H/identity"

# A socket directory others can enter is refused, naming path and mode.
mkdir -m 755 "$W/pub"
"$BIN/keyd" --home "$H" --socket "$W/pub/keyd.sock" 2>"$W/dir.err" && fail "started in a 0755 directory"
grep -q "$W/pub" "$W/dir.err" && grep -q "0700" "$W/dir.err" || fail "message: $(cat "$W/dir.err")"
[ -e "$W/pub/keyd.sock" ] && fail "a socket was created in the 0755 directory"
note "ok"
exit 0
