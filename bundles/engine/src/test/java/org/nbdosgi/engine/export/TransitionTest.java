package org.nbdosgi.engine.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.chain.Catalog;
import org.nbdosgi.engine.chain.TestLayers;

/** Rewires, parks and resumes of one export with a client attached: what is kept, what is rebuilt. */
class TransitionTest {
    final TestLayers t = new TestLayers();
    final List<String> events = t.events;
    /** A filter that shows half of the layer below: a rewire that adds it breaks a client's size. */
    final TestLayers.TagFilter half = t.new TagFilter("half") {
        @Override
        protected Handle handle(Handle below, Config config) {
            return new FilterHandle(below) {
                @Override
                public long size() throws IOException {
                    return next.size() / 2;
                }
            };
        }
    };
    final Catalog catalog = TestLayers.catalog(List.of(t.new DiskPlugin()), t.new TagFilter("a"), t.new TagFilter("b"), half,
            t.new TagFilter("bitmaps").offering("x-test:one", "x-test:two"));
    final BufferPool pool = new BufferPool();
    Export export;
    Session client;

    static ExportSpec spec(String... args) throws ConfigException {
        return ExportSpec.parse("x", false, List.of(args));
    }

    Transition transition() {
        return new Transition(export, catalog, pool);
    }

    @BeforeEach
    void aClientOnTwoFiltersOverADisk() throws Exception {
        ExportSpec spec = spec("--filter=a", "--filter=b", "disk", "65536");
        export = new Export(spec, false, () -> true, 1000);
        transition().to(spec, Transition.OnBroken.REFUSE);
        client = export.attach(new ClientContext("", false, "test", 7), why -> events.add("disconnected: " + why));
        client.run(top -> top.write(ByteBuffer.allocateDirect(4).put(0, (byte) 9), 100, 0));
        events.clear();
    }

    private byte readByte(long offset) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        client.run(top -> top.read(b, offset, 0));
        return b.get(0);
    }

    @Test
    void insertingAFilterOnTopKeepsEveryLayerBelowWithTheClientsHandles() throws Exception {
        transition().to(spec("--filter=b", "--filter=a", "--filter=b", "disk", "65536"), Transition.OnBroken.REFUSE);
        assertEquals(List.of("create b {}", "open b"), events, "only the new filter is created and opened; a, b and disk keep theirs");
        assertEquals(2, t.disks.size(), "the disk's handles: the size probe's and the client's, no new one");
        assertEquals(9, readByte(100));
        assertEquals(ExportState.RUNNING, export.state());

        events.clear();
        transition().to(spec("--filter=a", "--filter=b", "disk", "65536"), Transition.OnBroken.REFUSE);
        assertEquals(List.of("close b handle", "close b"), events, "removing it again closes it alone");
        assertEquals(9, readByte(100));
    }

    @Test
    void changingAMiddleLayerRebuildsItAndWhatIsAboveOverTheKeptPluginHandle() throws Exception {
        transition().to(spec("--filter=a", "--filter=b", "disk", "65536", "b-tag=1"), Transition.OnBroken.REFUSE);
        assertEquals(List.of("close a handle", "close b handle", "hand over a", "hand over b", "close a", "close b",
                "create b {b-tag=1} from b state", "create a {} from a state", "open b", "open a"), events);
        assertEquals(9, readByte(100));
    }

    @Test
    void aChangeThatBreaksAPromiseIsRefusedAndTheOldLayersComeBackOverTheKeptOnes() throws Exception {
        Handle before = client.top();
        ConfigException e = assertThrows(Transition.Refused.class, () ->
                transition().to(spec("--filter=a", "--filter=half", "--filter=b", "disk", "65536"), Transition.OnBroken.REFUSE));
        assertEquals("refused: client 7 (test) on export 'x' was promised size 65536 (would be 32768) (--force disconnects that client)",
                e.getMessage());
        assertEquals(List.of("close a handle", "hand over a", "close a",
                "create half {}", "create a {} from a state", "open half", "open a",
                "close a handle", "hand over a", "hand over half", "close a", "close half",
                "create a {} from a state", "open a"), events, "a is rebuilt twice; b and disk below the change stay");
        assertTrue(events.stream().noneMatch(s -> s.contains("disk")), "the disk and b below the change were never touched: " + events);
        assertEquals("--filter=a --filter=b disk 65536", export.spec().describe());
        assertEquals(ExportState.RUNNING, export.state());
        assertTrue(before != client.top(), "the client runs on the rebuilt top");
        assertEquals(9, readByte(100));
    }

    @Test
    void theMetaContextsAClientSelectedArePartOfItsPromise() throws Exception {
        transition().to(spec("--filter=bitmaps", "--filter=a", "--filter=b", "disk", "65536"), Transition.OnBroken.REFUSE);
        assertEquals(List.of("base:allocation", "x-test:one", "x-test:two"), export.metaContexts());
        client.selectMetaContexts(List.of("base:allocation", "x-test:two"));
        ConfigException e = assertThrows(Transition.Refused.class, () ->
                transition().to(spec("--filter=a", "--filter=b", "disk", "65536"), Transition.OnBroken.REFUSE));
        assertTrue(e.getMessage().contains("was promised meta context x-test:two"), e.getMessage());
        assertEquals(List.of("base:allocation", "x-test:one", "x-test:two"), export.metaContexts(), "the filter came back");
    }

    @Test
    void forcedTheChangeIsMadeAndTheClientDisconnected() throws Exception {
        transition().to(spec("--filter=half", "--filter=a", "--filter=b", "disk", "65536"), Transition.OnBroken.DISCONNECT);
        assertTrue(events.contains("disconnected: export 'x' changed: no longer offers size 65536 (would be 32768)"), events.toString());
        assertEquals("--filter=half --filter=a --filter=b disk 65536", export.spec().describe());
    }

    @Test
    void parkingKeepsTheLayersBelowAndResumingBuildsOnlyTheOnesAbove() throws Exception {
        transition().park(catalog.filter("b"), "waiting for filter 'b'");
        assertEquals(List.of("close a handle", "close b handle", "hand over a", "hand over b", "close a", "close b"), events);
        assertEquals(ExportState.PARKED, export.state());
        assertTrue(export.gate().isClosed(), "requests wait");

        events.clear();
        transition().to(export.spec(), Transition.OnBroken.DISCONNECT);
        assertEquals(List.of("create b {} from b state", "create a {} from a state", "open b", "open a"), events,
                "the disk kept its instance and the client's handle");
        assertEquals(ExportState.RUNNING, export.state());
        assertTrue(!export.gate().isClosed());
        assertEquals(9, readByte(100));
    }

    @Test
    void aFailedStartLeavesNothingRunning() throws Exception {
        Export fresh = new Export(spec("disk", "huge"), false, () -> true, 1000);
        ConfigException e = assertThrows(ConfigException.class, () ->
                new Transition(fresh, catalog, pool).to(fresh.spec(), Transition.OnBroken.REFUSE));
        assertEquals("disk: size: cannot parse size 'huge'", e.getMessage());
        assertEquals(ExportState.FAILED, fresh.state());
        assertSame(null, fresh.chain());
    }
}
