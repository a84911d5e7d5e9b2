#!/usr/bin/env bash
# bench/vddk.sh: the vddk plugin on the test stand-in libvixDiskLib (a VDDK with a per-request
# latency of 0..2*LATENCY_US, completed out of order from its own threads) against nbdkit serving
# the same image through its file plugin with the delay filter set to the same mean latency.
# (Debian's nbdkit has no vddk plugin, so this is the closest like-for-like: same disk, same
# latency per request, one connection, how many requests each server keeps in flight.)
#
#   bench/vddk.sh [SECONDS]            default 10 s per run
#   LATENCY_US=1000 bench/vddk.sh      mean latency per request (default 1000 us)
#
# Needs: the built distribution and stand-in (mvn -DskipTests verify), fio with the nbd engine, nbdkit.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
latency_us=${LATENCY_US:-1000}
server=runtime/target/nbd-osgi/bin/nbd-osgi
libdir=$PWD/bundles/plugin-vddk/target/vddk
[[ -x $server && -f $libdir/lib64/libvixDiskLib.so.8 ]] || { echo "bench/vddk.sh: build first: mvn -B -DskipTests verify" >&2; exit 1; }
command -v fio >/dev/null && command -v nbdkit >/dev/null || { echo "bench/vddk.sh: needs fio and nbdkit" >&2; exit 1; }

work=$(mktemp -d /tmp/vddk-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

img=$work/disk.img
truncate -s 256M "$img"
dd if=/dev/urandom of="$img" bs=1M count=256 conv=notrunc status=none
printf 'standin.delay-us=%s\nstandin.threads=64\n' $((2 * latency_us)) > "$work/vddk.conf"

wait_socket() { for _ in $(seq 300); do [[ -S $1 ]] && return 0; sleep 0.1; done; echo "no socket $1" >&2; exit 1; }

"$server" -f -U "$work/osgi.sock" vddk "file=$img" "libdir=$libdir" "config=$work/vddk.conf" 2>"$work/osgi.log" &
pids+=($!)
nbdkit -f -U "$work/nbdkit.sock" --filter=delay file "$img" \
    "delay-read=$((latency_us / 1000))ms" "delay-write=$((latency_us / 1000))ms" 2>"$work/nbdkit.log" &
pids+=($!)
wait_socket "$work/osgi.sock"
wait_socket "$work/nbdkit.sock"

# IOPS of one fio run: RW (randread|randwrite), iodepth, socket
iops() {
    fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$3" --rw="$1" --bs=4k --iodepth="$2" --numjobs=1 \
        --time_based --runtime="$secs" --size=256M --output-format=json 2>/dev/null |
        python3 -c 'import json,sys; t=sys.stdin.read(); j=json.loads(t[t.index("{"):])["jobs"][0]; print(int(j["read"]["iops"] + j["write"]["iops"]))'
}

printf 'vddk bench: 4k random I/O, one connection, %s s per run, mean VDDK latency %s us (nproc %s)\n' \
    "$secs" "$latency_us" "$(nproc)"
printf '%-10s %8s %14s %14s %8s\n' rw iodepth nbd-osgi-vddk nbdkit-delay ratio
for rw in randread randwrite; do
    for depth in 1 32; do
        ours=$(iops "$rw" "$depth" "$work/osgi.sock")
        theirs=$(iops "$rw" "$depth" "$work/nbdkit.sock")
        ratio=$(python3 -c "print(f'{$ours / max($theirs, 1):.2f}')")
        printf '%-10s %8s %14s %14s %8s\n' "$rw" "$depth" "$ours" "$theirs" "$ratio"
        eval "ours_${rw}_${depth}=$ours"
    done
done
printf 'in-flight scaling of nbd-osgi vddk (iodepth 32 / iodepth 1): read %s, write %s\n' \
    "$(python3 -c "print(f'{$ours_randread_32 / max($ours_randread_1, 1):.1f}x')")" \
    "$(python3 -c "print(f'{$ours_randwrite_32 / max($ours_randwrite_1, 1):.1f}x')")"
