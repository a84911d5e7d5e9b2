#!/usr/bin/env bash
# TLS: the memory bench's fio workloads over TLS (nbds+unix, X.509, libnbd's GnuTLS on the client
# side) against `nbd-osgi --tls=require` and `nbdkit --tls=require` with the same certificates
# (made here with certtool), in one run, with each workload's ratio. Each server is filled first;
# the servers alternate for ROUNDS rounds (default 3) and each figure is the median.
# Ends with PASS or FAIL against the bar (ratio >= 0.8 on every workload).
# Usage: bench/tls.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
need certtool gnutls-bin
SCHEME=nbds+unix

# a CA and a server certificate, ECDSA P-256 (libnbd does not check a Unix socket's peer name)
PKI=$WORK/pki
mkdir -p "$PKI"
printf 'cn = bench CA\nca\ncert_signing_key\nexpiration_days = 2\n' >"$WORK/ca.info"
printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n' >"$WORK/server.info"
(umask 077
 certtool --generate-privkey --key-type=ecdsa --outfile "$WORK/ca-key.pem"
 certtool --generate-privkey --key-type=ecdsa --outfile "$PKI/server-key.pem") 2>/dev/null
certtool --generate-self-signed --load-privkey "$WORK/ca-key.pem" --template "$WORK/ca.info" \
    --outfile "$PKI/ca-cert.pem" >/dev/null 2>&1
certtool --generate-certificate --load-privkey "$PKI/server-key.pem" --load-ca-certificate "$PKI/ca-cert.pem" \
    --load-ca-privkey "$WORK/ca-key.pem" --template "$WORK/server.info" --outfile "$PKI/server-cert.pem" >/dev/null 2>&1

memory_workloads "workload (TLS)" --tls=require --tls-certificates="$PKI" memory 1G
