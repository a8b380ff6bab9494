#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Checks "nothing lost in silence" from two chatc --batch outputs.

    delivery.py SENDER.out SENDER RECEIVER.out RECEIVER PREFIX N [--all-delivered]

SENDER typed N lines "PREFIX <k>" (k = 1..N, nothing else, so k is also the
line number n of DESIGN.md's events). Every one of them must end in exactly
one of DELIVERED RECEIVER n or UNDELIVERED RECEIVER n <reason> at the
sender; the receiver must show (MSG SENDER PREFIX k) every delivered line,
each exactly once and in order, and nothing else of that prefix. With
--all-delivered none may be undelivered. Prints one summary line; exit 1
naming the first thing that breaks.
"""

import re
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    all_delivered = "--all-delivered" in sys.argv
    if len(args) != 6:
        sys.exit(__doc__)
    sout, snick, rout, rnick, prefix, n = args
    n = int(n)
    delivered, undelivered, reasons = [], {}, {}
    dre = re.compile(r"^DELIVERED %s (\d+)$" % re.escape(rnick))
    ure = re.compile(r"^UNDELIVERED %s (\d+) (\S+)" % re.escape(rnick))
    with open(sout, errors="replace") as f:
        for line in f:
            m = dre.match(line.rstrip("\n"))
            if m:
                delivered.append(int(m.group(1)))
                continue
            m = ure.match(line)
            if m:
                k = int(m.group(1))
                if k in undelivered:
                    sys.exit("line %d reported UNDELIVERED twice" % k)
                undelivered[k] = m.group(2)
                reasons[m.group(2)] = reasons.get(m.group(2), 0) + 1
    shown = []
    mre = re.compile(r"^MSG %s %s (\d+)$" % (re.escape(snick), re.escape(prefix)))
    with open(rout, errors="replace") as f:
        for line in f:
            m = mre.match(line.rstrip("\n"))
            if m:
                shown.append(int(m.group(1)))
    seen = "; %s showed %d of the %d" % (rnick, len(set(shown)), n)
    if len(set(delivered)) != len(delivered):
        sys.exit("a line was reported DELIVERED twice: %s" % sorted(
            k for k in set(delivered) if delivered.count(k) > 1)[:5])
    dset = set(delivered)
    both = dset & set(undelivered)
    if both:
        sys.exit("lines both DELIVERED and UNDELIVERED: %s" % sorted(both)[:5])
    silent = [k for k in range(1, n + 1) if k not in dset and k not in undelivered]
    if silent:
        sys.exit("%d of %d lines neither DELIVERED nor UNDELIVERED (lost in "
                 "silence): %s...%s" % (len(silent), n, silent[:8], seen))
    extra = [k for k in dset | set(undelivered) if k < 1 or k > n]
    if extra:
        sys.exit("events for lines never typed: %s" % extra[:5])
    if all_delivered and undelivered:
        sys.exit("%d line(s) UNDELIVERED: %s" % (len(undelivered),
                 sorted(undelivered.items())[:5]))
    if len(set(shown)) != len(shown):
        sys.exit("a line was shown twice: %s" % sorted(
            k for k in set(shown) if shown.count(k) > 1)[:5])
    if shown != sorted(shown):
        sys.exit("lines shown out of order")
    notshown = sorted(dset - set(shown))
    if notshown:
        sys.exit("DELIVERED but never shown: %s" % notshown[:5])
    late = sorted(set(shown) - dset)
    print("%d lines: %d delivered, %d undelivered%s, %d shown (%d of them "
          "shown but not acknowledged in time)" % (
              n, len(dset), len(undelivered),
              " (" + ", ".join("%s %d" % kv for kv in sorted(reasons.items())) + ")"
              if reasons else "", len(shown), len(late)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
