package org.nbdosgi.engine.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.engine.server.Engine;
import org.nbdosgi.tls.TlsAuthorization;
import org.nbdosgi.tls.TlsException;
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
 * every export name no other export has; without a catch-all export, unknown names are refused),
 * {@code tls.allow} (the client identities allowed on the export, separated by {@code ;}:
 * {@code psk:NAME}, {@code subject:DN}, {@code dns:NAME}...; the export then needs TLS); every other
 * key without a dot is a parameter of the chain. Editing the file rewires the export live (a new
 * allow-list applies to clients that connect from then on); deleting it removes the export.
 * Control plane.
 */
@Component(configurationPid = ConfiguredExport.FACTORY_PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
public final class ConfiguredExport {
    public static final String FACTORY_PID = "org.nbdosgi.export";
    private static final Logger LOG = LoggerFactory.getLogger(ConfiguredExport.class);
    public static final String CATCH_ALL = "catchall";
    private static final List<String> RESERVED = List.of("name", "plugin", "filters", "readonly", CATCH_ALL);
    static final String TLS_ALLOW = "tls.allow";

    @Reference
    private Engine engine;

    private String name;

    @Activate
    void activate(Map<String, Object> props) {
        try {
            ExportSpec spec = specOf(props);
            List<String> allowed = allowList(props);
            name = spec.name();
            engine.allowList(name, allowed);                // before any client can reach the export
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
            List<String> allowed = allowList(props);
            if (name != null && !name.equals(spec.name())) {
                deactivate();
            }
            name = spec.name();
            engine.allowList(name, allowed);
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
            engine.allowList(name, List.of());
        }
    }

    /** The {@code tls.allow} identities; a bad one refuses the whole configuration, so it never opens an export. */
    static List<String> allowList(Map<String, Object> props) throws ConfigException {
        Object v = props.get(TLS_ALLOW);
        try {
            return TlsAuthorization.parseList(v == null ? null : v.toString(), TLS_ALLOW);
        } catch (TlsException e) {
            throw new ConfigException(e.getMessage());
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
