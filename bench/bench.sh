#!/usr/bin/env bash
# The foundation benchmark: the same fio workloads (ioengine=nbd over a Unix socket) against
# `nbd-osgi memory 1G` and `nbdkit memory 1G`, in one run, with each workload's throughput ratio.
# Each server is filled with data first, so reads move data, not holes. The servers alternate for
# ROUNDS rounds (default 3) and each figure is the median, so a burst of load elsewhere on the
# machine moves one sample, not the result.
# Ends with PASS or FAIL against the bar (ratio >= 0.8 on every workload).
# Usage: bench/bench.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}

WORKLOADS=("write 1M 16" "read 1M 16" "randwrite 4k 32" "randread 4k 32")
declare -A samples

for round in $(seq 1 "$ROUNDS"); do
    for server in nbd-osgi nbdkit; do
        start "$server" "mem-$server-$round" memory 1G
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

echo "| workload | nbd-osgi | nbdkit | ratio |"
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
