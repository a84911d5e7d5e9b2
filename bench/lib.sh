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
PIDS=()

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
[[ -x $NBD_OSGI ]] || { echo "bench: build first (./dev build): $NBD_OSGI" >&2; exit 1; }

wait_socket() {  # SOCKET PID
    for _ in $(seq 1 300); do
        [[ -S $1 ]] && return 0
        kill -0 "$2" 2>/dev/null || { echo "bench: server exited before listening" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: no socket at $1" >&2
    exit 1
}

# start SERVER NAME ARGS... : starts "nbd-osgi" or "nbdkit" on $WORK/NAME.sock; sets SOCK and SERVER_PID
start() {
    local server=$1 name=$2
    shift 2
    SOCK=$WORK/$name.sock
    rm -f "$SOCK"                # a killed server may leave its socket behind: wait for the new one
    if [[ $server == nbd-osgi ]]; then
        "$NBD_OSGI" -f -U "$SOCK" "$@" 2>"$WORK/$name.log" &
    else
        nbdkit -f -U "$SOCK" "$@" 2>"$WORK/$name.log" &
    fi
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_socket "$SOCK" "$SERVER_PID"
}

stop() {  # PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# fio_job SOCK RW BS DEPTH [extra fio args...] : prints "IOPS MiB/s" of the job
fio_job() {
    local sock=$1 rw=$2 bs=$3 depth=$4
    shift 4
    fio --name=bench --ioengine=nbd --uri="$SCHEME:///?socket=$sock" --rw="$rw" --bs="$bs" --iodepth="$depth" \
        --size=1G --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" --norandommap --randrepeat=0 \
        --output-format=terse --terse-version=3 "$@" 2>/dev/null |
    awk -F';' '/^3;/ { r_iops=$8; w_iops=$49; r_bw=$7; w_bw=$48;
                 iops = r_iops + w_iops; bw = (r_bw + w_bw) / 1024;
                 printf "%d %.1f\n", iops, bw }'
}

# fill SOCK : writes the whole first GiB once, so reads see data rather than holes
fill() {
    fio --name=fill --ioengine=nbd --uri="$SCHEME:///?socket=$1" --rw=write --bs=1M --iodepth=16 --size=1G \
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
