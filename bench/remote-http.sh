#!/usr/bin/env bash
# The http plugin side by side with nbdkit's curl plugin, both reading the same 1 GiB file from the
# same nginx on loopback, which answers every request 5 ms late (the echo module's echo_sleep, a
# timer: delayed requests overlap, so the server itself serialises nothing). One fio connection each,
# after 5 s of unmeasured random reads on each server:
#
#   randread 4k depth 32    nbd-osgi can keep many GETs in flight on one client connection
#                           (up to connections=, default 16); nbdkit 1.32's curl plugin serialises
#                           the requests of a connection
#   read 1M depth 8         sequential 1 MiB reads
#
# Bar: ratio nbd-osgi / nbdkit >= 1.0 on every row and >= 4 on the random-read row. Prints PASS or FAIL.
# Usage: bench/remote-http.sh   Environment: RUNTIME (seconds per workload, default 10), RAMP (2),
# DELAY (the server's delay, default 0.005 s), NBD_OSGI. Figures from a busy machine are noisy:
# compare the ratios of one run.
source "$(dirname "$0")/lib.sh"

DELAY=${DELAY:-0.005}
need nginx nginx-light
ECHO_MODULE=/usr/lib/nginx/modules/ngx_http_echo_module.so
[[ -f $ECHO_MODULE ]] || { echo "bench: the nginx echo module is missing (apt-get install libnginx-mod-http-echo)" >&2; exit 1; }
nbdkit curl --version >/dev/null 2>&1 || { echo "bench: nbdkit's curl plugin is missing (apt-get install nbdkit)" >&2; exit 1; }

mkdir -p "$WORK/www" "$WORK/nginx/tmp"
head -c 1G /dev/urandom > "$WORK/www/disk.img"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/nginx/nginx.conf" <<EOF
load_module $ECHO_MODULE;
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server {
    listen 127.0.0.1:$PORT;
    root $WORK/www;
    location / { echo_sleep $DELAY; echo_exec @file; }
    location @file { }
  }
}
EOF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -e "$WORK/nginx/error.log" &
PIDS+=($!)
URL=http://127.0.0.1:$PORT/disk.img
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done

WORKLOADS=("randread 4k 32" "read 1M 8")
declare -A RESULT
for server in nbd-osgi nbdkit; do
    if [[ $server == nbd-osgi ]]; then
        start nbd-osgi http -r http "$URL"
    else
        start nbdkit curl -r curl "$URL"
    fi
    RUNTIME=5 fio_job "$SOCK" randread 4k 32 >/dev/null          # warm-up, not measured (the JIT, the pool)
    for w in "${WORKLOADS[@]}"; do
        read -r rw bs depth <<<"$w"
        RESULT[$server/$w]=$(fio_job "$SOCK" "$rw" "$bs" "$depth")
        [[ $server == nbd-osgi ]] && RESULT[threads/$w]=$(threads_of "$SERVER_PID")
    done
    stop "$SERVER_PID"
done

echo
echo "remote http (nginx on loopback, each request delayed ${DELAY}s; one connection; ${RUNTIME}s per workload)"
echo
echo "| workload | nbd-osgi | nbdkit | ratio | bar | nbd-osgi platform threads |"
echo "|---|---|---|---|---|---|"
verdict=PASS
for w in "${WORKLOADS[@]}"; do
    read -r rw bs depth <<<"$w"
    read -r oi ob <<<"${RESULT[nbd-osgi/$w]}"
    read -r ki kb <<<"${RESULT[nbdkit/$w]}"
    if [[ $bs == 4k ]]; then
        r=$(ratio "$oi" "$ki"); ours="$oi IOPS"; theirs="$ki IOPS"; bar=4
    else
        r=$(ratio "$ob" "$kb"); ours="$ob MiB/s"; theirs="$kb MiB/s"; bar=1
    fi
    awk -v r="$r" -v b="$bar" 'BEGIN { exit !(r != "n/a" && r >= b) }' || verdict=FAIL
    echo "| $rw $bs depth $depth | $ours | $theirs | $r | >= $bar | ${RESULT[threads/$w]} |"
done
echo
echo "bar: ratio >= 4 on randread 4k, >= 1.0 on read 1M: $verdict"
[[ $verdict == PASS ]]
