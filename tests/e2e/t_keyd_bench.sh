#!/bin/sh
# SPDX-License-Identifier: ISC
# e2e: alone (timing bounds or figures that need the machine to itself)
# keyd throughput over its socket, with the Python client (so the figures
# include the client's own cost): handshake time, and seal+open of 256-byte
# messages one handle per SEAL and 30 handles per SEAL. Prints figure lines;
# fails only if keyd fails. More rounds: KEYD_BENCH_N=3000.
. "$(cd "$(dirname "$0")" && pwd)/lib/keyd.sh"

S="$W/run/keyd.sock"
start_keyd k "$W/home" "$S"
"$PY" "$LIB/keydclient.py" bench "$S" "${KEYD_BENCH_N:-600}" >"$W/bench.out" 2>&1 || fail "bench: $(cat "$W/bench.out")"
sed "s/^/$NAME: figure: /" "$W/bench.out"
exit 0
