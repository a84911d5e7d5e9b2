# Sourced by bin/nbd-osgi and bin/nbd-osgi-client: sets $java to a JDK 21+ java and $jvm_flags,
# or exits. Looks at $JAVA_HOME, then the java on PATH, then /usr/lib/jvm/*.
java_major() {  # the major version of the JDK in $1, from its release file
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
for candidate in "${JAVA_HOME:-}" "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")" /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 21 ]; then
        java="$candidate/bin/java"
        break
    fi
done
[ -n "${java:-}" ] || { echo "nbd-osgi: needs Java 21 or later; set JAVA_HOME" >&2; exit 1; }
jvm_flags="--enable-native-access=ALL-UNNAMED"
# The ip filter's uid:/gid:/pid: rules need a Unix socket's SO_PEERCRED, read on the socket's descriptor.
jvm_flags="$jvm_flags --add-exports java.base/sun.nio.ch=ALL-UNNAMED"
# Memory disks live in direct memory; its default limit is the heap's (a quarter of RAM): allow half
# of RAM, which with the heap's quarter leaves a quarter to the rest of the system. (The engine's
# own buffers are freed as soon as they are not needed and bounded by nbd.payload.budget.)
ram_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null)
if [ -n "$ram_kib" ]; then jvm_flags="$jvm_flags -XX:MaxDirectMemorySize=$((ram_kib / 2))k"; fi
# The heap holds little (data is off the heap): start it small, and give unused heap back when idle,
# so the resident size follows the load instead of the JVM's default of 1/64 of RAM up front.
jvm_flags="$jvm_flags -Xms64m -XX:G1PeriodicGCInterval=60000"
# Felix reads sun.misc.Unsafe; Java 24+ warns about it unless told it is allowed.
if [ "$major" -ge 24 ]; then jvm_flags="$jvm_flags --sun-misc-unsafe-memory-access=allow"; fi
