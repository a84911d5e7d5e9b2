package org.nbdosgi.plugin.nbd;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;

/**
 * libnbd (Debian {@code libnbd0}, 1.14 or later), bound by JNA direct mapping: the calls the
 * plugin makes, with the constants of {@code libnbd.h}. A handle is a {@link Pointer}; every call
 * but {@code nbd_aio_get_direction} and the {@code nbd_aio_is_*} checks takes the handle's lock
 * inside libnbd. Errors are per OS thread ({@code nbd_get_error}), so they are read right after the
 * failing call.
 */
final class LibNbd {
    static final int TLS_DISABLE = 0;
    static final int TLS_ALLOW = 1;
    static final int TLS_REQUIRE = 2;

    static final int SIZE_MINIMUM = 0;
    static final int SIZE_PREFERRED = 1;
    static final int SIZE_MAXIMUM = 2;

    static final int CMD_FLAG_FUA = 0x01;
    static final int CMD_FLAG_NO_HOLE = 0x02;
    static final int CMD_FLAG_REQ_ONE = 0x08;
    static final int CMD_FLAG_FAST_ZERO = 0x10;

    static final int AIO_DIRECTION_READ = 1;
    static final int AIO_DIRECTION_WRITE = 2;

    static final String BASE_ALLOCATION = "base:allocation";

    /** Loads libnbd; throws {@link UnsatisfiedLinkError} (with the reason) where it is missing. */
    static void load() {
        Holder.touch();
    }

    private static final class Holder {
        static {
            Native.register(LibNbd.class, NativeLibrary.getInstance("libnbd.so.0"));
        }

        static void touch() {
        }
    }

    private LibNbd() {
    }

    /** {@code int (*)(void *user_data, int *error)}: a command finished; return 1 to retire it. */
    interface CompletionFunction extends Callback {
        int invoke(Pointer userData, Pointer error);
    }

    /** {@code int (*)(void *user_data, const char *metacontext, uint64_t offset, uint32_t *entries, size_t nr_entries, int *error)}. */
    interface ExtentFunction extends Callback {
        int invoke(Pointer userData, Pointer metacontext, long offset, Pointer entries, long nrEntries, Pointer error);
    }

    /** {@code nbd_completion_callback}, passed by value (JNA needs public classes with a no-argument constructor). */
    @Structure.FieldOrder({"callback", "userData", "free"})
    public static final class Completion extends Structure implements Structure.ByValue {
        public CompletionFunction callback;
        public Pointer userData;
        public Pointer free;
    }

    /** {@code nbd_extent_callback}, passed by value. */
    @Structure.FieldOrder({"callback", "userData", "free"})
    public static final class Extent extends Structure implements Structure.ByValue {
        public ExtentFunction callback;
        public Pointer userData;
        public Pointer free;
    }

    static native Pointer nbd_create();

    static native void nbd_close(Pointer h);

    static native String nbd_get_error();

    static native int nbd_get_errno();

    static native int nbd_supports_tls(Pointer h);

    static native int nbd_set_handle_name(Pointer h, String name);

    static native int nbd_set_export_name(Pointer h, String name);

    static native int nbd_set_full_info(Pointer h, boolean request);

    static native int nbd_add_meta_context(Pointer h, String name);

    static native int nbd_set_tls(Pointer h, int tls);

    static native int nbd_set_tls_certificates(Pointer h, String dir);

    static native int nbd_set_tls_verify_peer(Pointer h, boolean verify);

    static native int nbd_set_tls_username(Pointer h, String username);

    static native int nbd_set_tls_psk_file(Pointer h, String filename);

    static native int nbd_aio_connect_uri(Pointer h, String uri);

    static native int nbd_aio_connect_unix(Pointer h, String socket);

    static native int nbd_aio_connect_tcp(Pointer h, String hostname, String port);

    static native long nbd_get_size(Pointer h);

    static native long nbd_get_block_size(Pointer h, int sizeType);

    static native Pointer nbd_get_export_description(Pointer h);

    static native int nbd_is_read_only(Pointer h);

    static native int nbd_can_flush(Pointer h);

    static native int nbd_can_fua(Pointer h);

    static native int nbd_can_trim(Pointer h);

    static native int nbd_can_zero(Pointer h);

    static native int nbd_can_fast_zero(Pointer h);

    static native int nbd_can_multi_conn(Pointer h);

    static native int nbd_can_cache(Pointer h);

    static native int nbd_is_rotational(Pointer h);

    static native int nbd_can_meta_context(Pointer h, String name);

    static native int nbd_aio_get_fd(Pointer h);

    static native int nbd_aio_get_direction(Pointer h);

    static native int nbd_aio_notify_read(Pointer h);

    static native int nbd_aio_notify_write(Pointer h);

    static native int nbd_aio_is_ready(Pointer h);

    static native int nbd_aio_is_dead(Pointer h);

    static native int nbd_aio_is_closed(Pointer h);

    static native int nbd_aio_in_flight(Pointer h);

    static native int nbd_aio_disconnect(Pointer h, int flags);

    static native long nbd_aio_pread(Pointer h, Pointer buf, long count, long offset, Completion cb, int flags);

    static native long nbd_aio_pwrite(Pointer h, Pointer buf, long count, long offset, Completion cb, int flags);

    static native long nbd_aio_flush(Pointer h, Completion cb, int flags);

    static native long nbd_aio_trim(Pointer h, long count, long offset, Completion cb, int flags);

    static native long nbd_aio_zero(Pointer h, long count, long offset, Completion cb, int flags);

    static native long nbd_aio_cache(Pointer h, long count, long offset, Completion cb, int flags);

    static native long nbd_aio_block_status(Pointer h, long count, long offset, Extent extents, Completion cb, int flags);
}
