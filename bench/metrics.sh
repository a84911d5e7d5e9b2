#!/usr/bin/env bash
# What counting costs: the memory bench's fio workloads against `nbd-osgi memory 1G` without metrics
# and with --metrics (the engine counting every request, the Prometheus endpoint and the JMX beans
# running, and a scraper reading /metrics every second, harsher than Prometheus' default 15 s),
# nbdkit beside them for the usual ratio. The three alternate for ROUNDS rounds (default 3); each
# figure is the best round (other load on the machine only ever slows a run down). The server's CPU
# time per request (from /proc, lowest round) is printed too: on a busy machine it shows the cost
# of counting more steadily than throughput does.
# Ends with PASS or FAIL against the bar: with metrics, at least 97 % of the throughput without.
# Usage: bench/metrics.sh   (RUNTIME=seconds per workload, default 10; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-3}
need curl curl

WORKLOADS=("write 1M 16" "read 1M 16" "randwrite 4k 32" "randread 4k 32")
CONFIGS=(off on nbdkit)
declare -A samples cpus

cpu_ticks() {  # user + system clock ticks of a process so far
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# PORT: reads /metrics every second until killed, as Prometheus does: one process holding one
# keep-alive connection (a curl per scrape would fork and exec on the same 2 cores every second and
# charge its own start-up to the metrics-on rounds)
scraper() {
    /usr/bin/python3 - "$1" <<'PY'
import http.client, sys, time
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
while True:
    try:
        conn.request("GET", "/metrics")
        conn.getresponse().read()
    except (OSError, http.client.HTTPException):
        conn.close()
    time.sleep(1)
PY
}

for round in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIGS[@]}"; do
        scrape_pid=""
        case $config in
            off) start nbd-osgi "off-$round" memory 1G ;;
            on)
                port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
                start nbd-osgi "on-$round" --metrics=127.0.0.1:"$port" memory 1G
                for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
                scraper "$port" &
                scrape_pid=$!
                PIDS+=("$scrape_pid") ;;
            nbdkit) start nbdkit "nbdkit-$round" memory 1G ;;
        esac
        fill "$SOCK"
        for w in "${WORKLOADS[@]}"; do
            read -r rw bs depth <<<"$w"
            t0=$(cpu_ticks "$SERVER_PID")
            read -r iops mibs <<<"$(fio_job "$SOCK" "$rw" "$bs" "$depth")"
            t1=$(cpu_ticks "$SERVER_PID")
            value=$([[ $bs == 1M ]] && echo "$mibs" || echo "$iops")
            # CPU over ramp + run, per request of the measured run (the ramp's requests make it a slight overestimate, alike for all)
            us=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$iops" -v s="$RUNTIME" \
                'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1e6 / (n * s) : 0) }')
            samples["$config $w"]+="$value "
            cpus["$config $w"]+="$us "
            printf '   round %d %-7s %-16s %10s  %6s us CPU/request\n' "$round" "$config" "$w" "$value" "$us" >&2
        done
        if [[ $config == on ]]; then
            curl -s "http://127.0.0.1:$port/metrics" | grep -q '^nbd_export_requests_total{export="",op="read"}' \
                || { echo "bench: the metrics endpoint did not count the reads" >&2; exit 1; }
        fi
        [[ -n $scrape_pid ]] && stop "$scrape_pid"
        stop "$SERVER_PID"
    done
done

best() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -1; }
lowest() { tr ' ' '\n' <<<"$1" | grep . | sort -n | head -1; }

echo "| workload | metrics off | metrics on | on / off | CPU us/request off | on | nbdkit | on / nbdkit |"
echo "|---|---|---|---|---|---|---|---|"
failed=()
for w in "${WORKLOADS[@]}"; do
    read -r rw bs depth <<<"$w"
    off=$(best "${samples["off $w"]}")
    on=$(best "${samples["on $w"]}")
    kit=$(best "${samples["nbdkit $w"]}")
    unit=$([[ $bs == 1M ]] && echo "MiB/s" || echo "IOPS")
    r=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.3f", a / b }')
    echo "| $rw $bs depth $depth | $off $unit | $on $unit | $r | $(lowest "${cpus["off $w"]}") | $(lowest "${cpus["on $w"]}") | $kit $unit | $(ratio "$on" "$kit") |"
    awk -v r="$r" 'BEGIN { exit !(r < 0.97) }' && failed+=("$w: $r")
done
echo
echo "(best of $ROUNDS alternating rounds, ${RUNTIME}s each after ${RAMP}s ramp; load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ ${#failed[@]} -eq 0 ]]; then echo "PASS: with metrics >= 97 % of without on every workload"; else echo "FAIL: below 97 % for ${failed[*]}"; exit 1; fi
