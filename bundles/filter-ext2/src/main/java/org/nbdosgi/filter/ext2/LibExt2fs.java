package org.nbdosgi.filter.ext2;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The libext2fs calls this filter makes, bound by JNA direct mapping to {@code libext2fs.so.2}
 * (Debian libext2fs2), plus {@code error_message} from {@code libcom_err.so.2}. Struct offsets are
 * those of x86_64 and aarch64 (LP64); out-parameters are one-element arrays.
 *
 * <p>Nothing here is thread-safe: every call on one filesystem runs under that
 * {@link Filesystem}'s lock. Loading fails with a {@link LinkageError} when the library is missing.
 */
final class LibExt2fs {
    // ext2fs_open flags
    static final int FLAG_RW = 0x01;
    static final int FLAG_64BITS = 0x20000;
    // struct_ext2_filsys: flags (int), super (pointer), blocksize (int), block_map (pointer, null until read)
    static final long FILSYS_FLAGS = 16;
    static final long FILSYS_SUPER = 32;
    static final long FILSYS_BLOCKSIZE = 40;
    static final long FILSYS_BLOCK_MAP = 88;
    static final int FILSYS_DIRTY = 0x04 | 0x10 | 0x20;          // DIRTY | IB_DIRTY | BB_DIRTY
    // superblock: s_feature_incompat, and its "journal needs recovery" bit
    static final long SUPER_FEATURE_INCOMPAT = 0x60;
    static final int INCOMPAT_RECOVER = 0x0004;
    // struct ext2_inode (the 128-byte base part)
    static final int INODE_SIZE = 128;
    static final long INODE_MODE = 0;
    static final long INODE_SIZE_LOW = 4;
    static final long INODE_FLAGS = 32;
    static final long INODE_SIZE_HIGH = 108;
    static final int S_IFMT = 0xF000;
    static final int S_IFREG = 0x8000;
    static final int EXTENTS_FL = 0x80000;
    static final int INLINE_DATA_FL = 0x10000000;
    static final int ROOT_INO = 2;
    // ext2fs_bmap2
    static final int BMAP_ALLOC = 0x1;
    static final int BMAP_SET = 0x2;
    static final int BMAP_RET_UNINIT = 0x1;
    // ext2fs_fallocate: zero what it allocates, as written (initialized) extents; goal ~0: libext2fs chooses
    static final int FALLOCATE_ZERO_BLOCKS = 0x1;
    static final int FALLOCATE_FORCE_INIT = 0x2;
    static final long GOAL_ANY = -1L;
    // struct ext2fs_extent and ext2fs_extent_get operations
    static final int EXTENT_SIZE = 24;
    static final long EXTENT_PBLK = 0;
    static final long EXTENT_LBLK = 8;
    static final long EXTENT_LEN = 16;
    static final long EXTENT_FLAGS = 20;
    static final int EXTENT_FLAGS_LEAF = 0x1;
    static final int EXTENT_FLAGS_UNINIT = 0x2;
    static final int EXTENT_CURRENT = 0x0;
    static final int EXTENT_NEXT_LEAF = 0x7;
    // error codes (com_err table "ext2", base 2133571328)
    static final long ET_MAGIC_IO_CHANNEL = 2133571333L;
    static final long ET_MAGIC_IO_MANAGER = 2133571335L;
    static final long ET_RO_FILSYS = 2133571349L;
    static final long ET_BLOCK_ALLOC_FAIL = 2133571400L;
    static final long ET_NO_DIRECTORY = 2133571402L;
    static final long ET_FILE_NOT_FOUND = 2133571404L;
    static final long ET_FILE_RO = 2133571405L;
    static final long ET_EXTENT_NO_NEXT = 2133571452L;
    static final long ET_NO_CURRENT_NODE = 2133571456L;
    static final long ET_EXTENT_NOT_FOUND = 2133571460L;

    static {
        Native.register(LibExt2fs.class, NativeLibrary.getInstance("libext2fs.so.2"));
        initialize_ext2_error_table();   // without it error_message says "Unknown code ext2 19"
    }

    private LibExt2fs() {
    }

    /** Loads both libraries now (class initialisation), so a missing one shows up at export start. */
    static void load() {
        ComErr.load();
    }

    static native long ext2fs_open(byte[] name, int flags, int superblock, int blockSize, Pointer manager, long[] fs);

    static native long ext2fs_close2(Pointer fs, int flags);

    static native void ext2fs_free(Pointer fs);

    static native long ext2fs_flush(Pointer fs);

    static native long ext2fs_read_block_bitmap(Pointer fs);

    static native long ext2fs_namei(Pointer fs, int root, int cwd, byte[] name, int[] ino);

    static native long ext2fs_read_inode(Pointer fs, int ino, Pointer inode);

    static native long ext2fs_write_inode(Pointer fs, int ino, Pointer inode);

    static native long ext2fs_fallocate(Pointer fs, int flags, int ino, Pointer inode, long goal, long start, long length);

    static native long ext2fs_bmap2(Pointer fs, int ino, Pointer inode, Pointer blockBuf, int bmapFlags, long block,
                                    int[] retFlags, long[] physBlock);

    static native long ext2fs_extent_open2(Pointer fs, int ino, Pointer inode, long[] handle);

    static native long ext2fs_extent_goto2(Pointer handle, int leafLevel, long block);

    static native long ext2fs_extent_get(Pointer handle, int operation, Pointer extent);

    static native void ext2fs_extent_free(Pointer handle);

    static native void initialize_ext2_error_table();

    /** {@code name} as a NUL-terminated UTF-8 string. */
    static byte[] cString(String name) {
        byte[] utf8 = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(utf8, utf8.length + 1);
    }

    /** libcom_err, for the text of an error code (errno values and every registered table). */
    static final class ComErr {
        static {
            Native.register(ComErr.class, NativeLibrary.getInstance("libcom_err.so.2"));
        }

        private ComErr() {
        }

        static void load() {
        }

        static native Pointer error_message(long code);
    }
}
