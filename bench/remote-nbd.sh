#!/usr/bin/env bash
# The nbd plugin against nbdkit's nbd plugin, both proxying the same upstream server in one run:
# `nbdkit --threads=128 --filter=delay memory 1G rdelay=5ms`, so every remote read takes 5 ms.
# The upstream gets 128 threads so that it is not what limits either proxy (with nbdkit's default
# of 16 threads per connection it would cap both at 16 reads in flight, the same for both).
#   nbd-osgi:  nbd-osgi nbd socket=UPSTREAM          (one upstream connection per client, async)
#   nbdkit:    nbdkit nbd socket=UPSTREAM            (its defaults: 16 threads per client connection)
# Workloads (fio, ioengine=nbd, one connection): randread 4k at depth 32 and at depth 128, and
# sequential 1 MiB reads at depth 8. Each proxy runs every workload once unmeasured first (JIT,
# connections); then the proxies alternate for ROUNDS rounds (default 3) and each figure is the
# median. Bar: ratio >= 1.0 on every row, and >= 4 on the random-read row at depth 128.
# At depth 32 no proxy can beat nbdkit by more than 32/16 = 2x: nbdkit keeps 16 of the 32 reads in
# flight, and 32 reads in flight is all fio sends. The latency bound of each row is printed.
# Usage: bench/remote-nbd.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
DELAY_MS=5

WORKLOADS=("randread 4k 32" "randread 4k 128" "read 1M 8")
declare -A samples

start nbdkit upstream --threads=128 --filter=delay memory 1G rdelay=${DELAY_MS}ms
UPSTREAM=$SOCK
fill "$UPSTREAM"

start nbd-osgi proxy-nbd-osgi nbd socket="$UPSTREAM"
declare -A proxy=([nbd-osgi]=$SOCK)
OURS_PID=$SERVER_PID
start nbdkit proxy-nbdkit nbd socket="$UPSTREAM"
proxy[nbdkit]=$SOCK

for server in nbd-osgi nbdkit; do                         # warm up, unmeasured
    for w in "${WORKLOADS[@]}"; do
        read -r rw bs depth <<<"$w"
        RUNTIME=3 RAMP=0 fio_job "${proxy[$server]}" "$rw" "$bs" "$depth" >/dev/null
    done
done

for round in $(seq 1 "$ROUNDS"); do
    for server in nbd-osgi nbdkit; do
        for w in "${WORKLOADS[@]}"; do
            read -r rw bs depth <<<"$w"
            read -r iops mibs <<<"$(fio_job "${proxy[$server]}" "$rw" "$bs" "$depth")"
            value=$([[ $bs == 1M ]] && echo "$mibs" || echo "$iops")
            samples["$server $w"]+="$value "
        done
    done
done

bound() {  # BS DEPTH: what DEPTH requests of DELAY_MS each allow, in the row's unit
    awk -v bs="$1" -v d="$2" -v ms="$DELAY_MS" 'BEGIN { r = d * 1000 / ms; if (bs == "1M") printf "%d MiB/s", r; else printf "%d IOPS", r }'
}

echo "| workload (upstream read delay ${DELAY_MS} ms) | nbd-osgi | nbdkit | ratio | latency bound |"
echo "|---|---|---|---|---|"
fails=()
for w in "${WORKLOADS[@]}"; do
    read -r rw bs depth <<<"$w"
    ours=$(median ${samples["nbd-osgi $w"]})
    theirs=$(median ${samples["nbdkit $w"]})
    unit=$([[ $bs == 1M ]] && echo "MiB/s" || echo "IOPS")
    r=$(ratio "$ours" "$theirs")
    echo "| $rw $bs depth $depth | $ours $unit | $theirs $unit | $r | $(bound "$bs" "$depth") |"
    want=$([[ $w == "randread 4k 128" ]] && echo 4 || echo 1.0)
    awk -v r="$r" -v w="$want" 'BEGIN { exit !(r < w) }' && fails+=("$w: $r < $want")
done
echo
echo "(median of $ROUNDS alternating rounds, ${RUNTIME}s each after ${RAMP}s ramp; nbd-osgi platform threads: $(threads_of "$OURS_PID"); load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ ${#fails[@]} -eq 0 ]]; then
    echo "PASS: ratio >= 1.0 on every row, >= 4 on randread 4k depth 128"
else
    echo "FAIL: ${fails[*]}"
    exit 1
fi
