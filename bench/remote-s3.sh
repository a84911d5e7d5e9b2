#!/usr/bin/env bash
# The s3 plugin side by side with nbdkit's S3 plugin (Python, boto3), on the same bucket of the
# same S3Proxy, each request to the store delayed 5 ms by a TCP proxy that both servers go through
# (bench/DelayProxy.java: every byte a client sends reaches S3Proxy 5 ms later).
#
#   randread 4 KiB, iodepth 32, one connection     bar: ratio >= 4 (many remote requests in flight)
#   read 1 MiB sequential, iodepth 8               bar: ratio >= 1
#
# The disk (objects of 64 KiB: nbdkit 1.32's S3 plugin refuses larger ones, as its minimum block
# size must stay <= 64K) is written once through nbd-osgi straight to S3Proxy, then read by each
# server through the delaying proxy. nbdkit needs its blocksize filter to serve 4 KiB and 1 MiB
# reads of 64 KiB objects; nbd-osgi serves them as ranged GETs (one for 4 KiB, 16 at once for 1 MiB).
# S3Proxy keeps the bucket in memory (its transient provider): on disk (filesystem provider) it
# answers only ~150 GETs/s on the 2-core development machine, which would measure S3Proxy.
#
# Each server first reads unmeasured until its 1 MiB reads stop getting faster (warm_up below: the
# JVMs involved, ours, S3Proxy's and the proxy's, compile their hot paths), then the servers are
# measured in alternating rounds and the best round of each is kept. The CPU each process spends
# per MiB read is printed too: on a busy machine it decides who gets the cores.
#
# Usage: bench/remote-s3.sh      Environment: NBD_OSGI, RUNTIME (seconds per workload, default 10),
# RAMP (default 2), WARMUP (default 8), ROUNDS (default 2), DELAY_MS (default 5), SIZE (disk size, default 256M).
# Figures taken while the machine does other work are noisy: compare ratios from the same run.
source "$(dirname "$0")/lib.sh"
export PATH=/usr/bin:/bin:$PATH
DELAY_MS=${DELAY_MS:-5}
WARMUP=${WARMUP:-8}
ROUNDS=${ROUNDS:-2}
SIZE=${SIZE:-256M}
home=$(dirname "$(dirname "$NBD_OSGI")")                  # find-java.sh reads the install's lib/
source "$ROOT/runtime/src/main/dist/lib/find-java.sh"     # sets $java (21+)
python3 -c 'import boto3' 2>/dev/null || { echo "bench: nbdkit's S3 plugin needs boto3 (apt-get install python3-boto3)" >&2; exit 1; }
[[ -f $(nbdkit --dump-config | sed -n 's/^plugindir=//p')/nbdkit-S3-plugin ]] ||
    { echo "bench: nbdkit's S3 plugin is missing (apt-get install nbdkit-plugin-python)" >&2; exit 1; }

S3PROXY_VERSION=$(sed -n 's:.*<s3proxy.version>\(.*\)</s3proxy.version>.*:\1:p' "$ROOT/pom.xml")
S3PROXY_JAR=$HOME/.m2/repository/org/gaul/s3proxy/$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar
if [[ ! -f $S3PROXY_JAR ]]; then
    mvn -B -q -ntp dependency:get -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" -Dtransitive=false >&2
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {  # PORT PID
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "bench: a helper exited before listening on $1" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench: nothing listens on port $1" >&2
    exit 1
}

STORE_PORT=$(free_port)
cat >"$WORK/s3proxy.conf" <<CONF
s3proxy.endpoint=http://127.0.0.1:$STORE_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench-access
s3proxy.credential=bench-secret
jclouds.provider=transient
jclouds.identity=local
jclouds.credential=local
CONF
LOG_LEVEL=warn "$java" -Xmx3g -jar "$S3PROXY_JAR" --properties "$WORK/s3proxy.conf" >"$WORK/s3proxy.log" 2>&1 &
S3PROXY_PID=$!
PIDS+=($S3PROXY_PID)
wait_port "$STORE_PORT" $S3PROXY_PID
DELAYED_PORT=$(free_port)
"$java" "$BENCH_DIR/DelayProxy.java" "$DELAYED_PORT" "$STORE_PORT" "$DELAY_MS" >"$WORK/delay.log" 2>&1 &
DELAY_PID=$!
PIDS+=($DELAY_PID)
wait_port "$DELAYED_PORT" $DELAY_PID

export AWS_ACCESS_KEY_ID=bench-access AWS_SECRET_ACCESS_KEY=bench-secret AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
python3 -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$STORE_PORT').create_bucket(Bucket='bench')"
S3=(bucket=bench key=disk)

echo "filling a $SIZE disk of 64 KiB objects through nbd-osgi (no delay)..." >&2
start nbd-osgi fill s3 endpoint="http://127.0.0.1:$STORE_PORT" "${S3[@]}" size="$SIZE" object-size=64K
fio --name=fill --ioengine=nbd --uri="nbd+unix:///?socket=$SOCK" --rw=write --bs=1M --iodepth=16 --size="$SIZE" \
    --output-format=terse >/dev/null
stop "$SERVER_PID"

declare -A RESULT
# warm_up: reads unmeasured until the JVMs involved (ours, S3Proxy's, the delay proxy's) run compiled
# code: random reads for WARMUP seconds, then 1 MiB reads WARMUP seconds at a time until a run gains
# less than 10% over the one before (at most 5 runs). On a loaded machine a fixed few seconds
# leave the AWS SDK's request path interpreted, and the first measured round says little.
warm_up() {
    local last=0 now
    RUNTIME=$WARMUP RAMP=0 fio_job "$SOCK" randread 4k 32 --size="$SIZE" >/dev/null
    for _ in 1 2 3 4 5; do
        now=$(RUNTIME=$WARMUP RAMP=0 fio_job "$SOCK" read 1M 8 --size="$SIZE" | cut -d' ' -f2)
        awk -v a="$now" -v b="$last" 'BEGIN { exit !(a + 0 < (b + 0) * 1.1) }' && break
        last=$now
    done
}
keep_best() {  # KEY VALUE
    if [[ -z ${RESULT[$1]:-} ]] || awk -v a="$2" -v b="${RESULT[$1]}" 'BEGIN { exit !(a + 0 > b + 0) }'; then
        RESULT[$1]=$2
    fi
}
measure() {  # SERVER : both workloads through the delaying proxy
    if [[ $1 == nbd-osgi ]]; then
        start nbd-osgi ours -r s3 endpoint="http://127.0.0.1:$DELAYED_PORT" "${S3[@]}"
    else
        start nbdkit theirs -r --filter=blocksize S3 endpoint-url="http://127.0.0.1:$DELAYED_PORT" "${S3[@]}" size="$SIZE" object-size=64K
    fi
    warm_up
    keep_best "$1 randread" "$(fio_job "$SOCK" randread 4k 32 --size="$SIZE" | cut -d' ' -f1)"
    local before=() after=() mibs
    for p in "$SERVER_PID" "$S3PROXY_PID" "$DELAY_PID"; do before+=("$(cpu_ticks "$p")"); done
    mibs=$(fio_job "$SOCK" read 1M 8 --size="$SIZE" | cut -d' ' -f2)
    for p in "$SERVER_PID" "$S3PROXY_PID" "$DELAY_PID"; do after+=("$(cpu_ticks "$p")"); done
    keep_best "$1 read" "$mibs"
    # CPU milliseconds per MiB read of the server, S3Proxy and the delay proxy (ramp included in both counts)
    RESULT["$1 cpu"]=$(for i in 0 1 2; do
        awk -v t=$((after[i] - before[i])) -v hz="$(getconf CLK_TCK)" -v m="$mibs" -v s=$((RUNTIME + RAMP)) \
            'BEGIN { printf "%.1f ", (m > 0) ? t * 1000 / hz / (m * s) : 0 }'
    done)
    [[ $1 == nbd-osgi ]] && RESULT[threads]=$(threads_of "$SERVER_PID")
    stop "$SERVER_PID"
}
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS..." >&2
    measure nbd-osgi
    measure nbdkit
done

verdict=PASS
row() {  # LABEL KEY UNIT BAR
    local r
    r=$(ratio "${RESULT[nbd-osgi $2]}" "${RESULT[nbdkit $2]}")
    awk -v r="$r" -v bar="$4" 'BEGIN { exit !(r != "n/a" && r + 0 >= bar) }' || verdict=FAIL
    printf '| %s | %s %s | %s %s | %s | >= %s |\n' "$1" "${RESULT[nbd-osgi $2]}" "$3" "${RESULT[nbdkit $2]}" "$3" "$r" "$4"
}
echo
echo "s3 plugin vs nbdkit S3 (boto3), S3Proxy in memory, ${DELAY_MS} ms added to each request, $SIZE disk of 64 KiB objects"
echo
echo "| workload | nbd-osgi | nbdkit | ratio | bar |"
echo "|---|---|---|---|---|"
row "randread 4k depth 32" randread IOPS 4
row "read 1M depth 8" read MiB/s 1
echo
echo "best of $ROUNDS rounds of ${RUNTIME} s each; nbd-osgi platform threads after its run: ${RESULT[threads]}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
read -r ours s3proxy delay <<<"${RESULT[nbd-osgi cpu]}"
read -r theirs s3proxy2 delay2 <<<"${RESULT[nbdkit cpu]}"
echo "CPU ms per MiB at read 1M depth 8 (last round): nbd-osgi $ours (S3Proxy $s3proxy, delay proxy $delay);" \
    "nbdkit $theirs (S3Proxy $s3proxy2, delay proxy $delay2)"
echo "$verdict"
[[ $verdict == PASS ]]
