#!/usr/bin/env bash
# Benchmarks of the stats and delay filters, nbd-osgi side by side with nbdkit.
#
#   1. stats overhead: fio 4 KiB random reads (iodepth 32, one connection) from the memory plugin,
#      with and without --filter=stats; the bar is a cost of at most 5 %.
#   2. parallelism proof: fio 4 KiB random reads, iodepth 128, ONE connection, against
#      --filter=delay memory 1G rdelay=10ms. 128 requests of 10 ms in flight bound it at 12,800 IOPS.
#      The bar: nbd-osgi with default settings reaches 90 % of that with fewer than 64 platform threads.
#
# Usage: bench/stats-delay.sh [stats|delay]...   (default: both)
# Environment: NBD_OSGI (default runtime/target/nbd-osgi/bin/nbd-osgi), RUNTIME (seconds measured per
# run, default 15), RAMP (warm-up seconds per run, default 5), ROUNDS (stats runs per server, default 3).
# Figures taken while the machine does other work are noisy: compare ratios from the same run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
NBD_OSGI=${NBD_OSGI:-$here/runtime/target/nbd-osgi/bin/nbd-osgi}
RUNTIME=${RUNTIME:-15}
RAMP=${RAMP:-5}
ROUNDS=${ROUNDS:-3}
export PATH=/usr/bin:/bin:$PATH

for tool in fio nbdkit nbdinfo; do
    command -v "$tool" >/dev/null || { echo "stats-delay.sh: $tool is not installed (apt-get install ${tool/nbdinfo/libnbd-bin})" >&2; exit 1; }
done
[[ -x $NBD_OSGI ]] || { echo "stats-delay.sh: $NBD_OSGI not found: build first (mvn -B -q -DskipTests verify)" >&2; exit 1; }

work=$(mktemp -d /tmp/nbd-bench-XXXXXX)
server=""
stop_server() {
    if [[ -n $server ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# start_server NAME ARGS... : starts nbd-osgi or nbdkit on $work/NAME.sock, waits until it answers
start_server() {
    local name=$1; shift
    sock=$work/$name.sock
    rm -f "$sock"
    if [[ $name == nbdkit* ]]; then
        nbdkit -f -U "$sock" "$@" 2>"$work/$name.log" &
    else
        "$NBD_OSGI" -f -U "$sock" "$@" 2>"$work/$name.log" &
    fi
    server=$!
    uri="nbd+unix:///?socket=$sock"
    for _ in $(seq 300); do
        nbdinfo --can connect "$uri" 2>/dev/null && return 0
        kill -0 "$server" 2>/dev/null || { echo "server $name exited:" >&2; cat "$work/$name.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "server $name did not start" >&2; exit 1
}

cpu_ticks() {  # user + system clock ticks of a process
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# randread IODEPTH SIZE: fio 4 KiB random reads on one connection; sets $iops and $cpu_us (server CPU per request)
randread() {
    local depth=$1 size=$2 t0 t1 hz
    hz=$(getconf CLK_TCK)
    ( sleep "$RAMP"; cpu_ticks "$server" > "$work/cpu0" ) &
    local sampler=$!
    iops=$(fio --name=randread --ioengine=nbd --uri="$uri" --rw=randread --bs=4k --iodepth="$depth" --numjobs=1 \
        --size="$size" --time_based --ramp_time="$RAMP" --runtime="$RUNTIME" --output-format=terse --terse-version=3 \
        | awk -F';' '$1 == "3" {print $8}')
    t1=$(cpu_ticks "$server")
    wait "$sampler"
    t0=$(cat "$work/cpu0")
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$iops" -v s="$RUNTIME" 'BEGIN { printf "%.1f", (n > 0 ? d / hz * 1e6 / (n * s) : 0) }')
}

median() {
    sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'
}

prefill() {  # writes the region the reads cover, so they return real pages
    fio --name=fill --ioengine=nbd --uri="$uri" --rw=write --bs=1M --iodepth=8 --size="$1" --output-format=terse >/dev/null
}

bench_stats() {
    echo "== stats filter overhead: memory plugin, fio randread 4k, iodepth 32, one connection, ${RUNTIME}s x $ROUNDS rounds"
    local region=256M
    declare -A runs cpus
    for round in $(seq "$ROUNDS"); do
        for config in plain stats nbdkit-plain nbdkit-stats; do
            case $config in
                plain) start_server osgi "memory" 1G ;;
                stats) start_server osgi --filter=stats "memory" 1G statsfile="$work/stats.txt" ;;
                nbdkit-plain) start_server nbdkit memory 1G ;;
                nbdkit-stats) start_server nbdkit --filter=stats memory 1G statsfile="$work/nbdkit-stats.txt" ;;
            esac
            prefill $region
            randread 32 $region
            runs[$config]+="$iops "
            cpus[$config]+="$cpu_us "
            stop_server
            printf '   round %d %-13s %8d IOPS  %6s us CPU/request\n' "$round" "$config" "$iops" "$cpu_us"
        done
    done
    # other load only ever slows a run down, so the best round is the fairest figure on a shared machine
    local p s kp ks pm sm
    p=$(best "${runs[plain]}"); s=$(best "${runs[stats]}")
    kp=$(best "${runs[nbdkit-plain]}"); ks=$(best "${runs[nbdkit-stats]}")
    pm=$(tr ' ' '\n' <<<"${runs[plain]}" | grep . | median); sm=$(tr ' ' '\n' <<<"${runs[stats]}" | grep . | median)
    printf '%-34s %10s %10s %8s\n' "" "plain" "stats" "ratio"
    printf '%-34s %10d %10d %8.3f\n' "nbd-osgi IOPS (best round)" "$p" "$s" "$(ratio "$s" "$p")"
    printf '%-34s %10d %10d %8.3f\n' "nbd-osgi IOPS (median)" "$pm" "$sm" "$(ratio "$sm" "$pm")"
    printf '%-34s %10d %10d %8.3f\n' "nbdkit IOPS (best round)" "$kp" "$ks" "$(ratio "$ks" "$kp")"
    printf '%-34s %10.3f %10.3f\n' "nbd-osgi / nbdkit (best round)" "$(ratio "$p" "$kp")" "$(ratio "$s" "$ks")"
    printf '%-34s %10s %10s %8.3f\n' "nbd-osgi CPU us/request (lowest)" "$(lowest "${cpus[plain]}")" "$(lowest "${cpus[stats]}")" \
        "$(ratio "$(lowest "${cpus[stats]}")" "$(lowest "${cpus[plain]}")")"
    awk -v a="$s" -v b="$p" 'BEGIN { c = (1 - a / b) * 100; printf "stats filter cost (best rounds): %.1f %% of IOPS (bar: at most 5 %%) -> %s\n", c, (c <= 5 ? "PASS" : "FAIL") }'
}

best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -1; }
lowest() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0 ? a / b : 0) }'; }

# threads_max PID SECONDS: samples the platform thread count of PID every 0.2 s, prints the maximum
threads_max() {
    local pid=$1 n=$(( $2 * 5 )) max=0 t
    for _ in $(seq "$n"); do
        t=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        (( t > max )) && max=$t
        sleep 0.2
    done
    echo "$max"
}

bench_delay() {
    local bound=12800
    echo "== parallelism proof: --filter=delay memory 1G rdelay=10ms, fio randread 4k, iodepth 128, ONE connection, ${RUNTIME}s"
    echo "   latency bound: 128 in flight / 10 ms = $bound IOPS"
    printf '   %-28s %8s %9s %16s %14s\n' "server" "IOPS" "of bound" "platform threads" "CPU us/request"
    local label osgi_iops osgi_threads
    for label in "nbd-osgi (defaults)" "nbdkit (defaults)" "nbdkit --threads=128"; do
        case $label in
            nbd-osgi*) start_server osgi --filter=delay memory 1G rdelay=10ms ;;
            "nbdkit (defaults)") start_server nbdkit --filter=delay memory 1G rdelay=10ms ;;
            *) start_server nbdkit --threads=128 --filter=delay memory 1G rdelay=10ms ;;
        esac
        threads_max "$server" $((RAMP + RUNTIME)) > "$work/threads" &
        local sampler=$!
        randread 128 1G
        wait "$sampler"
        local threads
        threads=$(cat "$work/threads")
        stop_server
        printf '   %-28s %8d %8.1f%% %16d %14s\n' "$label" "$iops" "$(awk -v i="$iops" -v b=$bound 'BEGIN{print i*100/b}')" "$threads" "$cpu_us"
        if [[ $label == nbd-osgi* ]]; then
            osgi_iops=$iops
            osgi_threads=$threads
        fi
    done
    awk -v i="$osgi_iops" -v b=$bound -v t="$osgi_threads" 'BEGIN {
        ok = i >= 0.9 * b && t < 64
        printf "nbd-osgi: %.1f %% of the bound (bar: 90 %%), %d platform threads (bar: under 64) -> %s\n", i * 100 / b, t, ok ? "PASS" : "FAIL" }'
}

parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=(stats delay)
for part in "${parts[@]}"; do
    case $part in
        stats) bench_stats ;;
        delay) bench_delay ;;
        *) echo "stats-delay.sh: unknown part '$part' (stats, delay)" >&2; exit 1 ;;
    esac
done
