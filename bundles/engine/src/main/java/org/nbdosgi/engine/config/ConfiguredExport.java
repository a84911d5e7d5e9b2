package org.nbdosgi.engine.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.engine.server.Engine;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One export per factory configuration {@value #FACTORY_PID} (FileInstall turns
 * {@code etc/org.nbdosgi.export-NAME.cfg} into one). Keys: {@code name}, {@code plugin},
 * {@code filters} (comma-separated, outermost first), {@code readonly}, {@code catchall} (also serve
 * every export name no other export has; without a catch-all export, unknown names are refused);
 * every other key without a dot is a parameter of the chain. Editing the file rewires the export live; deleting it removes
 * the export. Control plane.
 */
@Component(configurationPid = ConfiguredExport.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
public final class ConfiguredExport {
    public static final String FACTORY_PID = "org.nbdosgi.export";
    private static final Logger LOG = LoggerFactory.getLogger(ConfiguredExport.class);
    public static final String CATCH_ALL = "catchall";
    private static final List<String> RESERVED = List.of("name", "plugin", "filters", "readonly", CATCH_ALL);

    @Reference
    private Engine engine;

    private String name;

    @Activate
    void activate(Map<String, Object> props) {
        try {
            ExportSpec spec = specOf(props);
            name = spec.name();
            engine.addConfiguredExport(spec, catchAll(props));
        } catch (ConfigException e) {
            LOG.error("export configuration {}: {}", props.getOrDefault("felix.fileinstall.filename", props.get("service.pid")),
                    e.getMessage());
        }
    }

    /** An edited file: the same name rewires the export live; a new name replaces it. */
    @Modified
    void modified(Map<String, Object> props) {
        try {
            ExportSpec spec = specOf(props);
            if (name != null && !name.equals(spec.name())) {
                deactivate();
            }
            name = spec.name();
            engine.addConfiguredExport(spec, catchAll(props));
        } catch (ConfigException e) {
            LOG.error("export configuration {}: {}", props.getOrDefault("felix.fileinstall.filename", props.get("service.pid")),
                    e.getMessage());
        }
    }

    @Deactivate
    void deactivate() {
        if (name != null) {
            try {
                engine.removeExport(name);
            } catch (ConfigException e) {
                LOG.debug("export '{}' was already gone: {}", name, e.getMessage());
            }
        }
    }

    /** The export a configuration describes. */
    static ExportSpec specOf(Map<String, Object> props) throws ConfigException {
        Object plugin = props.get("plugin");
        if (plugin == null || plugin.toString().isBlank()) {
            throw new ConfigException("no 'plugin' key");
        }
        String name = props.getOrDefault("name", nameFromFile(props)).toString().trim();
        List<String> args = new ArrayList<>();
        for (String f : list(props.get("filters"))) {
            args.add("--filter=" + f);
        }
        args.add(plugin.toString().trim());
        Map<String, String> params = new LinkedHashMap<>();
        props.forEach((k, v) -> {
            if (!RESERVED.contains(k) && !k.contains(".")) {
                params.put(k, v.toString());
            }
        });
        params.forEach((k, v) -> args.add(k + "=" + v));
        boolean readOnly = Boolean.parseBoolean(String.valueOf(props.getOrDefault("readonly", "false")).trim());
        return ExportSpec.parse(name, readOnly, args);
    }

    static boolean catchAll(Map<String, Object> props) {
        return Boolean.parseBoolean(String.valueOf(props.getOrDefault(CATCH_ALL, "false")).trim());
    }

    /** {@code .../org.nbdosgi.export-NAME.cfg} names the export NAME when there is no name key. */
    private static String nameFromFile(Map<String, Object> props) {
        Object file = props.get("felix.fileinstall.filename");
        if (file == null) {
            return "";
        }
        String f = file.toString();
        f = f.substring(f.lastIndexOf('/') + 1).replaceFirst("\\.(cfg|config)$", "");
        int dash = f.indexOf('-');
        return dash < 0 ? "" : f.substring(dash + 1);
    }

    private static List<String> list(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof String[] a) {
            for (String s : a) {
                out.add(s.trim());
            }
        } else if (v != null) {
            for (String s : v.toString().split(",")) {
                if (!s.isBlank()) {
                    out.add(s.trim());
                }
            }
        }
        return out;
    }
}
