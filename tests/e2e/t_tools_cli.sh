#!/bin/sh
# SPDX-License-Identifier: ISC
# The command lines of all three programs follow one convention (issue 16),
# each bug of 0.1.0 checked even when another fails:
#  relayd-h    `relayd -h` is --help (0.1.0: 'option "-h" needs a value');
#  one-line    a usage error is one line naming what was wrong, then
#              "Try 'PROG --help'.", exit 2 (0.1.0: chatc printed its whole
#              24-line usage, keyd its synopsis);
#  getopt      chatc takes unique prefixes of its options (--ro, --he), like
#              keyd and relayd (0.1.0 parsed them by hand: unknown option),
#              and says which options a prefix of several could be;
#  man         the man pages have FILES and ENVIRONMENT, chatc's KEYS (0.1.0's
#              had FILES in keyd.1 only).
. "$E2E_LIB/common.sh"
need_bins
BAD=""
bad() { note "broken: $1: $2"; BAD="$BAD $1"; }

"$BIN/relayd" -h >"$W/rh.out" 2>"$W/rh.err"
rc=$?
{ [ $rc -eq 0 ] && grep -q '^usage: relayd' "$W/rh.out"; } ||
	bad relayd-h "exit $rc: $(head -n 2 "$W/rh.err")"

# one_line NAME PROG ARGS...: exit 2, exactly two lines on stderr, nothing on stdout.
one_line() {
	ol_name=$1; shift
	"$@" </dev/null >"$W/u.out" 2>"$W/u.err"
	ol_rc=$?
	ol_prog=$(basename "$1")
	if [ $ol_rc -ne 2 ]; then bad one-line "$*: exit $ol_rc"; return; fi
	[ "$(wc -l <"$W/u.err")" -eq 2 ] || { bad one-line "$*: $(wc -l <"$W/u.err") lines: $(head -n 3 "$W/u.err")"; return; }
	[ -s "$W/u.out" ] && { bad one-line "$*: wrote to stdout"; return; }
	sed -n 1p "$W/u.err" | grep -q "^$ol_prog: .*$ol_name" || bad one-line "$*: first line $(sed -n 1p "$W/u.err")"
	[ "$(sed -n 2p "$W/u.err")" = "Try '$ol_prog --help'." ] || bad one-line "$*: second line $(sed -n 2p "$W/u.err")"
}
one_line 'colour' "$BIN/chatc" --room r --nick a --colour
one_line 'nick' "$BIN/chatc" --room r --nick
one_line 'nick' "$BIN/chatc" --room r --nick 'bad!nick'
one_line 'stray' "$BIN/chatc" --room r --nick a stray
one_line 'bogus' "$BIN/keyd" --bogus
one_line 'forget' "$BIN/keyd" --forget
one_line 'extra' "$BIN/keyd" extra
one_line 'bogus' "$BIN/relayd" --bogus
one_line 'max-clients' "$BIN/relayd" --max-clients 0

"$BIN/chatc" --he >"$W/ch.out" 2>&1 && grep -q '^usage: chatc' "$W/ch.out" ||
	bad getopt "chatc --he: $(head -n 2 "$W/ch.out")"
"$BIN/chatc" --vers >"$W/cv.out" 2>&1 && grep -q '^chatc (veil)' "$W/cv.out" ||
	bad getopt "chatc --vers: $(head -n 2 "$W/cv.out")"
"$BIN/chatc" -h >"$W/ch2.out" 2>&1 && grep -q '^usage: chatc' "$W/ch2.out" ||
	bad getopt "chatc -h: $(head -n 2 "$W/ch2.out")"
# A prefix: parsed, then chatc goes on to keyd (none there: exit 1, not 2).
"$BIN/chatc" --ro r --ni alice --ke "$W/none.sock" --ba </dev/null >"$W/cp.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'keyd is not running' "$W/cp.out" ||
	bad getopt "chatc --ro r --ni alice ...: exit $rc: $(head -n 2 "$W/cp.out")"
"$BIN/chatc" --r x --nick a </dev/null >"$W/ca.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'ambiguous option "--r"' "$W/ca.out" ||
	bad getopt "chatc --r x: exit $rc: $(head -n 1 "$W/ca.out")"

# The man pages: FILES and ENVIRONMENT in all three, KEYS in chatc's.
docs=$(cd "$E2E_LIB/../../../docs" && pwd)
if command -v man >/dev/null 2>&1; then
	for page in chatc.1 keyd.1 relayd.8; do
		man -l "$docs/$page" 2>/dev/null | col -b >"$W/$page.txt"
		for sec in FILES ENVIRONMENT; do
			grep -q "^$sec\$" "$W/$page.txt" || bad man "$page has no $sec section"
		done
	done
	grep -q '^KEYS$' "$W/chatc.1.txt" || bad man "chatc.1 has no KEYS section"
	grep -q 'PgUp' "$W/chatc.1.txt" || bad man "chatc.1 does not say what PgUp does"
fi
[ -z "$BAD" ] || fail "broken:$BAD"
note "ok"
