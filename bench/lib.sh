# Shared helpers for the bench scripts (sourced, not run).
# Servers listen on Unix sockets in a private directory; every server started here is killed on exit.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
NBD_OSGI=${NBD_OSGI:-$ROOT/runtime/target/nbd-osgi/bin/nbd-osgi}
WORK=$(mktemp -d /tmp/nbd-bench.XXXXXX)
RUNTIME=${RUNTIME:-10}        # seconds per workload
RAMP=${RAMP:-2}
SCHEME=${SCHEME:-nbd+unix}    # nbds+unix: the servers require TLS (bench/tls.sh)
TRANSPORT=${TRANSPORT:-unix}  # tcp: servers listen on a loopback TCP port instead of a Unix socket
NEXT_PORT=$((20000 + RANDOM % 20000))
PIDS=()
# Optional CPU pinning for a bench that compares two configurations of one server: "taskset -c 1" and
# "taskset -c 0" keep the scheduler's placement of server and client threads from varying run to run
SERVER_PIN=${SERVER_PIN:-}
CLIENT_PIN=${CLIENT_PIN:-}

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

need() {
    command -v "$1" >/dev/null || { echo "bench: $1 is missing (apt-get install $2)" >&2; exit 1; }
}
need fio fio
need nbdkit nbdkit
[[ $TRANSPORT == tcp ]] && need ss iproute2
[[ -x $NBD_OSGI ]] || { echo "bench: build first (./dev build): $NBD_OSGI" >&2; exit 1; }

wait_socket() {  # SOCKET-or-tcp:PORT PID
    for _ in $(seq 1 300); do
        if [[ $1 == tcp:* ]]; then
            [[ -n $(ss -Hltn "sport = :${1#tcp:}") ]] && return 0
        else
            [[ -S $1 ]] && return 0
        fi
        kill -0 "$2" 2>/dev/null || { echo "bench: server exited before listening" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: no socket at $1" >&2
    exit 1
}

# start SERVER NAME ARGS... : starts "nbd-osgi" or "nbdkit" on $WORK/NAME.sock, or with TRANSPORT=tcp on
# a new loopback port; sets SOCK (the socket, or tcp:PORT: what uri_of takes) and SERVER_PID
start() {
    local server=$1 name=$2 listen
    shift 2
    if [[ $TRANSPORT == tcp ]]; then
        SOCK=tcp:$NEXT_PORT
        listen=(-i 127.0.0.1 -p "$NEXT_PORT")
        NEXT_PORT=$((NEXT_PORT + 1))
    else
        SOCK=$WORK/$name.sock
        rm -f "$SOCK"            # a killed server may leave its socket behind: wait for the new one
        listen=(-U "$SOCK")
    fi
    if [[ $server == nbd-osgi ]]; then
        $SERVER_PIN "$NBD_OSGI" -f "${listen[@]}" "$@" 2>"$WORK/$name.log" &
    else
        $SERVER_PIN nbdkit -f "${listen[@]}" "$@" 2>"$WORK/$name.log" &
    fi
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_socket "$SOCK" "$SERVER_PID"
}

uri_of() {  # SOCK : the NBD URI of a server start() started (nbd+unix:///?socket=..., or nbd://127.0.0.1:PORT/)
    case $1 in
        tcp:*) echo "${SCHEME%+unix}://127.0.0.1:${1#tcp:}/" ;;
        *) echo "$SCHEME:///?socket=$1" ;;
    esac
}

stop() {  # PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# fio_stats SOCK RW BS DEPTH [extra fio args...] : prints "IOPS MiB/s P50 P99 KIB" of the job: read plus
# write IOPS and MiB/s, completion latency percentiles in microseconds (of the reads, or of the writes
# for a job without reads), KiB moved in the measured time (ramp excluded)
fio_stats() {
    local sock=$1 rw=$2 bs=$3 depth=$4
    shift 4
    $CLIENT_PIN fio --name=bench --ioengine=nbd --uri="$(uri_of "$sock")" --rw="$rw" --bs="$bs" --iodepth="$depth" \
        --size=1G --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" --norandommap --randrepeat=0 \
        --output-format=terse --terse-version=3 "$@" 2>/dev/null |
    awk -F';' '/^3;/ { r_iops=$8; w_iops=$49; r_bw=$7; w_bw=$48;
                 iops = r_iops + w_iops; bw = (r_bw + w_bw) / 1024;
                 # terse v3: clat percentiles are fields 18-37 (reads) and 59-78 (writes), "P%=usec"; 50% and 99% are the 7th and 13th
                 p = (r_iops > 0) ? 0 : 41; split($(24 + p), p50, "="); split($(30 + p), p99, "=");
                 printf "%d %.1f %s %s %d\n", iops, bw, p50[2], p99[2], $6 + $47 }'
}

# fio_job SOCK RW BS DEPTH [extra fio args...] : prints "IOPS MiB/s" of the job
fio_job() {
    fio_stats "$@" | cut -d' ' -f1-2
}

# fill SOCK : writes the whole first GiB once, so reads see data rather than holes
fill() {
    fio --name=fill --ioengine=nbd --uri="$(uri_of "$1")" --rw=write --bs=1M --iodepth=16 --size=1G \
        --output-format=terse >/dev/null 2>&1
}

ratio() {  # OURS THEIRS
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

threads_of() {  # PID: platform threads of a process, from /proc
    awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

median() {  # VALUES... : the middle value (the lower middle for an even count)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# memory_workloads TITLE SERVER_ARGS... : the foundation workloads (1 MiB sequential write and read,
# 4 KiB random write and read) against nbd-osgi and nbdkit, each started with SERVER_ARGS and
# filled first; ROUNDS (default 3) alternating rounds, medians. Prints the table, whose first
# column is headed TITLE, and PASS, or FAIL and returns 1, against the bar (ratio >= 0.8 each).
memory_workloads() {
    local title=$1
    shift
    local rounds=${ROUNDS:-3}
    local workloads=("write 1M 16" "read 1M 16" "randwrite 4k 32" "randread 4k 32")
    local -A samples
    local round server w rw bs depth iops mibs value ours theirs unit r
    for round in $(seq 1 "$rounds"); do
        for server in nbd-osgi nbdkit; do
            start "$server" "mem-$server-$round" "$@"
            fill "$SOCK"
            for w in "${workloads[@]}"; do
                read -r rw bs depth <<<"$w"
                read -r iops mibs <<<"$(fio_job "$SOCK" "$rw" "$bs" "$depth")"
                value=$([[ $bs == 1M ]] && echo "$mibs" || echo "$iops")
                samples["$server $w"]+="$value "
            done
            stop "$SERVER_PID"
        done
    done

    echo "| $title | nbd-osgi | nbdkit | ratio |"
    echo "|---|---|---|---|"
    for w in "${workloads[@]}"; do
        read -r rw bs depth <<<"$w"
        ours=$(median ${samples["nbd-osgi $w"]})
        theirs=$(median ${samples["nbdkit $w"]})
        unit=$([[ $bs == 1M ]] && echo "MiB/s" || echo "IOPS")
        echo "| $rw $bs depth $depth | $ours $unit | $theirs $unit | $(ratio "$ours" "$theirs") |"
    done
    echo
    echo "(median of $rounds alternating rounds, ${RUNTIME}s each after ${RAMP}s ramp; load average $(cut -d' ' -f1-3 /proc/loadavg))"
    local below=()
    for w in "${workloads[@]}"; do
        r=$(ratio "$(median ${samples["nbd-osgi $w"]})" "$(median ${samples["nbdkit $w"]})")
        awk -v r="$r" 'BEGIN { exit !(r < 0.8) }' && below+=("$w: $r")
    done
    if [[ ${#below[@]} -eq 0 ]]; then echo "PASS: every ratio >= 0.8"; else echo "FAIL: ratio below 0.8 for ${below[*]}"; return 1; fi
}

cpu_ticks() {  # PID: user plus system CPU time of a process so far, in clock ticks (/proc/PID/stat fields 14 and 15)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# drop_cache FILE: writes back the file's dirty pages, then drops all its pages from the page cache
# (GNU dd: iflag=nocache with count=0 advises DONTNEED for the whole file; no root needed)
drop_cache() {
    sync "$1"
    dd if="$1" iflag=nocache count=0 status=none
}
