package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.cli.Index;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.Version;
import org.osgi.framework.wiring.BundleWiring;

/**
 * Describes live plugin and filter services as {@link Index} entries: their own {@link Parameter}
 * declarations, descriptions and help, the bundle's version, jar and README, and the
 * {@code --dump-plugin} facts nbdkit derives from the callbacks a plugin defines ({@code has_pread}
 * ...), found here by which {@link Handle} methods the bundle's handle classes override. The build
 * writes the shipped index with this, and the command line uses it for bundles the index does not
 * know. Control plane.
 */
final class Describer {
    /** nbdkit's {@code has_*} name for each {@link Handle} method a plugin may define. */
    private static final Map<String, String> CALLBACKS = new LinkedHashMap<>();

    static {
        CALLBACKS.put("size", "get_size");
        CALLBACKS.put("blockSize", "block_size");
        CALLBACKS.put("canWrite", "can_write");
        CALLBACKS.put("canFlush", "can_flush");
        CALLBACKS.put("isRotational", "is_rotational");
        CALLBACKS.put("canTrim", "can_trim");
        CALLBACKS.put("canZero", "can_zero");
        CALLBACKS.put("canFastZero", "can_fast_zero");
        CALLBACKS.put("canExtents", "can_extents");
        CALLBACKS.put("canFua", "can_fua");
        CALLBACKS.put("canMultiConn", "can_multi_conn");
        CALLBACKS.put("canCache", "can_cache");
        CALLBACKS.put("read", "pread");
        CALLBACKS.put("write", "pwrite");
        CALLBACKS.put("flush", "flush");
        CALLBACKS.put("trim", "trim");
        CALLBACKS.put("zero", "zero");
        CALLBACKS.put("extents", "extents");
        CALLBACKS.put("cache", "cache");
    }

    private final Path home;

    Describer(Path home) {
        this.home = home;
    }

    Index index(Collection<Plugin> plugins, Collection<Filter> filters) {
        Index index = new Index();
        plugins.forEach(p -> index.add(plugin(p)));
        filters.forEach(f -> index.add(filter(f)));
        return index;
    }

    Index.Entry plugin(Plugin p) {
        Bundle bundle = FrameworkUtil.getBundle(p.getClass());
        return new Index.Entry(Index.Kind.PLUGIN, p.name(), p.description(), params(p.parameters()), p.magicParameter(),
                p.help(), version(bundle), path(bundle), readme(bundle), facts(bundle, p.getClass().getPackageName()));
    }

    Index.Entry filter(Filter f) {
        Bundle bundle = FrameworkUtil.getBundle(f.getClass());
        return new Index.Entry(Index.Kind.FILTER, f.name(), f.description(), params(f.parameters()), null, f.help(),
                version(bundle), path(bundle), readme(bundle), Map.of());
    }

    private static List<Index.Param> params(List<Parameter> declared) {
        return declared.stream().map(p -> new Index.Param(p.name(), p.help(), p.required(), p.repeatable(), p.aliases())).toList();
    }

    private static String version(Bundle bundle) {
        if (bundle == null) {
            return "";
        }
        Version v = bundle.getVersion();
        return v.getMajor() + "." + v.getMinor() + "." + v.getMicro();
    }

    /** The bundle's jar, relative to the installation when it lies inside it. */
    private String path(Bundle bundle) {
        if (bundle == null) {
            return "";
        }
        String location = bundle.getLocation().replaceFirst("^reference:", "");
        try {
            Path jar = Path.of(URI.create(location));
            return jar.startsWith(home) ? home.relativize(jar).toString() : jar.toString();
        } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            return location;
        }
    }

    private static String readme(Bundle bundle) {
        java.net.URL url = bundle == null ? null : bundle.getEntry("README.md");
        if (url == null) {
            return "";
        }
        try (InputStream in = url.openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * {@code thread_model} when no instance class chooses its own (then it is parallel), and
     * {@code has_X=1} for each callback a handle class of the plugin's package defines.
     */
    private static Map<String, String> facts(Bundle bundle, String pkg) {
        Map<String, String> facts = new LinkedHashMap<>();
        List<Class<?>> classes = classes(bundle, pkg);
        boolean ownModel = classes.stream().filter(PluginInstance.class::isAssignableFrom)
                .anyMatch(c -> declaredBeyond(c, PluginInstance.class, "threadModel"));
        if (!ownModel) {
            facts.put("thread_model", "parallel");
        }
        for (Map.Entry<String, String> cb : CALLBACKS.entrySet()) {
            boolean defined = classes.stream().filter(Handle.class::isAssignableFrom)
                    .anyMatch(c -> declaredBeyond(c, Handle.class, cb.getKey()));
            if (defined) {
                facts.put("has_" + cb.getValue(), "1");
            }
        }
        return facts;
    }

    /** Whether {@code c} (or a superclass of its own) implements {@code method} rather than inheriting the default. */
    private static boolean declaredBeyond(Class<?> c, Class<?> api, String method) {
        for (Method m : c.getMethods()) {
            if (m.getName().equals(method) && m.getDeclaringClass() != api && isApiMethod(api, m)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isApiMethod(Class<?> api, Method m) {
        try {
            api.getMethod(m.getName(), m.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /**
     * The concrete classes of the plugin's package (and below) in its bundle, not those of libraries
     * it embeds; one that cannot load (an optional dependency missing) is skipped.
     */
    private static List<Class<?>> classes(Bundle bundle, String pkg) {
        List<Class<?>> out = new ArrayList<>();
        BundleWiring wiring = bundle == null ? null : bundle.adapt(BundleWiring.class);
        if (wiring == null) {
            return out;
        }
        for (String resource : wiring.listResources("/" + pkg.replace('.', '/'), "*.class",
                BundleWiring.LISTRESOURCES_RECURSE | BundleWiring.LISTRESOURCES_LOCAL)) {
            String name = resource.substring(0, resource.length() - ".class".length()).replace('/', '.');
            try {
                Class<?> c = bundle.loadClass(name);
                if (!c.isInterface() && !Modifier.isAbstract(c.getModifiers())) {
                    out.add(c);
                }
            } catch (ClassNotFoundException | LinkageError e) {
                // not loadable without an optional dependency: it defines no callback we could call
            }
        }
        return out;
    }
}
