package org.nbdosgi.plugin.nbd;

import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.service.component.annotations.Component;

/**
 * {@code nbd [uri=]URI | socket=PATH | hostname=HOST [port=PORT] ...}: proxies another NBD server
 * through libnbd, many requests in flight on each upstream connection. Control plane.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=nbd")
public final class NbdPlugin implements Plugin {

    @Override
    public String name() {
        return "nbd";
    }

    @Override
    public String description() {
        return "proxy to another NBD server (libnbd)";
    }

    @Override
    public List<Parameter> parameters() {
        return NbdSettings.parameters();
    }

    @Override
    public String magicParameter() {
        return "uri";
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi nbd nbd://server.example.com/disk
                  nbd-osgi nbd socket=/run/qemu-nbd.sock connections=4
                  nbd-osgi --filter=retry nbd hostname=server port=10810 tls=require tls-psk=/etc/nbd/keys.psk""";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        NbdSettings settings = NbdSettings.parse(config);
        try {
            LibNbd.load();
        } catch (LinkageError e) {
            Throwable why = e.getCause() != null ? e.getCause() : e;
            throw new ConfigException("cannot load libnbd (apt-get install libnbd0): " + why.getMessage(), e);
        }
        return new NbdInstance(settings, export.exportName());
    }
}
