package com.example.nbd.pattern;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.service.component.annotations.Component;

/** {@code pattern [size=]SIZE [text=TEXT]}: a read-only disk whose bytes repeat TEXT from offset 0. */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=pattern")
public final class PatternPlugin implements Plugin {

    @Override
    public String name() {
        return "pattern";
    }

    @Override
    public String description() {
        return "a read-only disk whose bytes repeat a text";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.required("size", "virtual size, e.g. 1M"),
                Parameter.of("text", "what the disk repeats (default 'nbd-osgi ')"));
    }

    @Override
    public String magicParameter() {
        return "size";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        long size = config.size("size", -1);
        byte[] text = config.get("text", "nbd-osgi ").getBytes(StandardCharsets.UTF_8);
        if (text.length == 0) {
            throw new ConfigException("text: must not be empty");
        }
        return client -> new PatternHandle(size, text);
    }

    /** Stateless: every byte is computed from its offset. */
    private record PatternHandle(long size, byte[] text) implements Handle {
        @Override
        public boolean isNonBlocking() {
            return true;
        }

        @Override
        public void read(ByteBuffer buf, long offset, int flags) {
            for (int i = buf.position(); i < buf.limit(); i++) {
                buf.put(i, text[(int) ((offset + i - buf.position()) % text.length)]);
            }
        }
    }
}
