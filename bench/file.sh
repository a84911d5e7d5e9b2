#!/usr/bin/env bash
# The file plugin side by side with nbdkit's: the same fio jobs (fio's nbd engine, libnbd) against
#   nbdkit   -f -U SOCK file F
#   nbd-osgi -f -U SOCK file F
# for a file on tmpfs (/dev/shm) and a file on disk, and prints IOPS, MiB/s and our/nbdkit ratios,
# then PASS or FAIL against the bar (ratio >= 0.8 on every row). Each server first runs the job for
# 3 s (a JVM compiles its hot code while it starts: a long-running server is measured running); then,
# on disk, the file is synced and its pages dropped from the page cache, so the disk rows start from
# the disk.
#
#   bench/file.sh                    all workloads, 10 s each
#   RUNTIME=30 SIZE=2G bench/file.sh
#   DISK_DIR=/var/tmp bench/file.sh  where the on-disk file goes (default: bench/target, the checkout's disk)
#   FS="tmpfs" JOBS="randread-4k" bench/file.sh   a subset
#   REPEAT=3 bench/file.sh           run each pair 3 times (alternating) and keep the best of each: less noise
#
# Needs fio, nbdkit, and the built distribution (runtime/target/nbd-osgi: mvn -DskipTests verify).
# The two servers run one after the other per workload, never at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME=${RUNTIME:-10}
SIZE=${SIZE:-1G}
FS=${FS:-"tmpfs disk"}
JOBS=${JOBS:-"randread-4k randwrite-4k randrw-4k read-1m write-1m"}
REPEAT=${REPEAT:-1}
DISK_DIR=${DISK_DIR:-$PWD/bench/target}
SERVER=${NBD_OSGI:-$PWD/runtime/target/nbd-osgi/bin/nbd-osgi}

for tool in fio nbdkit; do
    command -v "$tool" >/dev/null || { echo "file.sh: $tool is not installed (apt-get install $tool)" >&2; exit 1; }
done
[[ -x $SERVER ]] || { echo "file.sh: build first: mvn -B -DskipTests verify" >&2; exit 1; }

work=$(mktemp -d /tmp/bench-file.XXXXXX)
mkdir -p "$DISK_DIR"
shm_file=/dev/shm/bench-file-$$.img
disk_file=$DISK_DIR/bench-file-$$.img
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work" "$shm_file" "$disk_file"
}
trap cleanup EXIT

# fio options of each workload: pattern, block size, queue depth
job_args() {
    case $1 in
        randread-4k)  echo "--rw=randread --bs=4k --iodepth=32" ;;
        randwrite-4k) echo "--rw=randwrite --bs=4k --iodepth=32" ;;
        randrw-4k)    echo "--rw=randrw --rwmixread=70 --bs=4k --iodepth=32" ;;
        read-1m)      echo "--rw=read --bs=1m --iodepth=8" ;;
        write-1m)     echo "--rw=write --bs=1m --iodepth=8" ;;
        *) echo "file.sh: unknown job $1" >&2; exit 1 ;;
    esac
}

start_server() {  # start_server nbdkit|nbd-osgi FILE
    local sock=$work/$1.sock
    rm -f "$sock"
    if [[ $1 == nbdkit ]]; then
        nbdkit -f -U "$sock" file "$2" 2>"$work/$1.log" &
    else
        "$SERVER" -f -U "$sock" file "$2" 2>"$work/$1.log" &
    fi
    server_pid=$!
    for _ in $(seq 1 300); do
        [[ -S $sock ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || { cat "$work/$1.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "file.sh: $1 did not listen within 30 s" >&2
    exit 1
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# run_fio SERVER JOB: prints "IOPS MiB/s" (read + write)
run_fio() {
    local uri="nbd+unix:///?socket=$work/$1.sock"
    # shellcheck disable=SC2046
    fio --name="$2" --ioengine=nbd --uri="$uri" $(job_args "$2") --size="$SIZE" \
        --time_based --runtime="$RUNTIME" --ramp_time=2 --group_reporting \
        --output-format=terse --terse-version=3 >"$work/fio.out" 2>"$work/fio.err" || { cat "$work/fio.err" >&2; exit 1; }
    # terse v3: read KiB/s and IOPS are fields 7 and 8, write 48 and 49 (fio's nbd engine adds a line of its own)
    awk -F';' '/^3;/ { printf "%d %.1f\n", $8 + $49, ($7 + $48) / 1024 }' "$work/fio.out"
}

# drop_cache FILE: writes back the file's dirty pages, then drops all its pages from the page cache
# (GNU dd: iflag=nocache with count=0 advises DONTNEED for the whole file)
drop_cache() {
    sync "$1"
    dd if="$1" iflag=nocache count=0 status=none
}

# warm_up SERVER JOB FS FILE: the job for a few seconds, so a server that compiles its code as it
# runs (the JVM) is measured running, not starting; then, on disk, the file's pages leave the page
# cache, so the measured run reads the disk
warm_up() {
    RUNTIME=3 run_fio "$1" "$2" >/dev/null
    [[ $3 == disk ]] && drop_cache "$4"
    return 0
}

prepare() {  # a fully written file, so reads hit data, not holes
    rm -f "$2"
    fio --name=fill --filename="$2" --rw=write --bs=1m --size="$SIZE" --ioengine=psync --end_fsync=1 >/dev/null
    echo "# $1: $2 ($SIZE)"
}

below=()
printf '%-6s %-13s %12s %10s %12s %10s %8s\n' fs job "nbdkit IOPS" "MiB/s" "ours IOPS" "MiB/s" ratio
for fs in $FS; do
    case $fs in
        tmpfs) f=$shm_file ;;
        disk) f=$disk_file ;;
        *) echo "file.sh: FS must be tmpfs and/or disk" >&2; exit 1 ;;
    esac
    prepare "$fs" "$f" >&2
    for job in $JOBS; do
        k_iops=0 k_mib=0 o_iops=0 o_mib=0
        for _ in $(seq 1 "$REPEAT"); do
            start_server nbdkit "$f"
            warm_up nbdkit "$job" "$fs" "$f"
            read -r iops mib < <(run_fio nbdkit "$job")
            stop_server
            if (( iops > k_iops )); then k_iops=$iops k_mib=$mib; fi
            start_server nbd-osgi "$f"
            warm_up nbd-osgi "$job" "$fs" "$f"
            read -r iops mib < <(run_fio nbd-osgi "$job")
            stop_server
            if (( iops > o_iops )); then o_iops=$iops o_mib=$mib; fi
        done
        ratio=$(awk -v o="$o_iops" -v k="$k_iops" 'BEGIN { printf "%.2f", (k > 0 ? o / k : 0) }')
        printf '%-6s %-13s %12s %10s %12s %10s %8s\n' "$fs" "$job" "$k_iops" "$k_mib" "$o_iops" "$o_mib" "$ratio"
        if awk -v r="$ratio" 'BEGIN { exit !(r < 0.8) }'; then below+=("$fs/$job $ratio"); fi
    done
done
if (( ${#below[@]} == 0 )); then
    echo "PASS: every ratio >= 0.8"
else
    echo "FAIL: ratio below 0.8 for ${below[*]}"
    exit 1
fi
