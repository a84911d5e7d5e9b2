package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ConfigException;

class CacheOptionsTest {
    @TempDir
    Path tmp;

    private String error(String... params) {
        return assertThrows(ConfigException.class, () -> Fixture.options(tmp, params)).getMessage();
    }

    @Test
    void defaultsAreNbdkits() throws Exception {
        CacheOptions o = Fixture.options(tmp);
        assertEquals(CacheMode.WRITEBACK, o.mode());
        assertFalse(o.cacheOnRead().active());
        assertEquals(Math.max(65536, Files.getFileStore(tmp).getBlockSize()), o.blockSize());
        assertFalse(o.limited());
        assertEquals(95, o.highPercent());
        assertEquals(80, o.lowPercent());
        assertEquals(tmp, o.dir());
    }

    @Test
    void everyParameterIsRead() throws Exception {
        CacheOptions o = Fixture.options(tmp, "cache=unsafe", "cache-on-read=yes", "cache-min-block-size=4K",
                "cache-max-size=1M", "cache-high-threshold=60", "cache-low-threshold=10");
        assertEquals(CacheMode.UNSAFE, o.mode());
        assertTrue(o.cacheOnRead().active());
        assertEquals(4096, o.blockSize());
        assertEquals(1 << 20, o.maxSize());
        assertEquals(60, o.highPercent());
        assertEquals(10, o.lowPercent());
        assertEquals(CacheMode.WRITETHROUGH, Fixture.options(tmp, "cache=writethrough").mode());
    }

    @Test
    void cacheOnReadPathFollowsTheFileWhileRunning() throws Exception {
        Path flag = tmp.resolve("cache-now");
        CacheOnRead onRead = Fixture.options(tmp, "cache-on-read=" + flag).cacheOnRead();
        assertFalse(onRead.active());
        Files.createFile(flag);
        assertTrue(onRead.active());
        Files.delete(flag);
        assertFalse(onRead.active());
    }

    @Test
    void badValuesAreOneClearLine() {
        assertEquals("cache: 'fast' is not one of writeback|writethrough|unsafe", error("cache=fast"));
        assertEquals("cache-on-read: 'sometimes' is not true, false or an absolute path", error("cache-on-read=sometimes"));
        assertEquals("cache-min-block-size: 6K must be a power of 2 from 4K to 32M", error("cache-min-block-size=6K"));
        assertEquals("cache-min-block-size: 2K must be a power of 2 from 4K to 32M", error("cache-min-block-size=2K"));
        assertEquals("cache-low-threshold=80, cache-high-threshold=70: the thresholds must be percentages with 0 < low < high <= 100",
                error("cache-high-threshold=70"));
        assertEquals("cache-low-threshold=0, cache-high-threshold=95: the thresholds must be percentages with 0 < low < high <= 100",
                error("cache-low-threshold=0"));
        assertEquals("cache-low-threshold=80, cache-high-threshold=101: the thresholds must be percentages with 0 < low < high <= 100",
                error("cache-high-threshold=101"));
        assertEquals("cache-max-size: 512K is too small: it must hold at least 16 cache blocks of 64K (1M)",
                error("cache-max-size=512K", "cache-min-block-size=64K"));
        assertEquals("cache-max-size: cannot parse size 'lots'", error("cache-max-size=lots"));
    }

    /** The value of $TMPDIR as CacheFilter reads it: unset (null) or empty means /var/tmp. */
    @Test
    void withoutTmpdirTheCacheGoesToVarTmp() throws Exception {
        Path varTmp = Path.of("/var/tmp");
        assumeTrue(Files.isDirectory(varTmp) && Files.isWritable(varTmp), "/var/tmp is writable here");
        assertEquals(varTmp, CacheOptions.from(org.nbdosgi.api.Config.empty(), null).dir());
        assertEquals(varTmp, CacheOptions.from(org.nbdosgi.api.Config.empty(), "").dir());
        assertEquals(tmp, CacheOptions.from(org.nbdosgi.api.Config.empty(), tmp.toString()).dir());
    }

    @Test
    void theCacheDirectoryMustBeWritable() {
        String m = assertThrows(ConfigException.class,
                () -> CacheOptions.from(new org.nbdosgi.api.Config(java.util.Map.of()), tmp.resolve("missing").toString())).getMessage();
        assertEquals("cannot keep the cache in " + tmp.resolve("missing") + ": not a writable directory (set TMPDIR)", m);
    }
}
