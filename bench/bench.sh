#!/usr/bin/env bash
# The foundation benchmark: the same fio workloads (ioengine=nbd over a Unix socket) against
# `nbd-osgi memory 1G` and `nbdkit memory 1G`, one run, with each workload's throughput ratio.
# Each server is filled once with data first, so reads move data, not holes.
# Usage: bench/bench.sh   (RUNTIME=seconds per workload, default 10)
source "$(dirname "$0")/lib.sh"

WORKLOADS=("write 1M 16" "read 1M 16" "randwrite 4k 32" "randread 4k 32")
declare -A result

for server in nbd-osgi nbdkit; do
    start "$server" "mem-$server" memory 1G
    fill "$SOCK"
    for w in "${WORKLOADS[@]}"; do
        read -r rw bs depth <<<"$w"
        result["$server $w"]=$(fio_job "$SOCK" "$rw" "$bs" "$depth")
    done
    stop "$SERVER_PID"
done

echo "| workload | nbd-osgi | nbdkit | ratio |"
echo "|---|---|---|---|"
for w in "${WORKLOADS[@]}"; do
    read -r rw bs depth <<<"$w"
    read -r ours_iops ours_bw <<<"${result["nbd-osgi $w"]}"
    read -r theirs_iops theirs_bw <<<"${result["nbdkit $w"]}"
    if [[ $bs == 1M ]]; then
        echo "| $rw $bs depth $depth | $ours_bw MiB/s | $theirs_bw MiB/s | $(ratio "$ours_bw" "$theirs_bw") |"
    else
        echo "| $rw $bs depth $depth | $ours_iops IOPS | $theirs_iops IOPS | $(ratio "$ours_iops" "$theirs_iops") |"
    fi
done
