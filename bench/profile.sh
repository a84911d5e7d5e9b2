#!/usr/bin/env bash
# Where nbd-osgi's time goes on a fio job (memory plugin by default): once the server runs compiled
# code, a JFR recording of the job (jcmd JFR.start/stop, settings=profile) gives the bytes allocated
# per request and the top allocation sites (jdk.ObjectAllocationSample weights, first engine or
# plugin frames) and the top
# frames of the execution samples; then the same job under `strace -c -f` gives system calls per
# request. Allocation and system calls per request hardly depend on how loaded the machine is;
# IOPS and latency do. Needs fio, strace, jq, and the JDK's jcmd and jfr.
#
#   bench/profile.sh                          randwrite 4k depth 1, then write 1M depth 16
#   JOBS="randread 4k 1;read 1M 16" bench/profile.sh
#   PLUGIN="null 1G" bench/profile.sh
source "$(dirname "$0")/lib.sh"
need strace strace
need jq jq
PLUGIN=${PLUGIN:-memory 1G}
JOBS=${JOBS:-"randwrite 4k 1;write 1M 16"}
JDK_BIN=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin

# run_job RW BS DEPTH : the job; prints "IOPS MiB/s P50 P99 KIB requests"
run_job() {
    local out
    out=$(fio_stats "$SOCK" "$1" "$2" "$3")
    read -r _ _ _ _ kib <<<"$out"
    echo "$out $(numfmt --from=iec "${2^^}" | awk -v k="$kib" '{ printf "%d", k * 1024 / $1 }')"
}

IFS=';' read -ra jobs <<<"$JOBS"
for job in "${jobs[@]}"; do
    read -r rw bs depth <<<"$job"
    name="$rw-$bs-$depth"
    # shellcheck disable=SC2086
    start nbd-osgi "$name" $PLUGIN
    fill "$SOCK"
    RUNTIME=3 RAMP=0 fio_job "$SOCK" "$rw" "$bs" "$depth" >/dev/null    # compiled code from here on
    "$JDK_BIN/jcmd" "$SERVER_PID" JFR.start name=profile settings=profile filename="$WORK/$name.jfr" >/dev/null
    read -r iops mibs p50 p99 _ requests <<<"$(RAMP=0 run_job "$rw" "$bs" "$depth")"
    "$JDK_BIN/jcmd" "$SERVER_PID" JFR.stop name=profile >/dev/null
    echo "== $name ($PLUGIN): $iops IOPS, $mibs MiB/s, p50 $p50 us, p99 $p99 us, $requests requests recorded (load average $(cut -d' ' -f1 /proc/loadavg))"
    # the weights of the allocation samples add up to what was allocated; a thread's own statistics
    # would miss the connection's threads, started with the job (the recording's first chunk has none)
    "$JDK_BIN/jfr" print --json --events jdk.ObjectAllocationSample "$WORK/$name.jfr" >"$WORK/$name.alloc.json"
    jq -r '.recording.events[] | [.values.eventThread.javaName // .values.eventThread.osName, .values.weight] | @tsv' "$WORK/$name.alloc.json" |
        awk -F'\t' -v n="$requests" '{ t = ($1 ~ /^(nbd-data|ForkJoinPool)/) ? "data plane" : "other"; s[t] += $2 }
            END { printf "allocated: %d bytes per request on the data plane (request, reader, writer threads and carriers), %d elsewhere (JFR, ...)\n", s["data plane"] / n, s["other"] / n }'
    echo "-- top allocation sites (MB sampled over the recording, class, first frames of the server's code)"
    jq -r '.recording.events[] | [.values.weight, .values.objectClass.name,
               ([(.values.stackTrace.frames // [])[] | .method.type.name + "." + .method.name + ":" + (.lineNumber | tostring)]
                | map(select(test("nbdosgi|VirtualThread|Poller|IOUtil"))) | .[0:2] | join(" < "))] | @tsv' "$WORK/$name.alloc.json" |
        awk -F'\t' '{ s[$2 "  " $3] += $1 } END { for (k in s) printf "%8.1f  %s\n", s[k] / 1048576, k }' | sort -rn | head -12
    echo "-- top frames of the execution samples"
    "$JDK_BIN/jfr" print --json --events jdk.ExecutionSample "$WORK/$name.jfr" |
        jq -r '.recording.events[] | select(.values.stackTrace.frames | length > 0) | .values.stackTrace.frames[0] | .method.type.name + "." + .method.name' |
        sort | uniq -c | sort -rn | head -8
    strace -c -f -p "$SERVER_PID" -o "$WORK/$name.strace" 2>/dev/null &
    tracer=$!
    sleep 1
    read -r _ _ _ _ _ requests <<<"$(RUNTIME=5 RAMP=0 run_job "$rw" "$bs" "$depth")"
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    echo "-- system calls per request (strace -c -f, $requests requests, slowed by strace)"
    # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
    awk -v n="$requests" '$1 ~ /^[0-9.]+$/ && $NF != "total" { e = (NF == 6 ? $5 : 0); t += $4;
            printf "%8.2f %-16s (%.2f failed)\n", $4 / n, $NF, e / n }
         END { printf "%8.2f in all\n", t / n }' "$WORK/$name.strace" | sort -rn | head -8
    stop "$SERVER_PID"
done
