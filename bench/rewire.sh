#!/usr/bin/env bash
# How long a live rewire pauses I/O: fio 4 KiB random writes at iodepth 32 on a memory export while a
# stats filter is inserted and removed again, CHANGES times each.
#
# Method: fio logs, for every 10 ms of the run, the longest completion latency of the requests that
# completed in it (--write_lat_log with --log_avg_msec=10 --log_max_value=1 --log_unix_epoch=1). The
# script notes when each console command (nbd:filter-insert "" stats, nbd:filter-remove "" stats)
# starts and ends, and takes the longest completion latency of the requests that completed from its
# start until 50 ms after its end: a request held up by the change completes in that window with
# the whole wait in its latency. That is the pause a client sees. The commands go to the console
# socket from a few lines of Python, not bin/nbd-osgi-client, whose JVM start would compete with fio
# for the CPU during the change. For scale the script also reports the longest latency of the same
# run outside the windows, and of the same fio job on nbdkit's memory plugin without any change
# (nbdkit cannot change a running export), and the server's own measure of each change: how long
# the export was drained (the transition's DEBUG line in its log). A first insert and remove, under
# fio, warm the code paths up (the first console command, the filter bundle's first instance and
# handle load classes); they are not measured.
#
# Bar: every change window's longest latency is at most 20 ms.
# Environment: NBD_OSGI (default runtime/target/nbd-osgi/bin/nbd-osgi), RUNTIME (seconds of fio,
# default 20), CHANGES (insert+remove pairs, default 4).
# Figures taken while the machine does other work are noisy: compare with the latency outside the
# windows of the same run.
RUNTIME=${RUNTIME:-20}
CHANGES=${CHANGES:-4}
BAR_MS=20
. "$(dirname "$0")/lib.sh"
need python3 python3
work=$WORK
export PATH=/usr/bin:/bin:$PATH

# fio_randwrite SOCK LOGPREFIX : the workload, with the per-10-ms maximum latency log
fio_randwrite() {
    fio --name=rewire --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw=randwrite --bs=4k --iodepth=32 \
        --size=1G --time_based --runtime="$RUNTIME" --norandommap --randrepeat=0 \
        --write_lat_log="$2" --log_avg_msec=10 --log_max_value=1 --log_unix_epoch=1 --output-format=terse >/dev/null 2>&1
}

# max_in LOG FROM TO : the longest completion latency (ms) logged in [FROM, TO + 50] (epoch ms)
max_in() {
    awk -F', *' -v a="$2" -v b="$3" '$1 >= a && $1 <= b + 50 && $2 > m { m = $2 } END { printf "%.1f", m / 1e6 }' "$1"
}

# max_outside LOG WINDOWS... : the longest completion latency (ms) outside the windows ("from:to" each)
max_outside() {
    local log=$1; shift
    awk -F', *' -v w="$*" 'BEGIN { n = split(w, ws, " ") }
        { inside = 0
          for (i = 1; i <= n; i++) { split(ws[i], p, ":"); if ($1 >= p[1] && $1 <= p[2] + 50) inside = 1 }
          if (!inside && $2 > m) m = $2 }
        END { printf "%.1f", m / 1e6 }' "$log"
}

echo "rewire pause: fio randwrite 4k iodepth 32, $RUNTIME s, $CHANGES stats inserts and removes on a memory export"

# One console command over the console socket ($console in --run mode), as bin/nbd-osgi-client sends
# it, without starting a JVM that would compete with fio for the CPU during the change.
cat > "$work/console.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
s.shutdown(socket.SHUT_WR)                      # the end of the script, as the client marks it
out = b""
while chunk := s.recv(65536):
    out += chunk
if not out or out[-1] != 0:
    sys.exit("console: " + sys.argv[2] + ": " + out[:-1].decode(errors="replace"))
EOF

# nbd-osgi: the server runs fio and the changes as its --run command, so $console reaches its console
cat > "$work/changes.sh" <<EOF
set -e
fio --name=rewire --ioengine=nbd --uri="nbd+unix:///?socket=$work/osgi.sock" --rw=randwrite --bs=4k --iodepth=32 \\
    --size=1G --time_based --runtime=$RUNTIME --norandommap --randrepeat=0 \\
    --write_lat_log=$work/osgi --log_avg_msec=10 --log_max_value=1 --log_unix_epoch=1 --output-format=terse >/dev/null 2>&1 &
fio_pid=\$!
python3 $work/console.py "\$console" "log:set DEBUG org.nbdosgi.engine.export.Transition"   # its pause figures
sleep 2
for i in \$(seq 0 $CHANGES); do                  # round 0 warms up: not measured
    for cmd in nbd:filter-insert nbd:filter-remove; do
        a=\$(date +%s%3N)
        python3 $work/console.py "\$console" "\$cmd \\"\\" stats"      # "" typed literally: the default export
        [[ \$i == 0 ]] || echo "\$a:\$(date +%s%3N)" >> $work/windows
        sleep 1
    done
done
wait \$fio_pid
EOF
# The transition's DEBUG line says how long each change held the export drained (set above with
# log:set, not -v, which would log every request)
"$NBD_OSGI" -U "$work/osgi.sock" memory 1G --run "bash $work/changes.sh" 2>"$work/osgi.log"
log=$(ls "$work"/osgi_clat.*.log)
mapfile -t windows < "$work/windows"
# "drained in A us, N layers taken apart in B us, M built in C us, K clients reopened in D us": the
# export's gate is closed from the drain's start until the clients are reopened, A+B+C+D
mapfile -t drained < <(grep -o 'drained in .* clients reopened in [0-9]* us' "$work/osgi.log" |
    awk 'NR > 2 { printf "%.1f\n", ($3 + $10 + $15 + $21) / 1000 }')   # after the warm-up
worst=0
i=0
for w in "${windows[@]}"; do
    i=$((i + 1))
    m=$(max_in "$log" "${w%:*}" "${w#*:}")
    what=$([[ $((i % 2)) == 1 ]] && echo insert || echo remove)
    printf '  change %2d (%s): longest latency %6s ms; drained %5s ms (server); console command %4d ms\n' \
        "$i" "$what" "$m" "${drained[$((i - 1))]:-?}" "$(( ${w#*:} - ${w%:*} ))"
    worst=$(awk -v a="$worst" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
done
outside=$(max_outside "$log" "${windows[@]}")
paused=$(printf '%s\n' "${drained[@]}" | sort -g | tail -1)

start nbdkit nbdkit memory 1G
fio_randwrite "$SOCK" "$work/nbdkit"
stop "$SERVER_PID"
nbdkit_max=$(max_outside "$(ls "$work"/nbdkit_clat.*.log)")

echo
printf '%-52s %10s\n' "" "ms"
printf '%-52s %10s\n' "nbd-osgi, longest latency in a change window" "$worst"
printf '%-52s %10s\n' "nbd-osgi, longest latency outside the windows" "$outside"
printf '%-52s %10s\n' "nbd-osgi, longest drain (server log, I/O paused)" "${paused:-?}"
printf '%-52s %10s\n' "nbdkit memory, same job without change, longest" "$nbdkit_max"
printf 'ratio change window / nbdkit longest: %s\n' "$(awk -v a="$worst" -v b="$nbdkit_max" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
if awk -v w="$worst" -v bar="$BAR_MS" 'BEGIN { exit !(w <= bar) }'; then
    echo "PASS: every change paused I/O at most $BAR_MS ms"
else
    echo "FAIL: a change paused I/O $worst ms (bar $BAR_MS ms)"
fi
