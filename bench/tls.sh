#!/usr/bin/env bash
# TLS: the memory bench's fio workloads over TLS (nbds+unix, X.509, libnbd's GnuTLS on the client
# side) against `nbd-osgi --tls=require` and `nbdkit --tls=require` with the same certificates
# (made here with certtool), in one run, with each workload's ratio. Each server is filled first;
# the servers alternate for ROUNDS rounds (default 3) and each figure is the median.
# Ends with PASS or FAIL against the bar (ratio >= 0.8 on every workload).
# Usage: bench/tls.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
need certtool gnutls-bin
ROUNDS=${ROUNDS:-3}
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

WORKLOADS=("write 1M 16" "read 1M 16" "randwrite 4k 32" "randread 4k 32")
declare -A samples

for round in $(seq 1 "$ROUNDS"); do
    for server in nbd-osgi nbdkit; do
        start "$server" "tls-$server-$round" --tls=require --tls-certificates="$PKI" memory 1G
        fill "$SOCK"
        for w in "${WORKLOADS[@]}"; do
            read -r rw bs depth <<<"$w"
            read -r iops mibs <<<"$(fio_job "$SOCK" "$rw" "$bs" "$depth")"
            value=$([[ $bs == 1M ]] && echo "$mibs" || echo "$iops")
            samples["$server $w"]+="$value "
        done
        stop "$SERVER_PID"
    done
done

echo "| workload (TLS) | nbd-osgi | nbdkit | ratio |"
echo "|---|---|---|---|"
for w in "${WORKLOADS[@]}"; do
    read -r rw bs depth <<<"$w"
    ours=$(median ${samples["nbd-osgi $w"]})
    theirs=$(median ${samples["nbdkit $w"]})
    unit=$([[ $bs == 1M ]] && echo "MiB/s" || echo "IOPS")
    echo "| $rw $bs depth $depth | $ours $unit | $theirs $unit | $(ratio "$ours" "$theirs") |"
done
echo
echo "(median of $ROUNDS alternating rounds, ${RUNTIME}s each after ${RAMP}s ramp; load average $(cut -d' ' -f1-3 /proc/loadavg))"
below=()
for w in "${WORKLOADS[@]}"; do
    r=$(ratio "$(median ${samples["nbd-osgi $w"]})" "$(median ${samples["nbdkit $w"]})")
    awk -v r="$r" 'BEGIN { exit !(r < 0.8) }' && below+=("$w: $r")
done
if [[ ${#below[@]} -eq 0 ]]; then echo "PASS: every ratio >= 0.8"; else echo "FAIL: ratio below 0.8 for ${below[*]}"; exit 1; fi
