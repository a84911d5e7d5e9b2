#!/usr/bin/env bash
# Warm from the first request (issue 19): how the first requests of a new server process compare
# with nbdkit's. Each round starts a fresh `nbd-osgi memory 1G` and a fresh `nbdkit memory 1G`
# (alternating) on a Unix socket; as soon as the socket exists one client connects (libnbd's
# Python binding) and sends 1,000 requests at depth 1, 4 KiB writes and reads in turn at random
# aligned offsets (the same sequence for both servers), timing each one. Printed per server,
# medians over ROUNDS rounds (default 5):
#   connect      connection and handshake (the first thing the fresh process serves)
#   first        the first request
#   first 1000   the 1,000 requests together
#   slowest      the slowest single request among them
#   typical      the median request among them (the warm cost, for comparison)
# with the ratio nbd-osgi / nbdkit (times: above 1.0 means nbd-osgi is slower). Ends with PASS or
# FAIL against the bar: nbd-osgi's first request and slowest request each under 10 ms.
# Usage: bench/first-requests.sh   (ROUNDS, default 5; REQUESTS, default 1000)
source "$(dirname "$0")/lib.sh"
PYTHON=${PYTHON:-/usr/bin/python3}    # the python3 first on PATH may lack the nbd module
"$PYTHON" -c 'import nbd' 2>/dev/null || { echo "bench: $PYTHON has no nbd module (apt-get install python3-libnbd)" >&2; exit 1; }
ROUNDS=${ROUNDS:-5}
REQUESTS=${REQUESTS:-1000}
BAR_MS=10

# The client: prints "CONNECT_US FIRST_US TOTAL_US SLOWEST_US MEDIAN_US" for one fresh server.
cat > "$WORK/client.py" <<'EOF'
import random, sys, time
import nbd

sock, count = sys.argv[1], int(sys.argv[2])
rnd = random.Random(19)                       # the same offsets for both servers
blocks = (1 << 30) // 4096
data = bytearray(rnd.getrandbits(8) for _ in range(4096))
offsets = [rnd.randrange(blocks) * 4096 for _ in range(count)]
clock = time.perf_counter_ns
h = nbd.NBD()
t = clock()
h.connect_unix(sock)
connect = clock() - t
times = []
for i, off in enumerate(offsets):
    t = clock()
    if i % 2 == 0:
        h.pwrite(data, off)
    else:
        h.pread(4096, off)
    times.append(clock() - t)
h.shutdown()
times_sorted = sorted(times)
print(connect // 1000, times[0] // 1000, sum(times) // 1000, times_sorted[-1] // 1000, times_sorted[len(times) // 2] // 1000)
EOF

declare -A samples   # "SERVER FIELD" -> values
fields=(connect first total slowest median)
for round in $(seq 1 "$ROUNDS"); do
    for server in nbd-osgi nbdkit; do
        start "$server" "first-$server-$round" memory 1G
        read -r -a got < <("$PYTHON" "$WORK/client.py" "$SOCK" "$REQUESTS")
        [[ ${#got[@]} -eq 5 ]] || { echo "bench: the client failed against $server (log: $WORK/first-$server-$round.log)" >&2; exit 1; }
        for i in "${!fields[@]}"; do
            samples["$server ${fields[$i]}"]+="${got[$i]} "
        done
        stop "$SERVER_PID"
    done
done

ms() {  # MICROSECONDS -> milliseconds with two decimals
    awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'
}

echo "First $REQUESTS requests of a fresh server (memory 1G, Unix socket, 4 KiB write/read in turn, depth 1)"
echo "| | nbd-osgi | nbdkit | ratio (time) |"
echo "|---|---|---|---|"
labels=("connect and handshake" "first request" "first $REQUESTS requests" "slowest of them" "median of them")
for i in "${!fields[@]}"; do
    ours=$(median ${samples["nbd-osgi ${fields[$i]}"]})
    theirs=$(median ${samples["nbdkit ${fields[$i]}"]})
    echo "| ${labels[$i]} | $(ms "$ours") ms | $(ms "$theirs") ms | $(ratio "$ours" "$theirs") |"
done
echo
echo "(median of $ROUNDS alternating rounds, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg);"
echo " nbd-osgi's rounds, first request in us: ${samples["nbd-osgi first"]% }; slowest: ${samples["nbd-osgi slowest"]% })"
first=$(median ${samples["nbd-osgi first"]})
slowest=$(median ${samples["nbd-osgi slowest"]})
if awk -v f="$first" -v s="$slowest" -v b="$BAR_MS" 'BEGIN { exit !(f < b * 1000 && s < b * 1000) }'; then
    echo "PASS: nbd-osgi's first request $(ms "$first") ms and slowest $(ms "$slowest") ms, each under $BAR_MS ms"
else
    echo "FAIL: nbd-osgi's first request $(ms "$first") ms or slowest $(ms "$slowest") ms is not under $BAR_MS ms"
    exit 1
fi
