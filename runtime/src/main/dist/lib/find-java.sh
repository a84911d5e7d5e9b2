# Sourced by bin/nbd-osgi and bin/nbd-osgi-client with $home set: sets $java to a JDK 21+ java and
# $jvm_flags, or exits. Looks at $JAVA_HOME, then the java on PATH, then /usr/lib/jvm/*.
# Shell builtins only on the common path: every process started here is time before the first request.

# Reads JAVA_VERSION and JAVA_RUNTIME_VERSION of the JDK in $1 into $jdk_version, $jdk_runtime.
jdk_release() {
    jdk_version= jdk_runtime=
    [ -r "$1/release" ] || return 1
    while IFS='=' read -r key value; do
        value=${value#\"}; value=${value%\"}
        case $key in
            JAVA_VERSION) jdk_version=$value ;;
            JAVA_RUNTIME_VERSION) jdk_runtime=$value ;;
        esac
    done < "$1/release"
    [ -n "$jdk_version" ]
}

# Whether the JDK in $1 is 21 or later; sets $jdk_major too.
jdk_usable() {
    [ -n "$1" ] && [ -x "$1/bin/java" ] && jdk_release "$1" || return 1
    jdk_major=${jdk_version%%[!0-9]*}
    [ -n "$jdk_major" ] && [ "$jdk_major" -ge 21 ]
}

java=
if jdk_usable "${JAVA_HOME:-}"; then
    java=$JAVA_HOME/bin/java
else
    on_path=$(command -v java 2>/dev/null || true)
    if [ -n "$on_path" ]; then
        [ -L "$on_path" ] && on_path=$(readlink -f "$on_path")
        candidate=${on_path%/bin/java}
        if jdk_usable "$candidate"; then java=$candidate/bin/java; fi
    fi
    if [ -z "$java" ]; then
        for candidate in /usr/lib/jvm/*; do
            if jdk_usable "$candidate"; then java=$candidate/bin/java; break; fi
        done
    fi
fi
[ -n "$java" ] || { echo "nbd-osgi: needs Java 21 or later; set JAVA_HOME" >&2; exit 1; }

# JNA needs native access on Java 22+ (and 21 accepts the flag).
jvm_flags="--enable-native-access=ALL-UNNAMED"
# The ip filter's uid:/gid:/pid: rules need a Unix socket's SO_PEERCRED, read on the socket's descriptor.
jvm_flags="$jvm_flags --add-exports java.base/sun.nio.ch=ALL-UNNAMED"
# Felix reads sun.misc.Unsafe; Java 24+ warns about it unless told it is allowed.
if [ "$jdk_major" -ge 24 ]; then jvm_flags="$jvm_flags --sun-misc-unsafe-memory-access=allow"; fi

# A probing JVM (--version, --help...): C1 only, the JDK's own class data, nothing else.
probe_flags="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto"

# The server's JVM: small and quick to start (bench/startup.sh measures it). The serial collector
# has no GC threads and keeps the heap small (data lives in direct memory, not on the heap); the
# heap starts at 8 MiB and grows as needed (the AOT cache's objects need at least that). No perf-data
# file. At exit, the JVM does not wait 300 ms for threads blocked in native calls (Java 22+).
gc=-XX:+UseSerialGC
case " ${NBD_OSGI_JAVA_OPTS:-} " in *" -XX:+Use"*"GC "*) gc= ;; esac      # a collector of the user's choice instead
# No finalizers run (no Finalizer thread): the framework's jar files are closed explicitly, and by
# their own cleaners otherwise.
server_flags="$jvm_flags $gc -Xms8m -XX:-UsePerfData --finalization=disabled"
if [ "$jdk_major" -ge 22 ]; then
    server_flags="$server_flags -XX:UserThreadWaitAttemptsAtExit=0"
    probe_flags="$probe_flags -XX:UserThreadWaitAttemptsAtExit=0"
fi
# Memory disks live in direct memory; its default limit is the heap's: allow half of RAM, which
# leaves the rest to the heap and the system. (The engine's own buffers are freed as soon as they
# are not needed and bounded by nbd.payload.budget.)
while read -r key value unit; do
    if [ "$key" = MemTotal: ]; then server_flags="$server_flags -XX:MaxDirectMemorySize=$((value / 2))k"; break; fi
done < /proc/meminfo 2>/dev/null || true
# Class data made at package time (lib/make-aot-cache.sh) for the JDK it was made with: an AOT
# cache (Java 24+) or a CDS archive. Used only when no jar in lib/ is newer than it.
for archive in "$home/lib/nbd-osgi.aot" "$home/lib/nbd-osgi.jsa"; do
    if [ -r "$archive" ] && [ -r "$archive.jdk" ] && read -r made_for < "$archive.jdk" && [ "$made_for" = "$jdk_runtime" ] \
            && ! [ "$home/lib/nbd-osgi-launcher.jar" -nt "$archive" ] \
            && ! [ "$home/lib/org.apache.felix.framework.jar" -nt "$archive" ]; then
        case $archive in
            *.aot) server_flags="$server_flags -XX:AOTCache=$archive" ;;
            *) server_flags="$server_flags -XX:SharedArchiveFile=$archive" ;;
        esac
        break
    fi
done
