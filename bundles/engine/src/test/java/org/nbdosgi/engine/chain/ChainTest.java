package org.nbdosgi.engine.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportSpec;
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
import org.nbdosgi.engine.protocol.BufferPool;

class ChainTest {
    final List<String> events = new ArrayList<>();

    class DiskPlugin implements Plugin {
        public String name() {
            return "disk";
        }

        public String description() {
            return "test disk";
        }

        public List<Parameter> parameters() {
            return List.of(Parameter.required("size", "bytes"), Parameter.of("mode", "a mode"));
        }

        public String magicParameter() {
            return "size";
        }

        public PluginInstance create(Config config, ExportContext export) throws ConfigException {
            long size = config.size("size", 0);
            events.add("create disk " + config.asMap());
            return new PluginInstance() {
                public Handle open(ClientContext client) {
                    events.add("open disk for " + client.connectionId());
                    return new RecordingHandle((int) size) {
                        @Override
                        public void close() {
                            events.add("close disk handle");
                        }
                    };
                }

                public Object handOver() {
                    events.add("hand over disk");
                    return "disk pages";
                }

                public void close() {
                    events.add("close disk");
                }
            };
        }
    }

    class TagFilter implements Filter {
        private final String name;
        private final ThreadModel model;

        TagFilter(String name, ThreadModel model) {
            this.name = name;
            this.model = model;
        }

        public String name() {
            return name;
        }

        public String description() {
            return "tags";
        }

        public List<Parameter> parameters() {
            return List.of(Parameter.of(name + "-tag", "a tag").withAliases(name + "-alias"), Parameter.of("mode", "shadows the plugin's"));
        }

        public FilterInstance create(Config config, ExportContext export, Layer next) {
            events.add("create " + name + " " + config.asMap());
            return new FilterInstance() {
                public ThreadModel threadModel() {
                    return model;
                }

                public Handle open(ClientContext client) throws java.io.IOException {
                    Handle below = next.open(client);
                    events.add("open " + name);
                    return new FilterHandle(below) {
                        @Override
                        public void close() {
                            events.add("close " + name + " handle");
                        }
                    };
                }

                public Object handOver() {
                    events.add("hand over " + name);
                    return name + " state";
                }

                public void close() {
                    events.add("close " + name);
                }
            };
        }
    }

    Catalog catalog(Plugin p, Filter... filters) {
        return new Catalog() {
            public Plugin plugin(String n) {
                return n.equals(p.name()) ? p : null;
            }

            public Filter filter(String n) {
                for (Filter f : filters) {
                    if (f.name().equals(n)) {
                        return f;
                    }
                }
                return null;
            }

            public Collection<Plugin> plugins() {
                return List.of(p);
            }

            public Collection<Filter> filters() {
                return List.of(filters);
            }
        };
    }

    @Test
    void parametersGoToTheFirstLayerThatDeclaresThem() throws Exception {
        ExportSpec spec = ExportSpec.parse("x", false, List.of("--filter=a", "--filter=b", "disk", "4096", "b-alias=1", "mode=fast", "a-tag=2"));
        Catalog c = catalog(new DiskPlugin(), new TagFilter("a", ThreadModel.PARALLEL), new TagFilter("b", ThreadModel.SERIALIZE_REQUESTS));
        HandleRegistry handles = new HandleRegistry();
        Chain chain = Chain.build(spec, c, Chain.HandedOver.none(), handles, new BufferPool());
        assertEquals(List.of("create disk {size=4096}", "create b {b-tag=1}", "create a {mode=fast, a-tag=2}",
                "open disk for -1", "open b", "open a", "close a handle", "close b handle", "close disk handle"), events,
                "the default export is opened and closed once, for its size");
        assertEquals(4096, chain.defaultSize());
        assertEquals(ThreadModel.SERIALIZE_REQUESTS, chain.threadModel());

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
    void theDefaultExportsSizeIsKnownOnceBuiltAndUnknownWhenTheChainServesOnlyNames() throws Exception {
        Plugin named = new DiskPlugin() {
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
        Chain chain = Chain.build(ExportSpec.parse("", false, List.of("disk", "1")), catalog(named), Chain.HandedOver.none(),
                new HandleRegistry(), new BufferPool());
        assertEquals(List.of("open big"), events, "opened under the default export's canonical name");
        assertEquals("big", chain.defaultName());
        assertEquals(8192, chain.defaultSize());

        Plugin onlyNames = new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> {
                    throw new NbdException(NbdError.EINVAL, "ask for a name");
                };
            }
        };
        Chain dir = Chain.build(ExportSpec.parse("", false, List.of("disk", "1")), catalog(onlyNames), Chain.HandedOver.none(),
                new HandleRegistry(), new BufferPool());
        assertEquals(-1, dir.defaultSize(), "a chain that refuses \"\" builds, its size unknown");
    }

    @Test
    void unknownNamesAndParametersAreOneLine() {
        Catalog c = catalog(new DiskPlugin(), new TagFilter("a", ThreadModel.PARALLEL));
        BufferPool pool = new BufferPool();
        assertEquals("unknown plugin 'nope' (available: disk)", assertThrows(ConfigException.class, () ->
                Chain.build(ExportSpec.parse("", false, List.of("nope")), c, Chain.HandedOver.none(), new HandleRegistry(), pool)).getMessage());
        assertEquals("unknown filter 'zz' (available: a)", assertThrows(ConfigException.class, () ->
                Chain.build(ExportSpec.parse("", false, List.of("--filter=zz", "disk", "1")), c, Chain.HandedOver.none(), new HandleRegistry(), pool)).getMessage());
        assertEquals("unknown parameter 'colour' (a, disk accept: a-tag mode size mode)", assertThrows(ConfigException.class, () ->
                Chain.build(ExportSpec.parse("", false, List.of("--filter=a", "disk", "1", "colour=red")), c, Chain.HandedOver.none(), new HandleRegistry(), pool)).getMessage());
        assertEquals("disk: size: this parameter is required", assertThrows(ConfigException.class, () ->
                Chain.build(ExportSpec.parse("", false, List.of("disk")), c, Chain.HandedOver.none(), new HandleRegistry(), pool)).getMessage());
        assertEquals("disk: size: cannot parse size 'huge'", assertThrows(ConfigException.class, () ->
                Chain.build(ExportSpec.parse("", false, List.of("disk", "huge")), c, Chain.HandedOver.none(), new HandleRegistry(), pool)).getMessage());
    }

    @Test
    void aRepeatableParameterGetsEveryValueAndOthersTheLast() throws Exception {
        Plugin headers = new DiskPlugin() {
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
    void aFailingLayerClosesTheOnesAlreadyCreated() throws Exception {
        Filter failing = new TagFilter("f", ThreadModel.PARALLEL) {
            @Override
            public FilterInstance create(Config config, ExportContext export, Layer next) {
                throw new IllegalStateException("cannot");
            }
        };
        ConfigException e = assertThrows(ConfigException.class, () -> Chain.build(ExportSpec.parse("", false,
                List.of("--filter=f", "disk", "1")), catalog(new DiskPlugin(), failing), Chain.HandedOver.none(),
                new HandleRegistry(), new BufferPool()));
        assertEquals("f: failed to start: java.lang.IllegalStateException: cannot", e.getMessage());
        assertEquals(List.of("create disk {size=1}", "hand over disk", "close disk"), events);
    }

    private Chain chain(String... args) throws ConfigException {
        Chain chain = Chain.build(ExportSpec.parse("x", false, List.of(args)), catalog(new DiskPlugin(),
                new TagFilter("a", ThreadModel.PARALLEL), new TagFilter("b", ThreadModel.PARALLEL)),
                Chain.HandedOver.none(), new HandleRegistry(), new BufferPool());
        events.clear();
        return chain;
    }

    @Test
    void aRewireClosesTheFiltersTheNewChainLacksBeforeTheLayersBelowHandOver() throws Exception {
        Chain chain = chain("--filter=a", "--filter=b", "--filter=a", "disk", "1");
        Chain.HandedOver states = chain.dismantle(ExportSpec.parse("x", false, List.of("--filter=a", "disk", "2")));
        assertEquals(List.of("hand over a", "close a", "close b", "close a", "hand over disk", "close disk"), events,
                "the first a stays (occurrence 0); b and the second a are closed, outermost first, before disk hands over");
        assertEquals(java.util.Optional.of("a state"), states.get("a", 0));
        assertEquals(java.util.Optional.empty(), states.get("a", 1));
        assertEquals(java.util.Optional.empty(), states.get("b", 0));
        assertEquals(java.util.Optional.of("disk pages"), states.get("disk", 0));
    }

    @Test
    void theRemovedFilterClosesWhileTheOnesBelowAreStillOpen() throws Exception {
        chain("--filter=a", "--filter=b", "disk", "1").dismantle(ExportSpec.parse("x", false, List.of("--filter=b", "disk", "1")));
        assertEquals(List.of("close a", "hand over b", "hand over disk", "close b", "close disk"), events);
    }

    @Test
    void thePluginHandsOverEvenWhenReplacedAndParkingHandsOverEverything() throws Exception {
        chain("--filter=a", "disk", "1").dismantle(ExportSpec.parse("x", false, List.of("--filter=a", "other")));
        assertEquals(List.of("hand over a", "hand over disk", "close a", "close disk"), events,
                "a refused change rebuilds the old chain from the plugin's state");
        events.clear();
        chain("--filter=a", "--filter=b", "disk", "1").dismantle();
        assertEquals(List.of("hand over a", "hand over b", "hand over disk", "close a", "close b", "close disk"), events);
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
        Chain chain = Chain.build(ExportSpec.parse("", false, List.of("--filter=s", "disk", "1")),
                catalog(new DiskPlugin(), sharing), Chain.HandedOver.none(), new HandleRegistry(), new BufferPool());
        events.clear();
        chain.close();
        assertEquals(List.of("close s", "close disk handle", "close disk"), events);
    }

    /** A filter whose handle can reopen the layers below, as the retry filter does. */
    class ReopeningFilter extends TagFilter {
        Handle below;
        ClientContext client;
        Layer next;

        ReopeningFilter() {
            super("r", ThreadModel.PARALLEL);
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
        Plugin flaky = new DiskPlugin() {
            @Override
            public PluginInstance create(Config config, ExportContext export) {
                return client -> {
                    events.add("open disk for " + client.connectionId());
                    if (++opens[0] == 4) {                  // the size probe, the connection, the first reopen, then this
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
        HandleRegistry handles = new HandleRegistry();
        Chain chain = Chain.build(ExportSpec.parse("x", false, List.of("--filter=a", "--filter=r", "--filter=b", "disk", "1")),
                catalog(flaky, new TagFilter("a", ThreadModel.PARALLEL), r, new TagFilter("b", ThreadModel.PARALLEL)),
                Chain.HandedOver.none(), handles, new BufferPool());
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
