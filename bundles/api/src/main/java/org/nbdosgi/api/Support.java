package org.nbdosgi.api;

/** How a layer supports zero, FUA or cache: not at all, by the engine's emulation, or itself. */
public enum Support {
    /** Not offered to the client. */
    NONE,
    /** Offered; the engine emulates it (zero by writing zeros, FUA by a flush, cache by a read). */
    EMULATE,
    /** The layer implements it. */
    NATIVE
}
