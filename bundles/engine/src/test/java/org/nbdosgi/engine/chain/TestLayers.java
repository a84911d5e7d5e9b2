package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;

/**
 * Plugins and filters for engine tests that write what happens to them into one event list:
 * a "disk" plugin (byte-array handles, state handed over as "disk pages") and tag filters.
 */
public final class TestLayers {
    public final List<String> events = new CopyOnWriteArrayList<>();
    /** Every handle a disk plugin opened, in order. */
    public final List<RecordingHandle> disks = new CopyOnWriteArrayList<>();

    /** The disk plugin: {@code size} (magic), {@code mode}. */
    public class DiskPlugin implements Plugin {
        private final String name;

        public DiskPlugin() {
            this("disk");
        }

        public DiskPlugin(String name) {
            this.name = name;
        }

        public String name() {
            return name;
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
            events.add("create " + name + " " + config.asMap() + export.inheritedState().map(s -> " from " + s).orElse(""));
            return new PluginInstance() {
                public Handle open(ClientContext client) {
                    events.add("open " + name + " for " + client.connectionId());
                    RecordingHandle h = new RecordingHandle((int) size) {
                        @Override
                        public void close() {
                            events.add("close " + name + " handle");
                        }
                    };
                    disks.add(h);
                    return h;
                }

                public Object handOver() {
                    events.add("hand over " + name);
                    return name + " pages";
                }

                public void close() {
                    events.add("close " + name);
                }
            };
        }
    }

    /** A filter that changes nothing, named {@code name}: parameters NAME-tag (alias NAME-alias) and mode. */
    public class TagFilter implements Filter {
        private final String name;
        private final ThreadModel model;
        private List<String> metaContexts;

        public TagFilter(String name, ThreadModel model) {
            this.name = name;
            this.model = model;
        }

        /** The filter also offers these meta contexts (beside the layer below's). */
        public TagFilter offering(String... contexts) {
            metaContexts = List.of(contexts);
            return this;
        }

        public TagFilter(String name) {
            this(name, ThreadModel.PARALLEL);
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

        /** The handle this filter opens over {@code below}. */
        protected Handle handle(Handle below, Config config) throws IOException {
            return new FilterHandle(below) {
                @Override
                public void close() {
                    events.add("close " + name + " handle");
                }
            };
        }

        public FilterInstance create(Config config, ExportContext export, Layer next) {
            events.add("create " + name + " " + config.asMap() + export.inheritedState().map(s -> " from " + s).orElse(""));
            return new FilterInstance() {
                public ThreadModel threadModel() {
                    return model;
                }

                public List<String> metaContexts() {
                    if (metaContexts == null) {
                        return null;
                    }
                    List<String> all = new java.util.ArrayList<>(next.metaContexts());
                    all.addAll(metaContexts);
                    return all;
                }

                public Handle open(ClientContext client) throws IOException {
                    Handle below = next.open(client);
                    events.add("open " + name);
                    return handle(below, config);
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

    public static Catalog catalog(List<Plugin> plugins, Filter... filters) {
        return new Catalog() {
            public Plugin plugin(String n) {
                return plugins.stream().filter(p -> p.name().equals(n)).findFirst().orElse(null);
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
                return plugins;
            }

            public Collection<Filter> filters() {
                return List.of(filters);
            }
        };
    }
}
