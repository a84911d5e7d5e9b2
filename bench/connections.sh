#!/usr/bin/env bash
# RSS over many short connections (issue 13 item 6): each connection connects over a Unix socket,
# negotiates (NBD_OPT_GO), reads 64 KiB and disconnects; CLIENTS of them at a time, CONNECTIONS in
# all (default 20000 and 4). Prints the server's RSS after a warm-up and every tenth of the run, for
# nbd-osgi and nbdkit in one run, and ends with PASS when nbd-osgi's RSS grew less than 64 MiB
# between the warm-up and the end (before issue 13 it grew by ~90 KiB per connection: 1.5 GB
# after 16,000), FAIL otherwise.
# Usage: bench/connections.sh   (CONNECTIONS, CLIENTS)
source "$(dirname "$0")/lib.sh"
CONNECTIONS=${CONNECTIONS:-20000}
CLIENTS=${CLIENTS:-4}
PYTHON=/usr/bin/python3

rss_mib() {  # PID
    awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status"
}

# short_connections SOCK COUNT : COUNT connections, CLIENTS at a time
short_connections() {
    "$PYTHON" - "$1" "$2" "$CLIENTS" <<'PY'
import socket, struct, sys, threading
path, count, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def recvn(s, n):
    b = bytearray()
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x:
            raise EOFError
        b += x
    return bytes(b)
def one():
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    recvn(s, 18)
    s.sendall(struct.pack('>I', 3))
    s.sendall(struct.pack('>QII', 0x49484156454F5054, 7, 6) + struct.pack('>IH', 0, 0))
    while True:
        m, o, t, l = struct.unpack('>QIII', recvn(s, 20)); recvn(s, l)
        if t == 1: break
    s.sendall(struct.pack('>IHHQQI', 0x25609513, 0, 0, 1, 0, 65536))
    recvn(s, 16 + 65536)
    s.sendall(struct.pack('>IHHQQI', 0x25609513, 0, 2, 2, 0, 0))
    s.close()
def worker(n):
    for _ in range(n):
        one()
ts = [threading.Thread(target=worker, args=(count // clients,)) for _ in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
PY
}

declare -A growth
for server in nbd-osgi nbdkit; do
    start "$server" "conn-$server" memory 64M
    short_connections "$SOCK" 1000                      # warm-up: pools filled, code compiled
    base=$(rss_mib "$SERVER_PID")
    line="$server: RSS after 1000 connections $base MiB;"
    step=$((CONNECTIONS / 10))
    t0=$(date +%s.%N)
    for i in $(seq 1 10); do
        short_connections "$SOCK" "$step"
        line+=" $((i * step)): $(rss_mib "$SERVER_PID")"
    done
    secs=$(echo "$(date +%s.%N) - $t0" | bc)
    end=$(rss_mib "$SERVER_PID")
    growth[$server]=$((end - base))
    echo "$line MiB  (grew $((end - base)) MiB; $(awk -v n="$CONNECTIONS" -v s="$secs" 'BEGIN { printf "%d", n / s }') connections/s)"
    stop "$SERVER_PID"
done
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [[ ${growth[nbd-osgi]} -lt 64 ]]; then
    echo "PASS: nbd-osgi's RSS grew ${growth[nbd-osgi]} MiB over $CONNECTIONS connections (nbdkit: ${growth[nbdkit]} MiB)"
else
    echo "FAIL: nbd-osgi's RSS grew ${growth[nbd-osgi]} MiB over $CONNECTIONS connections (nbdkit: ${growth[nbdkit]} MiB)"
    exit 1
fi
