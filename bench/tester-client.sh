#!/usr/bin/env bash
# The NBD project's own test client against the file plugin, plain and through the cache filter
# (issue 13 item 5). Its read test writes 1 KiB reads, takes whatever replies are ready, then waits
# up to a second until it may write again ("Select finished" when that second ran out): a server
# that stops reading requests while replies wait for the client stalls it for a second each time.
# Prints MiB/s and stalls of nbd-osgi and nbdkit over a Unix socket and TCP (both servers warmed up
# by unmeasured runs, then alternating rounds, medians), the ratios, and PASS when every ratio is
# >= 0.8 and nbd-osgi never stalled.
# Needs gcc and libglib2.0-dev to build nbd-tester-client from the NBD project's sources: give
# NBD_TESTER_CLIENT (a built client) or NBD_SRC (a checkout of github.com/NetworkBlockDevice/nbd),
# else the sources are cloned into the work directory.
# Usage: bench/tester-client.sh   (SIZE, the disk, default 256M; WARMUP runs, default 2; ROUNDS, default 3)
source "$(dirname "$0")/lib.sh"
SIZE=${SIZE:-256M}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}

client=${NBD_TESTER_CLIENT:-}
if [[ -z $client ]]; then
    need gcc gcc
    pkg-config --exists glib-2.0 || { echo "bench: glib's headers are missing (apt-get install libglib2.0-dev)" >&2; exit 1; }
    src=${NBD_SRC:-$WORK/nbd-src}
    [[ -d $src ]] || git clone -q --depth 1 https://github.com/NetworkBlockDevice/nbd "$src"
    # The client alone, without the project's autotools: the few settings it reads from config.h.
    mkdir -p "$WORK/client"
    printf '#define HAVE_MKSTEMP 1\n#define HAVE_GNUTLS 0\n#define PACKAGE_VERSION "bench"\n#define SYSCONFDIR "/etc"\n' \
        > "$WORK/client/config.h"
    # shellcheck disable=SC2046
    gcc -O2 -I"$WORK/client" -I"$src" -I"$src/tests/run" -o "$WORK/client/nbd-tester-client" \
        "$src/tests/run/nbd-tester-client.c" "$src/cliserv.c" $(pkg-config --cflags --libs glib-2.0)
    client=$WORK/client/nbd-tester-client
fi

disk=$WORK/disk.img
truncate -s "$SIZE" "$disk"
export TMPDIR=$WORK                             # the cache filter's files

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve SERVER TRANSPORT CHAIN... : starts SERVER on a Unix socket or a TCP port; sets TARGET (the client's arguments)
serve() {
    local server=$1 transport=$2
    shift 2
    if [[ $transport == unix ]]; then
        start "$server" "$server-unix" "$@"
        TARGET=(-u "$SOCK")
    else
        local port
        port=$(free_port)
        if [[ $server == nbd-osgi ]]; then
            "$NBD_OSGI" -f -i 127.0.0.1 -p "$port" "$@" 2>"$WORK/$server-tcp.log" &
        else
            nbdkit -f -i 127.0.0.1 -p "$port" "$@" 2>"$WORK/$server-tcp.log" &
        fi
        SERVER_PID=$!
        PIDS+=("$SERVER_PID")
        for _ in $(seq 1 300); do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
            kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: $server exited before listening" >&2; exit 1; }
            sleep 0.1
        done
        TARGET=(127.0.0.1 "$port")
    fi
}

# read_test TARGET... : one run of the client's read test; sets MIB (MiB/s) and STALLS
read_test() {
    local out=$WORK/client.out
    NBD_TEST_SILENT=1 timeout 600 "$client" -N export "$@" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
    # "... complete. Took 6.808 seconds to complete, 37.601Mib/s" (K, M or G)
    STALLS=$(grep -c 'Select finished' "$out" || true)
    MIB=$(awk '/Throughput read test/ {
            n = $NF + 0; unit = match($NF, /[KMG]ib\/s$/) ? substr($NF, RSTART, 1) : "";
            f = unit == "G" ? 1024 : unit == "M" ? 1 : unit == "K" ? 1 / 1024 : 1 / 1048576;
            printf "%.1f", n * f }' "$out")
}

fail=0
printf '%-36s %14s %14s %7s\n' "read test ($SIZE, 1 KiB reads)" "nbd-osgi MiB/s" "nbdkit MiB/s" "ratio"
for chain in "file plugin" "file plugin + cache filter"; do
    args=(file "$disk")
    [[ $chain == *cache* ]] && args=(--filter=cache file "$disk")
    for transport in unix tcp; do
        ours=() theirs=() our_stalls=0 their_stalls=0
        serve nbd-osgi "$transport" "${args[@]}"
        ours_pid=$SERVER_PID ours_at=("${TARGET[@]}")
        serve nbdkit "$transport" "${args[@]}"
        theirs_pid=$SERVER_PID theirs_at=("${TARGET[@]}")
        for _ in $(seq 1 "$WARMUP"); do                 # unmeasured: the JIT compiles the data path
            read_test "${ours_at[@]}"
            read_test "${theirs_at[@]}"
        done
        for _ in $(seq 1 "$ROUNDS"); do
            read_test "${ours_at[@]}"
            ours+=("$MIB"); our_stalls=$((our_stalls + STALLS))
            read_test "${theirs_at[@]}"
            theirs+=("$MIB"); their_stalls=$((their_stalls + STALLS))
        done
        stop "$ours_pid"
        stop "$theirs_pid"
        a=$(median "${ours[@]}") b=$(median "${theirs[@]}")
        r=$(ratio "$a" "$b")
        printf '%-36s %14s %14s %7s   stalls: %d / %d\n' "$chain, $transport" "$a" "$b" "$r" \
            "$our_stalls" "$their_stalls"
        awk -v r="$r" 'BEGIN { exit !(r >= 0.8) }' && [[ $our_stalls -eq 0 ]] || fail=1
    done
done
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ $fail -eq 0 ]]; then
    echo "PASS: every ratio >= 0.8, no stall"
else
    echo "FAIL: a ratio < 0.8 or a stall"
    exit 1
fi
