package org.nbdosgi.plugin.vddk;

import java.util.ArrayList;
import java.util.List;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * A native VixDiskLibConnectParams filled from the settings (x86_64 layout, see the VDDK reference),
 * with the strings it points to. Must stay alive, and be freed, with the connection it opened.
 */
final class ConnectParams implements AutoCloseable {
    static final int SIZE = 128;
    private static final int VMX_SPEC = 0;
    private static final int SERVER_NAME = 8;
    private static final int THUMB_PRINT = 16;
    private static final int CRED_TYPE = 32;
    private static final int CREDS = 40;
    private static final int PORT = 64;
    private static final int NFC_HOST_PORT = 68;
    private static final int CRED_UID = 1;
    private static final int CRED_SESSION_ID = 2;

    private final VixDiskLib lib;
    private final Pointer params;
    private final List<Memory> strings = new ArrayList<>();   // referenced so the GC keeps them

    ConnectParams(VixDiskLib lib, VddkSettings s) {
        this.lib = lib;
        this.params = lib.allocateConnectParams();
        if (!s.remote()) {
            return;                                                // all NULL: a local file
        }
        string(VMX_SPEC, s.vm());
        string(SERVER_NAME, s.server());
        string(THUMB_PRINT, s.thumbprint());
        if (s.cookie() != null) {
            params.setInt(CRED_TYPE, CRED_SESSION_ID);
            string(CREDS, s.cookie());
            string(CREDS + 8, s.user());
        } else {
            params.setInt(CRED_TYPE, CRED_UID);
            string(CREDS, s.user());
            string(CREDS + 8, s.password().reveal());
        }
        params.setInt(PORT, s.port());
        params.setInt(NFC_HOST_PORT, s.nfcHostPort());
    }

    private void string(int offset, String value) {
        if (value == null) {
            return;
        }
        byte[] bytes = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        Memory m = new Memory(bytes.length + 1L);
        m.write(0, bytes, 0, bytes.length);
        m.setByte(bytes.length, (byte) 0);
        strings.add(m);
        params.setPointer(offset, m);
    }

    Pointer pointer() {
        return params;
    }

    /** Frees the struct and wipes the strings (the password among them). */
    @Override
    public void close() {
        lib.freeConnectParams(params);
        for (Memory m : strings) {
            m.clear();
            m.close();
        }
        strings.clear();
    }
}
