#!/usr/bin/env bash
# ext2 filter benchmark: fio (ioengine=nbd, one connection over a Unix socket) reads a file that
# lives inside an ext4 image, through `nbd-osgi --filter=ext2 file IMG ext2file=/disk.raw` and
# through `nbdkit --filter=ext2 file IMG ext2file=/disk.raw`, on the same image, one run each,
# and prints each workload's figures and the ratio nbd-osgi / nbdkit (the bar: >= 0.7 for reads
# of 1 MiB). The inner file is random data throughout, so every read moves real blocks. The last
# workload opens several connections at once; nbdkit's ext2 filter serves them one after another.
# Usage: bench/ext2.sh    (SIZE=inner file size, default 1G; RUNTIME=seconds per workload, default 10)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NBD_OSGI=${NBD_OSGI:-$ROOT/runtime/target/nbd-osgi/bin/nbd-osgi}
SIZE=${SIZE:-1G}
RUNTIME=${RUNTIME:-10}
WORKLOADS=("read 1M 8" "randread 4k 16")
PARALLEL="4 randread 4k 16"     # connections, then the workload each runs

need() {
    command -v "$1" >/dev/null || { echo "bench: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need fio fio
need nbdkit nbdkit
need mke2fs e2fsprogs
[[ -x $NBD_OSGI ]] || { echo "bench: build first (./dev build): $NBD_OSGI" >&2; exit 1; }
for jar in plugin-file filter-ext2; do
    [[ -f $(dirname "$NBD_OSGI")/../bundles/$jar.jar ]] || { echo "bench: $jar is not in the distribution" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/nbd-bench-ext2.XXXXXX)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# the image: ext4 holding one file of random data, plus room to spare
mkdir "$WORK/src"
head -c "$SIZE" /dev/urandom >"$WORK/src/disk.raw"
bytes=$(stat -c %s "$WORK/src/disk.raw")
mke2fs -q -F -t ext4 -d "$WORK/src" "$WORK/fs.img" "$((bytes / 1024 * 5 / 4 + 65536))k" >/dev/null
rm -rf "$WORK/src"

start() {  # SERVER: starts it on $WORK/SERVER.sock, read-only, serving /disk.raw
    local server=$1 sock=$WORK/$1.sock
    if [[ $server == nbd-osgi ]]; then
        "$NBD_OSGI" -f -r -U "$sock" --filter=ext2 file "$WORK/fs.img" ext2file=/disk.raw 2>"$WORK/$server.log" &
    else
        nbdkit -f -r -U "$sock" --filter=ext2 file "$WORK/fs.img" ext2file=/disk.raw 2>"$WORK/$server.log" &
    fi
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        [[ -S $sock ]] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: $server exited:" >&2; cat "$WORK/$server.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: $server did not listen" >&2
    exit 1
}

stop() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

fio_job() {  # SOCK RW BS DEPTH: prints "IOPS MiB/s"
    fio --name=ext2 --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw="$2" --bs="$3" --iodepth="$4" \
        --size="$bytes" --time_based --runtime="$RUNTIME" --ramp_time=2 --norandommap --randrepeat=0 \
        --output-format=terse --terse-version=3 2>/dev/null |
    awk -F';' '/^3;/ { printf "%d %.1f\n", $8, $7 / 1024 }'
}

# fio_connections SOCK JOBS RW BS DEPTH: JOBS connections at once; prints "IOPS MiB/s" over the wall
# clock, so a server that makes connections wait for each other is measured as the client sees it
fio_connections() {
    local start end
    start=$(date +%s.%N)
    fio --name=ext2 --ioengine=nbd --uri="nbd+unix:///?socket=$1" --numjobs="$2" --rw="$3" --bs="$4" --iodepth="$5" \
        --size="$bytes" --time_based --runtime="$RUNTIME" --norandommap --randrepeat=0 \
        --output-format=terse --terse-version=3 2>/dev/null >"$WORK/fio.out"
    end=$(date +%s.%N)
    awk -F';' -v secs="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" -v bs="$4" '
        /^3;/ { kib += $6 }
        END { mib = kib / 1024; unit = (bs ~ /k$/) ? bs + 0 : (bs + 0) * 1024;
              printf "%d %.1f\n", kib / unit / secs, mib / secs }' "$WORK/fio.out"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

declare -A result
for server in nbd-osgi nbdkit; do
    start "$server"
    for w in "${WORKLOADS[@]}"; do
        read -r rw bs depth <<<"$w"
        result["$server $w"]=$(fio_job "$WORK/$server.sock" "$rw" "$bs" "$depth")
    done
    result["$server $PARALLEL"]=$(fio_connections "$WORK/$server.sock" $PARALLEL)
    stop
done

echo "ext2 filter over the file plugin, inner file $SIZE of random data in ext4"
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
read -r jobs rw bs depth <<<"$PARALLEL"
read -r ours_iops _ <<<"${result["nbd-osgi $PARALLEL"]}"
read -r theirs_iops _ <<<"${result["nbdkit $PARALLEL"]}"
echo "| $jobs connections at once, each $rw $bs depth $depth (wall clock) | $ours_iops IOPS | $theirs_iops IOPS | $(ratio "$ours_iops" "$theirs_iops") |"
