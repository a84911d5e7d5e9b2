package org.nbdosgi.filter.limit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

class LimitFilterTest {
    private final Layer below = new Layer() {
        @Override
        public Handle open(ClientContext client) {
            return new Handle() {
                @Override
                public long size() {
                    return 1 << 20;
                }

                @Override
                public void read(ByteBuffer buf, long offset, int flags) {
                }
            };
        }

        @Override
        public List<ExportEntry> listExports(boolean readOnly) {
            return List.of();
        }

        @Override
        public String defaultExport() {
            return "";
        }
    };

    private FilterInstance create(Map<String, String> params) throws ConfigException {
        return new LimitFilter().create(new Config(params), new ExportContext("", false), below);
    }

    private static ClientContext client(long id) {
        return new ClientContext("", false, "test", id);
    }

    @Test
    void onlyOneClientByDefaultAndALeavingClientFreesItsPlace() throws Exception {
        FilterInstance limit = create(Map.of());
        Handle first = limit.open(client(1));
        NbdException e = assertThrows(NbdException.class, () -> limit.open(client(2)));
        assertEquals(NbdError.EPERM, e.error());
        assertEquals("limit: too many clients connected (limit=1), connection refused", e.getMessage());
        limit.open(client(-1)).close();                      // the server's own handles are not clients
        first.close();
        first.close();                                        // closing twice frees one place only
        Handle second = limit.open(client(2));
        assertThrows(NbdException.class, () -> limit.open(client(3)));
        second.close();
        assertEquals(0, ((LimitFilter.Instance) limit).clients());
    }

    @Test
    void zeroMeansNoLimit() throws Exception {
        FilterInstance limit = create(Map.of("limit", "0"));
        for (int i = 1; i <= 100; i++) {
            limit.open(client(i));
        }
    }

    @Test
    void negativeLimitIsRefused() {
        assertThrows(ConfigException.class, () -> create(Map.of("limit", "-1")));
    }
}
