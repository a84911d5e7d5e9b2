#!/usr/bin/env bash
# Benchmarks of the cache filter, nbd-osgi side by side with nbdkit.
#
#   hit      fio 4 KiB random reads (iodepth 32, one connection) over a 256 MiB working set that is
#            all in the cache, in front of `delay rdelay=5ms` on the memory plugin, against the
#            plain memory plugin. The bar: the cache's hit path within 20 % of plain memory's IOPS.
#   write    fio 4 KiB random writes (iodepth 32) into a writeback cache in front of
#            `delay wdelay=5ms`, against the same writes straight into the delayed plugin.
#   limit    16 MiB written through a 4 MiB cache (cache-max-size=4M, writeback), flushed, read
#            back: how many MiB come back wrong (nbdkit's cache filter punches dirty blocks out
#            while it reclaims; ours writes them back first).
#
# Usage: bench/cache.sh [hit|write|limit]...   (default: all)
# Environment: NBD_OSGI, RUNTIME (seconds per fio run, default 10), RAMP (default 2), ROUNDS (runs
# of each server in the hit part, alternating; the best is kept, default 3).
# Figures taken while the machine does other work are noisy: compare ratios from the same run.
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
export PATH=/usr/bin:/bin:$PATH
need nbdsh python3-libnbd
mkdir -p "$WORK/tmp"
export TMPDIR=$WORK/tmp                  # the cache files of both servers

SET=256M                                 # the working set, inside the cache

best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -1; }

# warm SOCK : writes the working set once, then reads it once (cache-on-read), so every later read hits
warm() {
    local uri="nbd+unix:///?socket=$1"
    fio --name=fill --ioengine=nbd --uri="$uri" --rw=write --bs=1M --iodepth=16 --size=$SET --output-format=terse >/dev/null 2>&1
    fio --name=warm --ioengine=nbd --uri="$uri" --rw=read --bs=1M --iodepth=16 --size=$SET --output-format=terse >/dev/null 2>&1
}

bench_hit() {
    echo "== hit path: fio randread 4k, iodepth 32, one connection, ${SET} working set in the cache, ${RUNTIME}s x $ROUNDS rounds"
    local -A runs
    local server config iops bw
    for round in $(seq "$ROUNDS"); do
        for server in nbd-osgi nbdkit; do
            for config in plain cached; do
                if [[ $config == plain ]]; then
                    start "$server" "$server-plain" memory 1G
                else
                    start "$server" "$server-cached" --filter=cache --filter=delay memory 1G rdelay=5ms cache-on-read=true
                fi
                warm "$SOCK"
                read -r iops bw <<<"$(fio_job "$SOCK" randread 4k 32 --size=$SET)"
                stop "$SERVER_PID"
                runs["$server $config"]+="$iops "
                printf '   round %d %-8s %-7s %8d IOPS\n' "$round" "$server" "$config" "$iops"
            done
        done
    done
    local op oc kp kc
    op=$(best "${runs[nbd-osgi plain]}"); oc=$(best "${runs[nbd-osgi cached]}")
    kp=$(best "${runs[nbdkit plain]}"); kc=$(best "${runs[nbdkit cached]}")
    printf '%-12s %14s %28s %8s\n' "" "memory (IOPS)" "cache+delay 5ms, hits (IOPS)" "ratio"
    printf '%-12s %14d %28d %8s\n' "nbd-osgi" "$op" "$oc" "$(ratio "$oc" "$op")"
    printf '%-12s %14d %28d %8s\n' "nbdkit" "$kp" "$kc" "$(ratio "$kc" "$kp")"
    printf '%-12s %14s %28s\n' "osgi/nbdkit" "$(ratio "$op" "$kp")" "$(ratio "$oc" "$kc")"
    awk -v a="$oc" -v b="$op" 'BEGIN { r = a / b; printf "nbd-osgi hit path: %.1f %% of plain memory (bar: at least 80 %%) -> %s\n", r * 100, (r >= 0.8 ? "PASS" : "FAIL") }'
}

bench_write() {
    echo "== writeback: fio randwrite 4k, iodepth 32, one connection, over delay wdelay=5ms, ${RUNTIME}s"
    printf '%-12s %18s %22s %8s\n' "" "delay only (IOPS)" "cache+delay (IOPS)" "ratio"
    local server direct cached
    for server in nbd-osgi nbdkit; do
        start "$server" "$server-wdelay" --filter=delay memory 1G wdelay=5ms
        read -r direct _ <<<"$(fio_job "$SOCK" randwrite 4k 32 --size=$SET)"
        stop "$SERVER_PID"
        start "$server" "$server-wcache" --filter=cache --filter=delay memory 1G wdelay=5ms
        read -r cached _ <<<"$(fio_job "$SOCK" randwrite 4k 32 --size=$SET)"
        stop "$SERVER_PID"
        printf '%-12s %18d %22d %8s\n' "$server" "$direct" "$cached" "$(ratio "$cached" "$direct")"
    done
}

bench_limit() {
    echo "== integrity: 16 MiB written through cache-max-size=4M (writeback) over the file plugin, flushed, read back"
    head -c 16M /dev/urandom >"$WORK/data.bin"
    local server
    for server in nbd-osgi nbdkit; do
        truncate -s 0 "$WORK/disk.img"
        truncate -s 64M "$WORK/disk.img"
        start "$server" "$server-limit" --filter=cache file "$WORK/disk.img" cache-max-size=4M
        nbdsh -u "nbd+unix:///?socket=$SOCK" -c "
import sys
d = open('$WORK/data.bin', 'rb').read()
for i in range(0, len(d), 1 << 20):
    h.pwrite(d[i:i + (1 << 20)], i)
h.flush()
r = h.pread(len(d), 0)
bad = sum(1 for i in range(0, len(d), 4096) if r[i:i + 4096] != d[i:i + 4096])
print('$server: %.1f MiB of 16 read back wrong' % (bad * 4096 / 2**20), end='')
"
        stop "$SERVER_PID"
        if cmp -s -n 16777216 "$WORK/data.bin" "$WORK/disk.img"; then echo ", the file has every byte"; else echo ", the file differs"; fi
    done
}

parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=(hit write limit)
for part in "${parts[@]}"; do
    case $part in
        hit) bench_hit ;;
        write) bench_write ;;
        limit) bench_limit ;;
        *) echo "cache.sh: unknown part '$part' (hit, write, limit)" >&2; exit 1 ;;
    esac
done
