package org.nbdosgi.engine.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.common.buffers.BufferPool;

class ChainTest {
    final TestLayers t = new TestLayers();
    final List<String> events = t.events;
    final BufferPool pool = new BufferPool();
    final HandleRegistry handles = new HandleRegistry();
    final Catalog abDisk = TestLayers.catalog(List.of(t.new DiskPlugin(), t.new DiskPlugin("other")),
            t.new TagFilter("a"), t.new TagFilter("b"));

    static ExportSpec spec(String... args) throws ConfigException {
        return ExportSpec.parse("x", false, List.of(args));
    }

    /** The chain of {@code spec} built from nothing. */
    Chain build(ExportSpec spec, Catalog catalog) throws ConfigException {
        return Chain.build(Chain.EMPTY.plan(spec, catalog), Chain.HandedOver.none(), Optional.empty(), handles, pool);
    }

    Chain chain(String... args) throws ConfigException {
        Chain chain = build(spec(args), abDisk);
        events.clear();
        return chain;
    }

    @Test
    void parametersGoToTheFirstLayerThatDeclaresThem() throws Exception {
        Catalog c = TestLayers.catalog(List.of(t.new DiskPlugin()), t.new TagFilter("a", ThreadModel.PARALLEL),
                t.new TagFilter("b", ThreadModel.SERIALIZE_REQUESTS));
        Chain chain = build(spec("--filter=a", "--filter=b", "disk", "4096", "b-alias=1", "mode=fast", "a-tag=2"), c);
        assertEquals(List.of("create disk {size=4096}", "create b {b-tag=1}", "create a {mode=fast, a-tag=2}"), events);
        assertEquals(ThreadModel.SERIALIZE_REQUESTS, chain.threadModel());

        events.clear();
        chain.probe("x", handles);
        assertEquals(List.of("open disk for -1", "open b", "open a", "close a handle", "close b handle", "close disk handle"), events,
                "the default export is opened and closed once, for its size");
        assertEquals(4096, chain.defaultSize());

        events.clear();
        handles.begin(7);
        Handle top = chain.open(new ClientContext("", false, "test", 7));
        top.write(ByteBuffer.allocateDirect(10), 0, 0);
        assertEquals(List.of("open disk for 7", "open b", "open a"), events);
        events.clear();
        handles.end(7);
        assertEquals(List.of("close a handle", "close b handle", "close disk handle"), events);
        events.clear();
        chain.close();
        assertEquals(List.of("close a", "close b", "close disk"), events);
    }

    @Test
    void theDefaultExportsSizeIsKnownOnceProbedAndUnknownWhenTheChainServesOnlyNames() throws Exception {
        Plugin named = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return new PluginInstance() {
                    public String defaultExport() {
                        return "big";
                    }

                    public Handle open(ClientContext client) throws java.io.IOException {
                        events.add("open " + client.exportName());
                        return switch (client.exportName()) {
                            case "big" -> new RecordingHandle(8192);
                            case "small" -> new RecordingHandle(512);
                            default -> throw new NbdException(NbdError.EINVAL, "no export '" + client.exportName() + "'");
                        };
                    }
                };
            }
        };
        Chain chain = build(spec("disk", "1"), TestLayers.catalog(List.of(named)));
        chain.probe("x", handles);
        assertEquals(List.of("open big"), events, "opened under the default export's canonical name");
        assertEquals("big", chain.defaultName());
        assertEquals(8192, chain.defaultSize());

        Plugin onlyNames = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> {
                    throw new NbdException(NbdError.EINVAL, "ask for a name");
                };
            }
        };
        Chain dir = build(spec("disk", "1"), TestLayers.catalog(List.of(onlyNames)));
        dir.probe("x", handles);
        assertEquals(-1, dir.defaultSize(), "a chain that refuses \"\" builds, its size unknown");
    }

    @Test
    void unknownNamesAndParametersAreOneLineAndRefusedBeforeAnythingChanges() {
        Catalog c = TestLayers.catalog(List.of(t.new DiskPlugin()), t.new TagFilter("a"));
        assertEquals("unknown plugin 'nope' (available: disk)", assertThrows(ConfigException.class, () ->
                Chain.EMPTY.plan(spec("nope"), c)).getMessage());
        assertEquals("unknown filter 'zz' (available: a)", assertThrows(ConfigException.class, () ->
                Chain.EMPTY.plan(spec("--filter=zz", "disk", "1"), c)).getMessage());
        assertEquals("unknown parameter 'colour' (a, disk accept: a-tag mode size mode)", assertThrows(ConfigException.class, () ->
                Chain.EMPTY.plan(spec("--filter=a", "disk", "1", "colour=red"), c)).getMessage());
        assertEquals("disk: size: this parameter is required", assertThrows(ConfigException.class, () ->
                Chain.EMPTY.plan(spec("disk"), c)).getMessage());
        assertEquals(List.of(), events);
        assertEquals("disk: size: cannot parse size 'huge'", assertThrows(ConfigException.class, () ->
                build(spec("disk", "huge"), c)).getMessage());
    }

    @Test
    void aRepeatableParameterGetsEveryValueAndOthersTheLast() throws Exception {
        Plugin headers = t.new DiskPlugin() {
            @Override
            public List<Parameter> parameters() {
                return List.of(Parameter.required("size", "bytes"), Parameter.repeatable("header", "a header"));
            }
        };
        List<java.util.Map<String, String>> out = Chain.distribute(ExportSpec.parse("", false,
                List.of("disk", "1", "header=A: 1", "header=B: 2", "header=C: 3")), List.of(), headers, SecretValues.withoutStandardInput());
        assertEquals(List.of("A: 1", "B: 2", "C: 3"), new Config(out.get(0)).all("header"));
        assertEquals(List.of(), new Config(out.get(0)).all("other"));
        // nbdkit: a parameter given twice keeps its last value
        assertEquals("2", Chain.distribute(ExportSpec.parse("", false, List.of("disk", "size=1", "header=A: 1", "size=2")),
                List.of(), headers, SecretValues.withoutStandardInput()).get(0).get("size"));
    }

    @Test
    void aFailingLayerClosesTheOnesAlreadyCreatedAndHandsTheirStateBack() throws Exception {
        Filter failing = t.new TagFilter("f") {
            @Override
            public FilterInstance create(Config config, ExportContext export, Layer next) {
                throw new IllegalStateException("cannot");
            }
        };
        Chain.HandedOver states = Chain.HandedOver.none();
        ConfigException e = assertThrows(ConfigException.class, () -> Chain.build(Chain.EMPTY.plan(spec("--filter=f", "disk", "1"),
                TestLayers.catalog(List.of(t.new DiskPlugin()), failing)), states, Optional.empty(), handles, pool));
        assertEquals("f: failed to start: java.lang.IllegalStateException: cannot", e.getMessage());
        assertEquals(List.of("create disk {size=1}", "hand over disk", "close disk"), events);
        assertEquals(Optional.of("disk pages"), states.get("disk", 0));
    }

    @Test
    void aPlanKeepsTheBottomLayersThatStayTheSame() throws Exception {
        Chain chain = chain("--filter=a", "--filter=b", "disk", "1");
        assertEquals(3, chain.plan(spec("--filter=a", "--filter=b", "disk", "1"), abDisk).kept(), "nothing changes");
        assertEquals(3, chain.plan(spec("--filter=b", "--filter=a", "--filter=b", "disk", "1"), abDisk).kept(), "one more above");
        assertEquals(2, chain.plan(spec("--filter=b", "disk", "1"), abDisk).kept(), "the top one removed");
        assertEquals(1, chain.plan(spec("--filter=a", "--filter=b", "disk", "1", "b-tag=2"), abDisk).kept(), "b's parameters change");
        assertEquals(2, chain.plan(spec("--filter=a", "--filter=b", "--filter=b", "disk", "1"), abDisk).kept(),
                "one inserted in the middle: what is below it stays");
        assertEquals(0, chain.plan(spec("--filter=a", "--filter=b", "disk", "2"), abDisk).kept(), "the plugin's parameters change");
        assertEquals(0, chain.plan(ExportSpec.parse("x", true, List.of("--filter=a", "--filter=b", "disk", "1")), abDisk).kept(),
                "read-only changes everything");
        assertEquals(List.of(), events);
    }

    @Test
    void buildingOverKeptLayersCreatesOnlyTheNewOnesAndTheirStateComesFromThePredecessors() throws Exception {
        Chain chain = chain("--filter=a", "--filter=b", "disk", "1");
        Chain.Plan plan = chain.plan(spec("--filter=b", "--filter=a", "--filter=b", "disk", "1", "a-tag=3"), abDisk);
        assertEquals(2, plan.kept());
        Chain.HandedOver states = chain.dismantleAbove(plan.kept(), plan);
        assertEquals(List.of("hand over a", "close a"), events, "a is a#0 in the new chain too: it hands over");
        events.clear();
        Chain next = Chain.build(plan, states, Optional.empty(), handles, pool);
        assertEquals(List.of("create a {a-tag=3} from a state", "create b {}"), events);
        assertEquals(List.of("b", "a", "b", "disk"), next.info().stream().map(l -> l.name()).toList());
    }

    @Test
    void aRewireClosesTheFiltersTheNewChainLacksBeforeTheLayersBelowHandOver() throws Exception {
        Chain chain = chain("--filter=a", "--filter=b", "--filter=a", "disk", "1");
        Chain.Plan plan = chain.plan(spec("--filter=a", "disk", "2"), abDisk);
        Chain.HandedOver states = chain.dismantleAbove(plan.kept(), plan);
        assertEquals(List.of("hand over a", "close a", "close b", "close a", "hand over disk", "close disk"), events,
                "the first a stays (occurrence 0); b and the second a are closed, outermost first, before disk hands over");
        assertEquals(Optional.of("a state"), states.get("a", 0));
        assertEquals(Optional.empty(), states.get("a", 1));
        assertEquals(Optional.empty(), states.get("b", 0));
        assertEquals(Optional.of("disk pages"), states.get("disk", 0));
    }

    @Test
    void removingTheTopFilterClosesItAloneAndTheLayersBelowStayOpen() throws Exception {
        Chain chain = chain("--filter=a", "--filter=b", "disk", "1");
        Chain.Plan plan = chain.plan(spec("--filter=b", "disk", "1"), abDisk);
        chain.dismantleAbove(plan.kept(), plan);
        assertEquals(List.of("close a"), events);
    }

    @Test
    void thePluginHandsOverEvenWhenReplacedAndParkingHandsOverEverything() throws Exception {
        Chain chain = chain("--filter=a", "disk", "1");
        chain.dismantleAbove(0, chain.plan(spec("--filter=a", "other", "1"), abDisk));
        assertEquals(List.of("hand over a", "hand over disk", "close a", "close disk"), events,
                "a refused change rebuilds the old chain from the plugin's state");
        events.clear();
        Chain parked = chain("--filter=a", "--filter=b", "disk", "1");
        assertEquals(1, parked.keptWithout(abDisk.filter("b")));
        parked.dismantleAbove(1, null);
        assertEquals(List.of("hand over a", "hand over b", "close a", "close b"), events, "the disk below stays");
    }

    @Test
    void emulationHappensAboveThePluginSoAFilterSeesTheRequestTheClientSent() throws Exception {
        RecordingHandle disk = new RecordingHandle(1 << 20);
        disk.cache = org.nbdosgi.api.Support.EMULATE;
        Plugin plugin = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> disk;
            }
        };
        Filter seeing = t.new TagFilter("seeing") {
            @Override
            protected Handle handle(Handle below, Config config) {
                return new org.nbdosgi.api.FilterHandle(below) {
                    @Override
                    public void write(ByteBuffer buf, long offset, int flags) throws java.io.IOException {
                        events.add("filter: write flags=" + flags);
                        next.write(buf, offset, flags);
                    }

                    @Override
                    public void zero(long offset, long length, int flags) throws java.io.IOException {
                        events.add("filter: zero " + offset + "+" + length);
                        next.zero(offset, length, flags);
                    }

                    @Override
                    public void cache(long offset, long length, int flags) throws java.io.IOException {
                        events.add("filter: cache " + offset + "+" + length);
                        next.cache(offset, length, flags);
                    }
                };
            }
        };
        Chain chain = build(spec("--filter=seeing", "disk", "1"), TestLayers.catalog(List.of(plugin), seeing));
        handles.begin(3);
        Boundary top = chain.open(new ClientContext("", false, "test", 3));
        assertEquals(org.nbdosgi.api.Support.NATIVE, top.canZero(), "the filter passed zero through: it is offered");
        events.clear();
        top.zero(0, 4096, 0);
        top.write(ByteBuffer.allocateDirect(512), 0, org.nbdosgi.api.Flags.FUA);
        top.cache(0, 8192, 0);
        assertEquals(List.of("filter: zero 0+4096", "filter: write flags=1", "filter: cache 0+8192"), events,
                "the filter gets zero, FUA and cache as sent, though the plugin does none of them");
        assertEquals(List.of("write 0+4096 flags=0", "write 0+512 flags=0", "flush", "read 0+8192"), disk.calls,
                "the plugin gets them emulated");
    }

    @Test
    void aPluginLendsItsBytesOnlyWhereNoFilterStandsBetween() throws Exception {
        RecordingHandle disk = new RecordingHandle(1 << 20) {
            @Override
            public ByteBuffer[] lend(long offset, int length, int flags) {
                return new ByteBuffer[] {ByteBuffer.wrap(this.disk, (int) offset, length)};
            }
        };
        disk.disk[70_000] = 5;
        Plugin plugin = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> disk;
            }
        };
        Filter plusOne = t.new TagFilter("plusone") {
            @Override
            protected Handle handle(Handle below, Config config) {
                return new FilterHandle(below) {
                    @Override
                    public void read(ByteBuffer buf, long offset, int flags) throws java.io.IOException {
                        next.read(buf, offset, flags);
                        for (int i = buf.position(); i < buf.limit(); i++) {
                            buf.put(i, (byte) (buf.get(i) + 1));
                        }
                    }
                };
            }
        };
        Catalog catalog = TestLayers.catalog(List.of(plugin), plusOne);
        handles.begin(1);
        Boundary bare = build(spec("disk", "1"), catalog).open(new ClientContext("", false, "test", 1));
        ByteBuffer[] views = bare.lend(65_536, 65_536, 0);
        assertEquals(5, views[0].get(views[0].position() + 70_000 - 65_536), "the plugin's own bytes");

        handles.begin(2);
        Boundary filtered = build(spec("--filter=plusone", "disk", "1"), catalog).open(new ClientContext("", false, "test", 2));
        assertEquals(null, filtered.lend(65_536, 65_536, 0), "a filter that changes reads is never bypassed");
        ByteBuffer read = ByteBuffer.allocateDirect(65_536);
        filtered.read(read, 65_536, 0);
        assertEquals(6, read.get(70_000 - 65_536));
    }

    @Test
    void aPluginThatBlocksInTheKernelGetsPlatformWorkersAndCachedWritesUnlessAFilterWaitsOnItsOwn() throws Exception {
        Plugin plugin = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> new RecordingHandle(4096) {
                    @Override
                    public boolean blocksInKernel() {
                        return true;
                    }

                    @Override
                    public boolean writesToCache(long offset, long length, int flags) {
                        return length == 4096;
                    }

                    @Override
                    public boolean readCached(ByteBuffer buf, long offset, int flags) {
                        return offset == 0;
                    }
                };
            }
        };
        Filter counting = t.new TagFilter("counting") {
            @Override
            protected Handle handle(Handle below, Config config) {
                return new FilterHandle(below) {
                    @Override
                    public boolean blocksInKernel() throws java.io.IOException {
                        return next.blocksInKernel();
                    }

                    @Override
                    public boolean writesToCache(long offset, long length, int flags) throws java.io.IOException {
                        return next.writesToCache(offset, length, flags);
                    }

                    @Override
                    public boolean readCached(ByteBuffer buf, long offset, int flags) throws java.io.IOException {
                        return next.readCached(buf, offset, flags);
                    }
                };
            }
        };
        Catalog catalog = TestLayers.catalog(List.of(plugin), t.new TagFilter("a"), counting);
        handles.begin(1);
        Handle bare = build(spec("disk", "1"), catalog).open(new ClientContext("", false, "test", 1));
        assertTrue(bare.blocksInKernel());
        assertTrue(bare.writesToCache(0, 4096, 0));
        assertEquals(false, bare.writesToCache(0, 512, 0), "the plugin's answer, per write");
        assertTrue(bare.readCached(ByteBuffer.allocateDirect(512), 0, 0));
        assertEquals(false, bare.readCached(ByteBuffer.allocateDirect(512), 512, 0), "the plugin's answer, per read");
        handles.begin(2);
        Handle counted = build(spec("--filter=counting", "disk", "1"), catalog).open(new ClientContext("", false, "test", 2));
        assertTrue(counted.blocksInKernel(), "a filter that passes it through");
        assertTrue(counted.writesToCache(0, 4096, 0), "a filter that passes it through");
        assertTrue(counted.readCached(ByteBuffer.allocateDirect(512), 0, 0), "a filter that passes it through");
        handles.begin(3);
        Handle filtered = build(spec("--filter=a", "disk", "1"), catalog).open(new ClientContext("", false, "test", 3));
        assertEquals(false, filtered.blocksInKernel(),
                "FilterHandle's default: the filter may sleep or wait for the network, cheap on a virtual thread");
        assertEquals(false, filtered.writesToCache(0, 4096, 0), "nor does it promise a write that never waits");
        assertEquals(false, filtered.readCached(ByteBuffer.allocateDirect(512), 0, 0), "or a read");
    }

    @Test
    void aFilterCanReopenTheLayersBelowForItsClient() throws Exception {
        Layer[] next = new Layer[1];
        Handle[] below = new Handle[1];
        Filter retrying = t.new TagFilter("r") {
            @Override
            protected Handle handle(Handle b, Config config) throws java.io.IOException {
                below[0] = b;
                return super.handle(b, config);
            }

            @Override
            public FilterInstance create(Config config, ExportContext export, Layer n) {
                next[0] = n;
                return super.create(config, export, n);
            }
        };
        Chain chain = build(spec("--filter=r", "disk", "1"), TestLayers.catalog(List.of(t.new DiskPlugin()), retrying));
        handles.begin(7);
        chain.open(new ClientContext("", false, "test", 7));
        events.clear();
        ClientContext client = new ClientContext("", false, "test", 7);
        Handle fresh = next[0].reopen(below[0], client);
        assertEquals(List.of("close disk handle", "open disk for 7"), events, "the old handle closes, a new one opens for the same client");
        assertTrue(fresh != below[0]);
        assertThrows(IllegalArgumentException.class, () -> next[0].reopen(below[0], client), "replaced already");
        events.clear();
        handles.end(7);
        assertEquals(List.of("close r handle", "close disk handle"), events, "the new handle closes with the connection, the old not again");
    }

    @Test
    void sharedHandlesCloseAfterTheirFilter() throws Exception {
        Filter sharing = new Filter() {
            public String name() {
                return "s";
            }

            public String description() {
                return "";
            }

            public List<Parameter> parameters() {
                return List.of();
            }

            public FilterInstance create(Config config, ExportContext export, Layer next) {
                try {
                    next.open(new ClientContext("", false, "s", 0));
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
                return new FilterInstance() {
                    public Handle open(ClientContext client) throws java.io.IOException {
                        return next.open(client);
                    }

                    public void close() {
                        events.add("close s");
                    }
                };
            }
        };
        Chain chain = build(spec("--filter=s", "disk", "1"), TestLayers.catalog(List.of(t.new DiskPlugin()), sharing));
        events.clear();
        chain.close();
        assertEquals(List.of("close s", "close disk handle", "close disk"), events);
    }

    /** A filter whose handle can reopen the layers below, as the retry filter does. */
    class ReopeningFilter extends TestLayers.TagFilter {
        Handle below;
        ClientContext client;
        Layer next;

        ReopeningFilter() {
            t.super("r", ThreadModel.PARALLEL);
        }

        @Override
        public FilterInstance create(Config config, ExportContext export, Layer next) {
            this.next = next;
            return new FilterInstance() {
                public Handle open(ClientContext c) throws java.io.IOException {
                    client = c;
                    below = next.open(c);
                    events.add("open r");
                    return new FilterHandle(below) {
                        @Override
                        public void close() {
                            events.add("close r handle");
                        }
                    };
                }
            };
        }

        void reopen() throws java.io.IOException {
            below = next.reopen(below, client);
        }
    }

    @Test
    void aReopenReplacesTheHandlesBelowInPlaceSoTheConnectionStillClosesTopFirst() throws Exception {
        ReopeningFilter r = new ReopeningFilter();
        int[] opens = {0};
        Plugin flaky = t.new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> {
                    events.add("open disk for " + client.connectionId());
                    if (++opens[0] == 3) {                  // the connection, the first reopen, then this
                        throw new NbdException(NbdError.EIO, "upstream down");
                    }
                    return new RecordingHandle(4096) {
                        @Override
                        public void close() {
                            events.add("close disk handle");
                        }
                    };
                };
            }
        };
        Chain chain = build(spec("--filter=a", "--filter=r", "--filter=b", "disk", "1"),
                TestLayers.catalog(List.of(flaky), t.new TagFilter("a"), r, t.new TagFilter("b")));
        handles.begin(7);
        chain.open(new ClientContext("", false, "test", 7));
        events.clear();

        r.reopen();
        assertEquals(List.of("close b handle", "close disk handle", "open disk for 7", "open b"), events);
        events.clear();
        assertThrows(NbdException.class, r::reopen, "the disk refuses to open");
        assertEquals(List.of("close b handle", "close disk handle", "open disk for 7"), events, "closed, then the open failed");
        events.clear();
        assertEquals(4096, r.below.size(), "the closed handle still answers what it knew");
        r.reopen();
        assertEquals(List.of("open disk for 7", "open b"), events, "the closed handle is not closed twice");
        events.clear();

        handles.end(7);
        assertEquals(List.of("close a handle", "close r handle", "close b handle", "close disk handle"), events);
        assertThrows(IllegalArgumentException.class, r::reopen, "the connection's handles are gone");
        chain.close();
    }
}
