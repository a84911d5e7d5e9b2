package org.nbdosgi.api;

/**
 * Block size constraints a layer advertises (NBD_INFO_BLOCK_SIZE): minimum (a power of two up to
 * 64 KiB: the smallest aligned request), preferred (a power of two, at least 512 and the minimum:
 * the size below which I/O turns into read-modify-write), maximum (the largest read or write payload).
 */
public record BlockSize(int minimum, int preferred, int maximum) {
    /**
     * 64 MiB, the largest read or write payload the server takes (nbdkit's limit too). The spec
     * lets a client that never asked for block sizes send up to 32 MiB; clients that do not ask
     * (the NBD project's test client sends 48 MiB) get this much, and it is what the server
     * advertises as the maximum unless a layer says less.
     */
    public static final int MAX_PAYLOAD = 64 * 1024 * 1024;
    /** What the protocol assumes when a server says nothing. */
    public static final BlockSize DEFAULT = new BlockSize(1, 4096, MAX_PAYLOAD);

    public BlockSize {
        if (Integer.bitCount(minimum) != 1 || minimum > 65536) {
            throw new IllegalArgumentException("minimum block size must be a power of 2 up to 65536: " + minimum);
        }
        if (Integer.bitCount(preferred) != 1 || preferred < Math.max(512, minimum)) {
            throw new IllegalArgumentException("preferred block size must be a power of 2 >= max(512, minimum): " + preferred);
        }
        if (maximum < preferred) {
            throw new IllegalArgumentException("maximum block size must be >= preferred: " + maximum);
        }
    }

    /** Constraints that satisfy both: the larger minimum and preferred, the smaller maximum. */
    public BlockSize combine(BlockSize other) {
        int min = Math.max(minimum, other.minimum);
        int pref = Math.max(preferred, other.preferred);
        return new BlockSize(min, pref, Math.max(pref, Math.min(maximum, other.maximum)));
    }
}
