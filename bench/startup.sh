#!/usr/bin/env bash
# Start-up and footprint, nbd-osgi beside nbdkit, in one run:
#   probing   --version, --dump-config, PLUGIN --dump-plugin, null --filter=X --help   (bar: 0.3 s each)
#   launch    -U - memory 1G --run 'nbdinfo --size "$uri"': launch to first served request, whole command (bar: 1.0 s)
#   container bin/nbd-osgi with no arguments until nbdinfo reads the shipped export (bar: 1.5 s; nbdkit has none)
#   idle      -f -U SOCK memory 1G after one client, IDLE seconds later: RSS and platform threads (bars: 64 MiB, 16)
# Wall times are medians of ROUNDS runs; CPU is user+sys of the same runs (steadier on a busy machine).
#   bench/startup.sh            ROUNDS=7 IDLE=40 by default (40 s lets idle carrier threads end)
source "$(dirname "$0")/lib.sh"
need nbdinfo libnbd-bin
ROUNDS=${ROUNDS:-7}
IDLE=${IDLE:-40}

# timed CMD...: prints "WALL CPU" in seconds for one run (CPU: user+sys of the command and its children)
timed() {
    /usr/bin/time -o "$WORK/time" -f '%e %U %S' "$@" >/dev/null 2>&1 || true
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$WORK/time"
}

# measure NAME CMD...: median wall and CPU over ROUNDS runs, as "WALL CPU"
measure() {
    local walls=() cpus=() w c
    for _ in $(seq 1 "$ROUNDS"); do
        read -r w c < <(timed "$@")
        walls+=("$w"); cpus+=("$c")
    done
    echo "$(median "${walls[@]}") $(median "${cpus[@]}")"
}

row() {  # LABEL OURS THEIRS UNIT BAR
    printf '  %-42s %12s %12s %8s %14s\n' "$1" "$2" "$3" "$(ratio "${2%% *}" "${3%% *}")" "$5"
}

check() {  # VALUE BAR: PASS when VALUE <= BAR (a FAIL is counted in $WORK/failed)
    if awk -v v="$1" -v b="$2" 'BEGIN { exit !(v <= b) }'; then echo PASS; else echo x >> "$WORK/failed"; echo FAIL; fi
}

echo "nbd-osgi start-up and footprint beside nbdkit $(nbdkit --version | awk '{print $2}'); $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "median of $ROUNDS runs; wall seconds (CPU seconds)"
printf '  %-42s %12s %12s %8s %14s\n' "" "nbd-osgi" "nbdkit" "ratio" "bar"

for probe in "--version" "--dump-config" "memory --dump-plugin" "--version --filter=delay null" "null --filter=delay --help"; do
    # shellcheck disable=SC2086
    read -r ow oc < <(measure "$NBD_OSGI" $probe)
    # shellcheck disable=SC2086
    read -r kw kc < <(measure nbdkit $probe)
    row "$probe" "$ow ($oc)" "$kw ($kc)" s "<= 0.3 s $(check "$ow" 0.3)"
done

read -r ow oc < <(measure "$NBD_OSGI" -U - memory 1G --run 'nbdinfo --size "$uri"')
read -r kw kc < <(measure nbdkit -U - memory 1G --run 'nbdinfo --size "$uri"')
row "launch to first request (memory 1G)" "$ow ($oc)" "$kw ($kc)" s "<= 1.0 s $(check "$ow" 1.0)"

# container mode: a private copy of the distribution (its own data/), the shipped etc/ export on a free port
home=$(cd "$(dirname "$NBD_OSGI")/.." && pwd)
cp -a "$home" "$WORK/container"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# container mode serves metrics too (default 127.0.0.1:9810, maybe another run's): a free port of its own
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
walls=()
for _ in $(seq 1 "$ROUNDS"); do
    t0=$(date +%s%N)
    NBD_OSGI_JAVA_OPTS="-Dnbd.listen.port=$port -Dnbd.metrics=127.0.0.1:$mport" "$WORK/container/bin/nbd-osgi" </dev/null >"$WORK/container.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    until nbdinfo --size "nbd://127.0.0.1:$port/" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "bench: container mode exited" >&2; cat "$WORK/container.log" >&2; exit 1; }
        sleep 0.02
    done
    walls+=("$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
    stop "$pid"
done
row "container mode to first request" "$(median "${walls[@]}")" "-" s "<= 1.5 s $(check "$(median "${walls[@]}")" 1.5)"

# idle footprint: one client, then IDLE seconds of nothing
for server in nbd-osgi nbdkit; do
    start "$server" "idle-$server" memory 1G
    nbdinfo --size "nbd+unix:///?socket=$SOCK" >/dev/null
    sleep "$IDLE"
    rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    threads=$(threads_of "$SERVER_PID")
    if [[ $server == nbd-osgi ]]; then
        osgi_rss=$rss osgi_threads=$threads
        osgi_names=$(cat /proc/"$SERVER_PID"/task/*/comm | sort | uniq -c | awk '{ printf "%s%s(%d)", sep, substr($0, index($0, $2)), $1; sep=", " }')
    else
        kit_rss=$rss kit_threads=$threads
    fi
    stop "$SERVER_PID"
done
row "idle RSS, memory 1G, after ${IDLE}s (MiB)" "$osgi_rss" "$kit_rss" MiB "<= 64 $(check "$osgi_rss" 64)"
row "idle platform threads" "$osgi_threads" "$kit_threads" "" "<= 16 $(check "$osgi_threads" 16)"
echo "  nbd-osgi's threads: $osgi_names"
[[ -s $WORK/failed ]] && echo "startup: FAIL ($(wc -l < "$WORK/failed") of 9 bars missed)" || echo "startup: PASS"
