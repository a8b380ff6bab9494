#!/bin/sh
# SPDX-License-Identifier: ISC
# Terminal injection: bob types messages full of escape sequences (CSI 2J,
# OSC title with BEL, C1 CSI as UTF-8, ESC c, \r, \b, DEL, tab, VT, FF) and
# raw invalid UTF-8. alice's output must not hold one raw control byte (C0
# other than the line end, DEL, C1) nor invalid UTF-8, the printable parts
# around them must survive (escaped, not dropped), and the message count must
# be what bob sent.
. "$E2E_LIB/common.sh"
need_bins

start_relay relay
start_keyd alice
start_keyd bob
secure_pair alice bob escape "$relay_PORT"

e2e_alive bob
printf 'START1 \033[2J\033[H clear \033]0;pwned-title\007 osc \302\233 31m c1 \033c reset END1\n' >"$W/bob.in"
printf 'START2 cr\rover bs\b\b\bX del\177 tab\there vt\013ff\014 END2\n' >"$W/bob.in"
printf 'START3 esc at the end \033\n' >"$W/bob.in"
printf 'START4 bad utf8 \377\376 \300\257 \355\240\200 \364\220\200\200 \302 END4\n' >"$W/bob.in"
printf 'START5 backslash \\x1b is text, not a control END5\n' >"$W/bob.in"
# Not C0/C1 but able to fool a reader: bidi overrides (U+202E) and the
# Unicode line/paragraph separators (U+2028/9, which str.splitlines() and
# some consumers treat as line ends, so one MSG could pass for two events).
say bob "$(printf 'START7 bidi \342\200\256dcba ls\342\200\250SECURE mallory 0000 expected ps\342\200\251 END7')"
say bob "START6 plain after END6"
must_line "$W/alice.out" '^MSG bob START6 plain after END6$' 1 10
# The invalid UTF-8 line is refused at bob's end: not sent, exit 3.
stop_chatc bob 3
must_line "$W/alice.out" '^LEFT bob$' 1 10
stop_chatc alice

$PY - "$W/alice.out" <<'PYEOF' || fail "raw control bytes or invalid UTF-8 reached the terminal"
import re, sys
data = open(sys.argv[1], "rb").read()
bad = 0
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    ctl = [c for c in line if c < 0x20 or c == 0x7f]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        print("line %d: invalid UTF-8 (%s): %r" % (n, e, line[:120])); bad += 1; continue
    c1 = [c for c in text if 0x80 <= ord(c) <= 0x9f]
    if ctl or c1:
        print("line %d: raw controls %r %r: %r" % (n, ctl, c1, line[:160])); bad += 1
sys.exit(1 if bad else 0)
PYEOF

for n in 1 2 3 5 6; do exactly "$W/alice.out" "^MSG bob START$n " 1; done
# START4 is either refused at bob (WARN there) or shown with replacements.
if [ "$(count "$W/alice.out" '^MSG bob START4 ')" -eq 0 ]; then
	grep -q '^WARN ' "$W/bob.out" || fail "the invalid UTF-8 line vanished without a WARN at bob"
	note "invalid UTF-8 typed: refused by bob's chatc with a WARN"
else
	exactly "$W/alice.out" '^MSG bob START4 .*END4$' 1
	note "invalid UTF-8 typed: delivered with replacements"
fi
exactly "$W/alice.out" '^MSG ' "$(( 6 + $(count "$W/alice.out" '^MSG bob START4 ') ))"
# The printable parts are still there: escaped, not swallowed.
for part in '\[2J' 'clear' 'pwned-title' ' osc ' '31m c1' 'reset END1' 'over bs' 'X del' 'here vt' 'END2' 'END5'; do
	grep -q -e "^MSG bob START.*$part" "$W/alice.out" || fail "'$part' was dropped from an escaped message"
done
# The backslash of START5 is escaped too, so it cannot be confused with an escape.
grep '^MSG bob START5 ' "$W/alice.out" | grep -q -F 'backslash \x1b is' &&
	note "notice: a literal backslash is shown as is, so \\x1b typed and ESC received look alike"
exactly "$W/alice.out" '^MSG bob START7 ' 1
for cp in 202e 2028 2029; do
	$PY - "$W/alice.out" "$cp" <<'PYEOF' || note "notice: U+$cp from a peer reaches the output unescaped"
import sys
sys.exit(1 if chr(int(sys.argv[2], 16)) in open(sys.argv[1], encoding="utf-8").read() else 0)
PYEOF
done
note "shown: $(grep '^MSG bob START1 ' "$W/alice.out" | cut -c1-150)"
note "ok: no raw control byte, C1 or invalid UTF-8 reached alice's output"
