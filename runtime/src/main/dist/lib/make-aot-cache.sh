#!/bin/sh
# Makes the class-data archive bin/nbd-osgi starts from, for the JDK it picks ($JAVA_HOME first):
# lib/nbd-osgi.aot on Java 24+ (an AOT cache: classes loaded and linked ahead of time, JEP 483),
# lib/nbd-osgi.jsa on Java 21-23 (a CDS archive). The build runs this with its own JDK; run it again
# after changing the JDK, as the owner of this directory. It trains on one command-line run: start,
# a client's handshake, a write, a read, a flush, stop.
set -e
self=$0
if [ -L "$self" ]; then self=$(readlink -f "$self"); fi
home=$(cd "${self%/*}/.." && pwd -P)
rm -f "$home/lib/nbd-osgi.aot" "$home/lib/nbd-osgi.aot.jdk" "$home/lib/nbd-osgi.jsa" "$home/lib/nbd-osgi.jsa.jdk"
. "$home/lib/find-java.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp="$home/lib/nbd-osgi-launcher.jar:$home/lib/org.apache.felix.framework.jar"
quiet="-Xlog:aot*=error -Xlog:cds*=error -Xlog:class+path=error"
train() {  # JVM options...: one command-line run of the server with the training client
    # shellcheck disable=SC2086
    "$java" $server_flags $quiet "$@" -Dnbd.home="$home" -cp "$cp" org.nbdosgi.launcher.Launcher -U - memory 64M \
        --run "'$java' -cp '$home/lib/nbd-osgi-launcher.jar' org.nbdosgi.launcher.Warmup \"\$unixsocket\""
}
if [ "$jdk_major" -ge 24 ]; then
    train -XX:AOTMode=record -XX:AOTConfiguration="$work/nbd-osgi.aotconf"
    # shellcheck disable=SC2086
    "$java" $server_flags $quiet -XX:AOTMode=create -XX:AOTConfiguration="$work/nbd-osgi.aotconf" \
        -XX:AOTCache="$work/nbd-osgi.aot" -cp "$cp" org.nbdosgi.launcher.Launcher >/dev/null
    archive=nbd-osgi.aot
else
    train -XX:ArchiveClassesAtExit="$work/nbd-osgi.jsa"
    archive=nbd-osgi.jsa
fi
mv "$work/$archive" "$home/lib/$archive"
echo "$jdk_runtime" > "$home/lib/$archive.jdk"
echo "nbd-osgi: made lib/$archive for Java $jdk_runtime"
