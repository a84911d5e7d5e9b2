package org.nbdosgi.plugin.vddk;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

import org.nbdosgi.api.ConfigException;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What all vddk exports of this bundle share, as VDDK wants it once per process: the library
 * (loaded and VixDiskLib_InitEx'd when the first export starts, VixDiskLib_Exit'd when the last
 * one stops), the lock that keeps ConnectEx/Open/Close/Disconnect from ever running at the same
 * time, and the live statistics of each export for {@code nbd:vddk-stats}. Control plane.
 */
@Component(service = VddkRuntime.class)
public final class VddkRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(VddkRuntime.class);

    private final Lock openClose = new ReentrantLock();
    private final Map<String, VddkStats> exports = new ConcurrentHashMap<>();
    private final Object libraryLock = new Object();
    private VixDiskLib library;                 // guarded by libraryLock
    private String initialisedWith;             // libdir and config of the InitEx, guarded by libraryLock
    private int users;                          // exports using the library, guarded by libraryLock

    /** The library from {@code libdir}, initialised; every call is matched by one {@link #release}. */
    VixDiskLib acquire(Path libdir, String config) throws ConfigException {
        Path dir = libdir.toAbsolutePath().normalize();
        String key = dir + (config == null ? "" : " config=" + config);
        synchronized (libraryLock) {
            if (library != null) {
                if (!key.equals(initialisedWith)) {
                    throw new ConfigException("libdir: VDDK is already in use from " + initialisedWith
                            + "; every vddk export of a server must use the same libdir and config");
                }
                users++;
                return library;
            }
            VixDiskLib lib = VixDiskLib.load(LibraryLocator.find(dir));
            long err = lib.initEx(dir, config);
            if (err != VixDiskLib.VIX_OK) {
                throw new ConfigException("libdir: VixDiskLib_InitEx failed: " + lib.errorText(err));
            }
            LOG.debug("VDDK {} initialised", lib.path());
            library = lib;
            initialisedWith = key;
            users = 1;
            return lib;
        }
    }

    void release(VixDiskLib lib) {
        synchronized (libraryLock) {
            if (lib != library || users == 0) {
                return;
            }
            if (--users == 0) {
                lib.exit();
                LOG.debug("VDDK {} exited", lib.path());
                library = null;
                initialisedWith = null;
            }
        }
    }

    Lock openCloseLock() {
        return openClose;
    }

    void register(String export, VddkStats stats) {
        exports.put(export, stats);
    }

    void unregister(String export, VddkStats stats) {
        exports.remove(export, stats);
    }

    /** The running vddk exports' statistics, by export name. */
    Map<String, VddkStats> exports() {
        return new TreeMap<>(exports);
    }

    VddkStats stats(String export) {
        return exports.get(Objects.requireNonNull(export));
    }

    @Deactivate
    void deactivate() {
        synchronized (libraryLock) {
            if (users > 0) {
                LOG.debug("bundle stopping while {} vddk exports still use VDDK: it exits when the last of them stops", users);
            }
        }
    }
}
