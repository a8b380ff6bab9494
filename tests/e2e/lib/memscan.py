#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Looks for logged secrets in the memory of a running process.

A KEYLOG=1 keyd writes every secret it derives as one "LABEL HEX" line to
the descriptor VEIL_KEYLOG_FD names (keyd/session.c). This tool reads
/proc/PID/maps and then /proc/PID/mem of every readable mapping (heap,
stacks, anonymous memory, the writable parts of libraries, everything) and
looks for each secret's bytes, both as logged (big-endian, as the engine
holds them), byte-reversed (as a little-endian BIGNUM limb array holds a
scalar), and each 16-byte half alone (a partial copy). Reading another
process's memory needs ptrace access: root with
CAP_SYS_PTRACE has it even for a non-dumpable process such as keyd.

  memscan.py present PID KEYFILE LABEL...
      exit 0 when the LAST logged secret of each LABEL is found (positive
      control: the scanner does see live keys); 1 if one is missing.
  memscan.py absent PID [--except-last LABEL,...] KEYFILE...
      exit 0 when none of the secrets of any KEYFILE is found; 1 otherwise,
      naming each one found, where (mapping, offset) and in which form.
      --except-last leaves out the last secret of each LABEL in each
      KEYFILE (the keys a live session still holds).
  Exit 2: the process could not be read (no permission, gone).
Every run prints a summary: mappings and bytes read, secrets looked for.
"""
import re
import sys

MAPS_RE = re.compile(r'^([0-9a-f]+)-([0-9a-f]+) (\S{4}) (\S+) \S+ \S+\s*(.*)$')


def load_keys(paths):
    """[(label, bytes)] in log order; malformed lines are an error."""
    keys = []
    for path in paths:
        with open(path, encoding='ascii') as f:
            for n, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 2 or len(parts[1]) % 2 or len(parts[1]) < 32:
                    raise SystemExit('memscan: %s:%d: not "LABEL HEX"' % (path, n))
                keys.append((parts[0], bytes.fromhex(parts[1])))
    return keys


def mappings(pid):
    out = []
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            m = MAPS_RE.match(line.rstrip('\n'))
            if not m or m.group(3)[0] != 'r':
                continue
            name = m.group(5) or '[anon]'
            if name == '[vsyscall]' or name.startswith('[vvar'):
                continue
            out.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3), name))
    return out


def snapshot(pid):
    """[(start, perms, name, bytes)] of every readable mapping."""
    snap, unreadable = [], []
    try:
        maps = mappings(pid)
        mem = open('/proc/%d/mem' % pid, 'rb', buffering=0)
    except OSError as e:
        print('memscan: cannot read process %d: %s' % (pid, e))
        sys.exit(2)
    with mem:
        for start, end, perms, name in maps:
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError as e:
                unreadable.append('%x %s (%s)' % (start, name, e.strerror))
                continue
            snap.append((start, perms, name, data))
    if not snap:
        print('memscan: nothing of process %d could be read' % pid)
        sys.exit(2)
    total = sum(len(d) for _, _, _, d in snap)
    print('memscan: pid %d: read %d mappings, %d bytes%s' % (
        pid, len(snap), total,
        '; unreadable: ' + ', '.join(unreadable) if unreadable else ''))
    return snap


def find(snap, secret):
    """[(form, address, mapping name, offset in mapping)] of every copy."""
    hits = []
    half = len(secret) // 2
    forms = [('as-logged', secret), ('reversed', secret[::-1])]
    # A partial copy (an AES round key, half of a buffer) is caught too.
    forms += [('first half', secret[:half]), ('second half', secret[half:])]
    for form, needle in forms:
        for start, _, name, data in snap:
            i = data.find(needle)
            while i != -1:
                hits.append((form, start + i, name, i))
                i = data.find(needle, i + 1)
    return hits


def show(label, secret, hits, snap):
    for form, addr, name, off in hits:
        print('  %s %s... %s at 0x%x (%s +0x%x)' % (label, secret[:8].hex(), form,
                                                   addr, name, off))
        for start, _, mname, data in snap:
            if mname == name and start <= addr < start + len(data):
                lo = max(0, addr - start - 16)
                print('    context: %s' % data[lo:addr - start + len(secret) + 16].hex())
                break


def cmd_present(pid, keyfile, labels):
    keys = load_keys([keyfile])
    last = {}
    for label, secret in keys:
        last[label] = secret
    snap = snapshot(pid)
    bad = 0
    for label in labels:
        if label not in last:
            print('memscan: no %s secret in %s' % (label, keyfile))
            bad = 1
            continue
        hits = find(snap, last[label])
        if hits:
            print('memscan: live %s found (%d hits, halves counted):' % (label, len(hits)))
            show(label, last[label], hits, snap)
        else:
            print('memscan: live %s %s... NOT found' % (label, last[label][:8].hex()))
            bad = 1
    return bad


def cmd_absent(pid, keyfiles, keep_labels=()):
    keys = load_keys(keyfiles)
    keep = set()
    for path in keyfiles:
        last = {}
        for label, secret in load_keys([path]):
            last[label] = secret
        keep.update(last[l] for l in keep_labels if l in last)
    uniq = {}
    for label, secret in keys:
        if secret not in keep:
            uniq.setdefault(secret, label)
    snap = snapshot(pid)
    found = 0
    labels = {}
    for secret, label in uniq.items():
        labels[label] = labels.get(label, 0) + 1
        hits = find(snap, secret)
        if hits:
            found += 1
            show(label, secret, hits, snap)
    print('memscan: looked for %d distinct secrets%s (%s): %d found' % (
        len(uniq), ' (%d live ones left out)' % len(keep) if keep else '', ', '.join('%s %d' % kv for kv in sorted(labels.items())), found))
    return 1 if found else 0


def main(argv):
    if len(argv) >= 4 and argv[1] == 'present':
        return cmd_present(int(argv[2]), argv[3], argv[4:])
    if len(argv) >= 6 and argv[1] == 'absent' and argv[3] == '--except-last':
        return cmd_absent(int(argv[2]), argv[5:], argv[4].split(','))
    if len(argv) >= 4 and argv[1] == 'absent':
        return cmd_absent(int(argv[2]), argv[3:])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
