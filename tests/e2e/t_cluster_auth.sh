#!/bin/sh
# SPDX-License-Identifier: ISC
# relayd --cluster's link to NATS is authenticated (issue 15, PROTOCOL.md
# 5.11): a nats-server that wants TLS (a certificate from a test CA, for
# 127.0.0.1 and nats.test) and an nkey login. relayd with the CA, the name
# and the nkey seed (--cluster-creds) joins and serves; with another CA,
# another name, another seed, no TLS, or a credentials file others can read,
# it refuses to start, saying why. The link then survives the server's
# restart: the TLS handshake and the nkey signature run again in libnats'
# reconnect thread, under the seccomp filter. 0.1.0 has no --cluster.
. "$E2E_LIB/common.sh"
. "$E2E_LIB/cluster.sh"
need_bins
need_nats
command -v openssl >/dev/null 2>&1 || skip "no openssl CLI for the test CA"

ossl() { openssl "$@" >>"$W/openssl.log" 2>&1 || fail "openssl $1: $(tail -n 5 "$W/openssl.log")"; }
ca() {
	ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1 CA" \
	    -days 2 -keyout "$W/$1.key" -out "$W/$1.crt"
}
ca test
ca other
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=nats.test" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:nats.test" -keyout "$W/nats.key" -out "$W/nats.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:nats.test\n' >"$W/san.ext"
ossl x509 -req -in "$W/nats.csr" -CA "$W/test.crt" -CAkey "$W/test.key" -CAcreateserial \
    -days 2 -extfile "$W/san.ext" -out "$W/nats.crt"

# The nkeys reference pair (github.com/nats-io/nats.c README), and another seed.
printf 'SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY\n' >"$W/seed"
$PY - >"$W/wrongseed" <<'PY'
import base64, os
def crc16(b):
    c = 0
    for x in b:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) & 0xffff if c & 0x8000 else (c << 1) & 0xffff
    return c
raw = bytes([144 | 5, 0]) + os.urandom(32)
raw += crc16(raw).to_bytes(2, "little")
print(base64.b32encode(raw).decode().rstrip("="))
PY
chmod 600 "$W/seed" "$W/wrongseed"
cp "$W/seed" "$W/seed-open"
chmod 644 "$W/seed-open"

port=$(free_ports 1)
cat >"$W/nats.conf" <<CONF
listen: 127.0.0.1:$port
tls { cert_file: "$W/nats.crt", key_file: "$W/nats.key", timeout: 2 }
authorization { users = [ { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 } ] }
CONF
nats-server -c "$W/nats.conf" >"$W/nats.log" 2>&1 &
nats_pid=$!; e2e_track $nats_pid
wait_line "$W/nats.log" 'Server is ready' 1 10 || fail "nats-server did not start"
url="tls://127.0.0.1:$port"

# refused NAME WHY-ERE relayd args...: relayd must exit 1 at start-up, saying WHY.
refused() {
	rf_n=$1 rf_why=$2; shift 2
	"$BIN/relayd" --plaintext --listen 127.0.0.1:0 --node "$rf_n" "$@" 2>"$W/$rf_n.err" &
	rf_pid=$!; e2e_track $rf_pid
	wait_exit $rf_pid 15 || fail "relayd $rf_n did not give up"
	[ "$E2E_RC" -eq 1 ] || fail "relayd $rf_n exited $E2E_RC, not 1: $(tail -n 2 "$W/$rf_n.err")"
	grep -q -E "$rf_why" "$W/$rf_n.err" || fail "relayd $rf_n did not say /$rf_why/: $(tail -n 2 "$W/$rf_n.err")"
	no_line "$W/$rf_n.err" 'listening on'
}
refused otherca 'no NATS server of --cluster answered' --cluster "$url" \
    --cluster-ca "$W/other.crt" --cluster-creds "$W/seed"
refused othername 'no NATS server of --cluster answered' --cluster "$url" \
    --cluster-ca "$W/test.crt" --cluster-tls-name other.test --cluster-creds "$W/seed"
refused otherseed 'no NATS server of --cluster answered' --cluster "$url" \
    --cluster-ca "$W/test.crt" --cluster-creds "$W/wrongseed"
refused noseed 'no NATS server of --cluster answered' --cluster "$url" --cluster-ca "$W/test.crt"
refused openseed 'lets others read it' --cluster "$url" --cluster-ca "$W/test.crt" \
    --cluster-creds "$W/seed-open"
# A tls:// server without a CA to check it is a usage error (2), before anything.
"$BIN/relayd" --plaintext --cluster "$url" --node noca 2>"$W/noca.err"
[ $? -eq 2 ] || fail "tls:// without --cluster-ca was not a usage error"
note "refused: another CA, another name, another seed, no login, a readable seed file"

# The right CA, name and seed: it joins and serves.
start_node good "$url" --cluster-ca "$W/test.crt" --cluster-tls-name nats.test \
    --cluster-creds "$W/seed"
wait_nodes good 1
grep -q 'TLS, with credentials' "$W/good.err" || fail "relayd does not say TLS and credentials"
export PYTHONPATH="$E2E_LIB" PORT="$good_PORT"
$PY - <<'PY' || fail "a room on the authenticated node"
import os
import relay
room = relay.room_id("auth")
a = relay.Client("127.0.0.1", int(os.environ["PORT"]))
b = relay.Client("127.0.0.1", int(os.environ["PORT"]))
ma, _ = a.join(room, timeout=10)
mb, others = b.join(room, timeout=10)
assert others == [ma], others
b.send_data(ma, b"over the cluster's node")
assert a.expect(relay.JOINED)[0] == mb
assert a.expect(relay.DATA) == (mb, ma, b"over the cluster's node")
PY

# The server restarts: TLS and the nkey again, in the reconnect thread, under the filter.
kill -9 $nats_pid
wait_exit $nats_pid 5
nats-server -c "$W/nats.conf" >"$W/nats2.log" 2>&1 &
nats_pid=$!; e2e_track $nats_pid
wait_line "$W/nats2.log" 'Server is ready' 1 10 || fail "nats-server did not start again"
end=$(( $(date +%s) + 15 ))
while :; do
	wait_nodes good 1
	[ "$(cluster_stat good reconnects)" -ge 1 ] && [ "$(cluster_stat good up)" = 1 ] && break
	[ "$(date +%s)" -gt "$end" ] && fail "relayd did not reconnect over TLS"
	sleep 0.2
done
e2e_dead "$good_PID" && fail "relayd died reconnecting"
note "TLS with the test CA and name, nkey login; reconnected after the server's restart"
