package org.nbdosgi.plugin.vddk;

import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code vddk [file=]FILE ...}: VMware disks (local .vmdk files, or disks on ESXi and vCenter)
 * through VMware's VDDK library, bound with JNA. Control plane.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=vddk")
public final class VddkPlugin implements Plugin {

    @Reference
    private VddkRuntime runtime;

    @Override
    public String name() {
        return "vddk";
    }

    @Override
    public String description() {
        return "VMware disks through VDDK (local .vmdk, ESXi, vCenter)";
    }

    @Override
    public List<Parameter> parameters() {
        return VddkSettings.parameters();
    }

    @Override
    public String magicParameter() {
        return "file";
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi vddk libdir=/opt/vmware-vix-disklib-distrib /absolute/path/to/disk.vmdk
                  nbd-osgi vddk libdir=/opt/vmware-vix-disklib-distrib server=esxi.example.com \\
                      thumbprint=xx:xx:...:xx user=root password=+/tmp/pw vm=moref=2 "[datastore1] vm/vm.vmdk"
                  nbd-osgi -U - vddk /abs/new.vmdk create=true create-size=10G --run 'qemu-img convert in.qcow2 $uri'""";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        VddkSettings settings = VddkSettings.parse(config);
        VixDiskLib lib = runtime.acquire(settings.libdir(), settings.config());
        try {
            VddkStats stats = new VddkStats();
            VddkInstance instance = new VddkInstance(export.exportName(), settings, runtime, lib, stats);
            runtime.register(export.exportName(), stats);
            return instance;
        } catch (ConfigException | RuntimeException e) {
            runtime.release(lib);
            throw e;
        }
    }
}
