package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * {@code -u USER} / {@code -g GROUP}: the process becomes this user and group once it listens
 * (nbdkit's order: bind as root, then drop). The JDK cannot change its identity, so this calls the
 * C library through JNA. glibc applies setuid/setgid to every thread of the process (its set*id
 * broadcast), which is what a JVM with many threads needs. Control plane, once at start.
 */
final class Privileges {
    static {
        Native.register(Privileges.class, Platform.C_LIBRARY_NAME);
    }

    private Privileges() {
    }

    private static native int setuid(int uid) throws LastErrorException;

    private static native int setgid(int gid) throws LastErrorException;

    private static native int setgroups(long size, int[] list) throws LastErrorException;

    private static native int lchown(String path, int uid, int gid) throws LastErrorException;

    private static native int getgid();

    /** struct passwd: pw_name, pw_passwd (pointers), then uid_t pw_uid, gid_t pw_gid. */
    private static native Pointer getpwnam(String name);

    private static native Pointer getpwuid(int uid);

    /** struct group: gr_name, gr_passwd (pointers), then gid_t gr_gid. */
    private static native Pointer getgrnam(String name);

    /**
     * Becomes {@code group} (only it, no supplementary groups) and then {@code user}; with a user
     * but no group, the user's primary group, so no group of the starting user (root) is kept.
     * What the server made for itself before ({@code ours}: its private framework cache, its
     * sockets) changes hands first, so it can still use and remove them.
     */
    static void drop(String user, String group, List<Path> ours) throws IOException {
        Integer uid = null;
        Integer gid = group == null ? null : groupId(group);
        if (user != null) {
            int[] ids = userIds(user);
            uid = ids[0];
            if (gid == null) {
                gid = ids[1];
            }
        }
        for (Path root : ours) {
            handOver(root, uid == null ? -1 : uid, gid);
        }
        try {
            setgroups(1, new int[] {gid});
            setgid(gid);
            if (uid != null) {
                setuid(uid);
            }
        } catch (LastErrorException e) {
            throw new IOException("cannot change to " + (user == null ? "group " + group : "user " + user)
                    + ": " + (e.getErrorCode() == 1 ? "not permitted (start as root)" : "errno " + e.getErrorCode()));
        }
    }

    private static void handOver(Path root, int uid, int gid) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                lchown(p.toString(), uid, gid);
            }
        } catch (LastErrorException e) {
            throw new IOException("cannot hand " + root + " to the new user: errno " + e.getErrorCode());
        }
    }

    private static int[] userIds(String user) throws IOException {
        Pointer pw;
        if (user.matches("\\d+")) {
            int uid = Integer.parseInt(user);
            pw = getpwuid(uid);
            if (pw == null) {
                return new int[] {uid, getgid()};                 // a uid without an entry: keep our group
            }
        } else {
            pw = getpwnam(user);
        }
        if (pw == null) {
            throw new IOException("-u " + user + ": no such user");
        }
        long at = 2L * Native.POINTER_SIZE;
        return new int[] {pw.getInt(at), pw.getInt(at + 4)};
    }

    private static int groupId(String group) throws IOException {
        if (group.matches("\\d+")) {
            return Integer.parseInt(group);
        }
        Pointer gr = getgrnam(group);
        if (gr == null) {
            throw new IOException("-g " + group + ": no such group");
        }
        return gr.getInt(2L * Native.POINTER_SIZE);
    }
}
