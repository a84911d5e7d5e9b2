#!/usr/bin/env bash
# The whole matrix of issue 19 in one run (`./dev bench --all`): the same fio jobs (ioengine=nbd over
# a Unix socket, or loopback TCP with TRANSPORT=tcp) against nbd-osgi and nbdkit, for the memory plugin, the file plugin on tmpfs and on
# disk (the file's pages dropped from the page cache before each job), and the null plugin (reads
# return zeros, writes go nowhere: what the server and the protocol cost on their own, the ceiling).
# The servers alternate (which one goes first changes every round) and each figure is the median of
# ROUNDS rounds. Prints, per row: the figure of each server, the ratio nbd-osgi / nbdkit with PASS or
# FAIL against 1.0, server CPU seconds per GiB moved (from /proc/PID/stat, over the measured time),
# and at depth 1 the p50 and p99 completion latency (both must be no worse than nbdkit's). When both
# servers have a null plugin, each memory row is also shown as a percentage of its server's ceiling.
# Ends with PASS or FAIL (exit 1).
#
#   bench/all.sh                                 everything (RUNTIME=10 s per job after RAMP=2 s, ROUNDS=3)
#   RUNTIME=3 RAMP=1 ROUNDS=1 bench/all.sh       a quick sanity run
#   CONFIGS="memory null" JOBS="randwrite-4k-1" bench/all.sh   a subset
#   DISK_DIR=/var/tmp bench/all.sh               where the on-disk file goes (default: bench/target)
#   TRANSPORT=tcp bench/all.sh                   over loopback TCP (127.0.0.1) instead of Unix sockets
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
WARM=${WARM:-3}               # seconds of 4 KiB random I/O after each start, so the JVM runs compiled code
DISK_DIR=${DISK_DIR:-$BENCH_DIR/target}
CONFIGS=${CONFIGS:-"memory file-tmpfs file-disk null"}
JOBS=${JOBS:-"read-1m-16 write-1m-16 randread-4k-32 randwrite-4k-32 randrw-4k-32 randread-4k-1 randwrite-4k-1 randrw-4k-4x32 read-4m-8"}
TICKS=$(getconf CLK_TCK)

# job_args JOB : "RW BS DEPTH [fio args...]"
job_args() {
    case $1 in
        read-1m-16)     echo "read 1M 16" ;;
        write-1m-16)    echo "write 1M 16" ;;
        randread-4k-32) echo "randread 4k 32" ;;
        randwrite-4k-32) echo "randwrite 4k 32" ;;
        randrw-4k-32)   echo "randrw 4k 32 --rwmixread=70" ;;
        randread-4k-1)  echo "randread 4k 1" ;;
        randwrite-4k-1) echo "randwrite 4k 1" ;;
        randrw-4k-4x32) echo "randrw 4k 32 --rwmixread=70 --numjobs=4 --group_reporting" ;;  # 4 connections
        read-4m-8)      echo "read 4M 8" ;;
        *) echo "all.sh: unknown job $1" >&2; exit 1 ;;
    esac
}

if [[ ! -d $ROOT/bundles/plugin-null ]]; then
    echo "all.sh: no null plugin in this checkout (bundles/plugin-null): the ceiling rows are skipped"
    CONFIGS=${CONFIGS//null/}
fi
shm_file=/dev/shm/nbd-bench-all-$$.img
mkdir -p "$DISK_DIR"
disk_file=$DISK_DIR/nbd-bench-all-$$.img
trap 'rm -f "$shm_file" "$disk_file"; cleanup' EXIT

server_args() {  # CONFIG : the plugin and its arguments
    case $1 in
        memory) echo "memory 1G" ;;
        null) echo "null 1G" ;;
        file-tmpfs) echo "file $shm_file" ;;
        file-disk) echo "file $disk_file" ;;
    esac
}

# measure SERVER CONFIG JOB : runs the job, adds "value p50 p99 cpu-s/GiB" to samples
declare -A samples
measure() {
    local server=$1 config=$2 job=$3 rw bs depth extra before after out
    read -r rw bs depth extra <<<"$(job_args "$job")"
    [[ $config == file-disk ]] && drop_cache "$disk_file"
    # CPU is sampled once the ramp is over and again when fio ends: the measured time only
    (sleep "$RAMP"; cpu_ticks "$SERVER_PID" >"$WORK/cpu-before") &
    # shellcheck disable=SC2086
    out=$(fio_stats "$SOCK" "$rw" "$bs" "$depth" $extra)
    after=$(cpu_ticks "$SERVER_PID")
    wait $! 2>/dev/null || true
    before=$(cat "$WORK/cpu-before")
    read -r iops mibs p50 p99 kib <<<"$out"
    local value=$([[ $bs == 4k ]] && echo "$iops" || echo "$mibs")
    local cpu=$(awk -v t=$((after - before)) -v hz="$TICKS" -v k="$kib" 'BEGIN { printf "%.2f", (k > 0 ? t / hz / (k / 1048576) : 0) }')
    samples["$server $config $job"]+="$value "
    samples["$server $config $job p50"]+="$p50 "
    samples["$server $config $job p99"]+="$p99 "
    samples["$server $config $job cpu"]+="$cpu "
}

if [[ " $CONFIGS " == *" file-tmpfs "* || " $CONFIGS " == *" file-disk "* ]]; then
    for f in $([[ $CONFIGS == *file-tmpfs* ]] && echo "$shm_file") $([[ $CONFIGS == *file-disk* ]] && echo "$disk_file"); do
        fio --name=prepare --filename="$f" --rw=write --bs=1M --size=1G --ioengine=psync --end_fsync=1 >/dev/null
    done
fi

for round in $(seq 1 "$ROUNDS"); do
    order="nbd-osgi nbdkit"
    (( round % 2 == 0 )) && order="nbdkit nbd-osgi"
    for config in $CONFIGS; do
        for server in $order; do
            # shellcheck disable=SC2046
            start "$server" "$config-$server-$round" $(server_args "$config")
            [[ $config == memory ]] && fill "$SOCK"
            RUNTIME=$WARM RAMP=0 fio_job "$SOCK" randrw 4k 32 >/dev/null
            for job in $JOBS; do
                measure "$server" "$config" "$job"
            done
            stop "$SERVER_PID"
        done
    done
done

m() { median ${samples["$1"]}; }
unit_of() { [[ $1 == *-4k-* ]] && echo IOPS || echo MiB/s; }
has_ceiling=$([[ " $CONFIGS " == *" null "* && " $CONFIGS " == *" memory "* ]] && echo yes || echo no)

echo "| plugin | job | nbd-osgi | nbdkit | unit | ratio | | CPU s/GiB nbd-osgi | CPU s/GiB nbdkit | p50 us ours/nbdkit | p99 us ours/nbdkit |$([[ $has_ceiling == yes ]] && echo " % of ceiling ours | % of ceiling nbdkit |")"
echo "|---|---|---|---|---|---|---|---|---|---|---|$([[ $has_ceiling == yes ]] && echo "---|---|")"
failed=()
for config in $CONFIGS; do
    for job in $JOBS; do
        ours=$(m "nbd-osgi $config $job")
        theirs=$(m "nbdkit $config $job")
        r=$(ratio "$ours" "$theirs")
        verdict=PASS
        awk -v r="$r" 'BEGIN { exit !(r == "n/a" || r < 1.0) }' && verdict=FAIL
        lat="" lat99=""
        if [[ $job == *-1 ]]; then
            o50=$(m "nbd-osgi $config $job p50") k50=$(m "nbdkit $config $job p50")
            o99=$(m "nbd-osgi $config $job p99") k99=$(m "nbdkit $config $job p99")
            lat="$o50/$k50" lat99="$o99/$k99"
            if [[ $config != null ]] && (( o50 > k50 || o99 > k99 )); then verdict=FAIL; fi
        fi
        ceiling=""
        if [[ $has_ceiling == yes && $config != null ]]; then
            ceiling=" $(awk -v a="$ours" -v b="$(m "nbd-osgi null $job")" 'BEGIN { printf "%.0f %%", (b > 0 ? 100 * a / b : 0) }') |"
            ceiling+=" $(awk -v a="$theirs" -v b="$(m "nbdkit null $job")" 'BEGIN { printf "%.0f %%", (b > 0 ? 100 * a / b : 0) }') |"
        elif [[ $has_ceiling == yes ]]; then
            ceiling=" 100 % | 100 % |"
        fi
        echo "| $config | $job | $ours | $theirs | $(unit_of "$job") | $r | $verdict | $(m "nbd-osgi $config $job cpu") | $(m "nbdkit $config $job cpu") | $lat | $lat99 |$ceiling"
        [[ $verdict == FAIL && $config != null ]] && failed+=("$config/$job")
    done
done
echo
echo "(median of $ROUNDS alternating rounds, ${RUNTIME}s each after ${RAMP}s ramp; over $([[ $TRANSPORT == tcp ]] && echo "loopback TCP" || echo "Unix sockets"); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC'))"
if [[ ${#failed[@]} -eq 0 ]]; then echo "PASS: every ratio >= 1.0"; else echo "FAIL: below nbdkit for ${failed[*]}"; exit 1; fi
