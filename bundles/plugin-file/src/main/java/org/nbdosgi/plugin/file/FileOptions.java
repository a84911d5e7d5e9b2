package org.nbdosgi.plugin.file;

import org.nbdosgi.common.libc.LibC;

/**
 * How the plugin uses the page cache: {@code cache=} and {@code fadvise=} as the user gave them.
 */
record FileOptions(Cache cache, Advice advice) {
    static final FileOptions DEFAULT = new FileOptions(Cache.DEFAULT, Advice.NORMAL);

    /** {@code cache=}: keep pages (default) or keep the page cache out of the way (none). */
    enum Cache {
        DEFAULT,
        NONE
    }

    /** {@code fadvise=}: the access pattern hinted to the kernel for the whole file. */
    enum Advice {
        NORMAL(LibC.POSIX_FADV_NORMAL),
        RANDOM(LibC.POSIX_FADV_RANDOM),
        SEQUENTIAL(LibC.POSIX_FADV_SEQUENTIAL);

        private final int value;

        Advice(int value) {
            this.value = value;
        }

        int value() {
            return value;
        }
    }
}
