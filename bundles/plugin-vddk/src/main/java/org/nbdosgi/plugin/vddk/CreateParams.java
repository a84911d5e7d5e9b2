package org.nbdosgi.plugin.vddk;

import java.util.Locale;

import org.nbdosgi.api.ConfigException;

import com.sun.jna.Memory;

/** What {@code create=true} asks VixDiskLib_Create for: the disk type, adapter, hardware version and size. */
record CreateParams(DiskType diskType, AdapterType adapterType, int hwVersion, long capacitySectors) {

    /** VixDiskLibDiskType, numbered from 1. */
    enum DiskType {
        MONOLITHIC_SPARSE, MONOLITHIC_FLAT, SPLIT_SPARSE, SPLIT_FLAT, VMFS_FLAT, STREAM_OPTIMIZED, VMFS_THIN, VMFS_SPARSE;

        int code() {
            return ordinal() + 1;
        }
    }

    /** VixDiskLibAdapterType, numbered from 1. */
    enum AdapterType {
        IDE, SCSI_BUSLOGIC, SCSI_LSILOGIC;

        int code() {
            return ordinal() + 1;
        }
    }

    /** A hardware version by name (workstation4 ... esx65) or number. */
    static int hwVersion(String text) throws ConfigException {
        String v = text.trim().toLowerCase(Locale.ROOT);
        int n = switch (v) {
            case "workstation4" -> 3;
            case "workstation5", "esx30" -> 4;
            case "workstation6" -> 6;
            case "esx4x" -> 7;
            case "esx50" -> 8;
            case "esx51" -> 9;
            case "esx55" -> 10;
            case "esx60" -> 11;
            case "esx65" -> 13;
            default -> -1;
        };
        if (n > 0) {
            return n;
        }
        try {
            n = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n <= 0 || n > 0xffff) {
            throw new ConfigException("create-hwversion: '" + text + "' is not one of workstation4|workstation5|"
                    + "workstation6|esx30|esx4x|esx50|esx51|esx55|esx60|esx65 or a number");
        }
        return n;
    }

    /** The native VixDiskLibCreateParams (x86_64: hwVersion at 8, capacity at 16, sector sizes at 24 and 28). */
    Memory toNative() {
        Memory m = new Memory(32);
        m.clear();
        m.setInt(0, diskType.code());
        m.setInt(4, adapterType.code());
        m.setShort(8, (short) hwVersion);
        m.setLong(16, capacitySectors);
        m.setInt(24, VixDiskLib.SECTOR);
        m.setInt(28, VixDiskLib.SECTOR);
        return m;
    }
}
