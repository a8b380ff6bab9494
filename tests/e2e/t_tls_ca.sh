#!/bin/sh
# SPDX-License-Identifier: ISC
# A relay with a CA-issued chain (relayd --cert) and chatc --relay-ca (a
# private CA: PROTOCOL.md 1.0, rule 2), with a test CA made here by the
# openssl CLI. The chain for the address or name chatc was given is accepted, and
# nothing is pinned for it in known_relays; an expired chain, a chain for
# another host, and a chain from another CA are each refused: an ERROR that
# says why and names the key, exit 1, nothing sent. A --relay-fp for the
# relay's key accepts the expired one (the pin decides alone).
# On 0.1.0 neither relayd --cert nor chatc --relay-ca exist.
. "$E2E_LIB/common.sh"
need_bins
command -v openssl >/dev/null 2>&1 || skip "no openssl CLI for the test CA"

has() { grep -q -F -- "$2" "$1"; }
must_has() { has "$1" "$2" || fail "$(basename "$1") lacks \"$2\": $(tail -n 3 "$1")"; }
ossl() { openssl "$@" >>"$W/openssl.log" 2>&1 || fail "openssl $1: $(tail -n 5 "$W/openssl.log")"; }

# The CA, with openssl ca's bookkeeping in $W/ca.
C=$W/ca
mkdir -p "$C/new"
: >"$C/index.txt"
echo 1000 >"$C/serial"
cat >"$C/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $C
database = $C/index.txt
new_certs_dir = $C/new
serial = $C/serial
certificate = $C/ca.crt
private_key = $C/ca.key
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
EOF
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=veil test CA" \
    -days 2 -keyout "$C/ca.key" -out "$C/ca.crt"
# leaf NAME SAN START END: a chain for the relay's key, leaf then CA, in $W/NAME.pem.
fp=$(relay_key)		# the key start_relay gives every relay here
leaf() {
	ossl req -new -key "$W/relay.key" -subj "/CN=veil relay" -addext "subjectAltName=$2" \
	    -out "$W/$1.csr"
	ossl ca -batch -config "$C/ca.cnf" -notext -startdate "$3" -enddate "$4" \
	    -in "$W/$1.csr" -out "$W/$1.crt"
	cat "$W/$1.crt" "$C/ca.crt" >"$W/$1.pem"
}
leaf good "IP:127.0.0.1,DNS:localhost" 20240101000000Z 20990101000000Z
leaf expired "IP:127.0.0.1" 20200101000000Z 20200102000000Z
leaf otherhost "DNS:relay.example" 20240101000000Z 20990101000000Z
# Another CA, and a chain from it that is right in every other way.
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=other CA" \
    -days 2 -keyout "$W/other.key" -out "$W/other.crt"
ossl req -new -key "$W/relay.key" -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -out "$W/stranger.csr"
ossl x509 -req -in "$W/stranger.csr" -CA "$W/other.crt" -CAkey "$W/other.key" \
    -set_serial 7 -days 2 -copy_extensions copy -out "$W/stranger.crt"
cat "$W/stranger.crt" "$W/other.crt" >"$W/stranger.pem"

start_keyd alice
start_keyd bob
kr=$XDG_DATA_HOME/veil/known_relays
# serve NAME: a relay with chain NAME (sets $NAME_PORT).
serve() { start_relay "$1" --cert "$W/$1.pem"; }
# refused NAME WHY: chatc --relay-ca refuses the relay NAME, saying WHY.
refused() {
	start_chatc "alice" --room ca --nick alice --relay "127.0.0.1:$2" --keyd "$alice_SOCK" \
	    --relay-ca "$C/ca.crt"
	wait_exit "$alice_PID" 10 || fail "$1: chatc did not end"
	[ "$E2E_RC" -eq 1 ] || fail "$1: chatc exited $E2E_RC, not 1"
	must_has "$W/alice.out" "presented a certificate that does not check out ($3): refusing it"
	must_has "$W/alice.out" "Its key is $fp; if you know that is the relay's key, run chatc with --relay-fp $fp"
	no_line "$W/alice.out" '^SECURE '
}

note "a chain from the CA for 127.0.0.1 and localhost: accepted by address and by name, nothing pinned"
serve good
start_chatc alice --room ca --nick alice --relay "localhost:$good_PORT" --keyd "$alice_SOCK" \
    --relay-ca "$C/ca.crt"
start_chatc bob --room ca --nick bob --relay "127.0.0.1:$good_PORT" --keyd "$bob_SOCK" \
    --relay-ca "$C/ca.crt"
must_line "$W/alice.out" '^SECURE bob ' 1 15
must_line "$W/bob.out" '^SECURE alice ' 1 15
say alice "over a CA-checked link"
must_line "$W/bob.out" '^MSG alice over a CA-checked link$' 1 10
no_line "$W/alice.out" '^WARN first connection'
stop_chatc alice
stop_chatc bob
[ ! -s "$kr" ] || fail "a CA-checked relay was pinned in known_relays: $(cat "$kr")"

note "an expired chain: refused"
serve expired
must_has "$W/expired.err" "has expired"
refused expired "$expired_PORT" "certificate has expired"
note "a chain for another host: refused"
serve otherhost
refused otherhost "$otherhost_PORT" "IP address mismatch"
note "a chain from another CA: refused"
serve stranger
refused stranger "$stranger_PORT" "self-signed certificate in certificate chain"
note "the pin decides alone: --relay-fp accepts the expired chain"
start_chatc alice --room pinned --nick alice --relay "127.0.0.1:$expired_PORT" \
    --keyd "$alice_SOCK" --relay-fp "$fp"
start_chatc bob --room pinned --nick bob --relay "127.0.0.1:$expired_PORT" \
    --keyd "$bob_SOCK" --relay-fp "$fp"
must_line "$W/alice.out" '^SECURE bob ' 1 15
stop_chatc alice
stop_chatc bob
echo PASS
