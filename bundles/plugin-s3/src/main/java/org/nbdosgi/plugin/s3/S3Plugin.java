package org.nbdosgi.plugin.s3;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.service.component.annotations.Component;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code s3 bucket=B key=K [endpoint=URL] [size=N [object-size=M]] ...}: a disk stored in an
 * S3-compatible object store, one object per {@code object-size} bytes, through the AWS SDK for
 * Java v2's asynchronous client (embedded in this bundle). Control plane: opening the disk.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=s3")
public final class S3Plugin implements Plugin {
    private static final Logger LOG = LoggerFactory.getLogger(S3Plugin.class);

    @Override
    public String name() {
        return "s3";
    }

    @Override
    public String description() {
        return "a disk in an S3-compatible object store, many requests in flight";
    }

    @Override
    public List<Parameter> parameters() {
        return S3Settings.parameters();
    }

    @Override
    public String help() {
        return """
                A new disk needs size= (and optionally object-size=); its shape is recorded in KEY/nbd-osgi.properties,
                so later opens need only bucket= and key=. Credentials: access-key= and secret-key=, or the SDK's chain
                (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws/credentials and AWS_PROFILE, ...).
                Examples:
                  nbd-osgi s3 endpoint=http://127.0.0.1:9000 bucket=disks key=vm1 size=20G access-key=AK secret-key=+/run/sk
                  nbd-osgi -r s3 endpoint=http://127.0.0.1:9000 bucket=disks key=vm1      (another process, read-only)
                  nbd-osgi -r s3 bucket=images key=fedora.raw                           (one object, read-only)""";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        Optional<Object> inherited = export.inheritedState();
        S3Settings settings = S3Settings.parse(config);
        ObjectStore store = new ObjectStore(settings, export.exportName().isEmpty() ? "default" : export.exportName());
        try {
            Geometry geometry = HandOver.geometry(inherited, settings).orElse(null);
            if (geometry == null) {
                geometry = open(store, settings, export.readOnly());
            }
            LOG.debug("{}: {} bytes in objects of {} bytes", settings.where(), geometry.size(), geometry.objectSize());
            return new S3Disk(store, settings, geometry);
        } catch (ConfigException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** Reads the disk's description, creates the disk when there is none and size= asks for it, or finds one object. */
    private static Geometry open(ObjectStore store, S3Settings s, boolean readOnly) throws ConfigException {
        String metadata = Geometry.metadataKey(s.key());
        ByteBuffer bytes = ByteBuffer.allocate(4096);
        ObjectStore.Got got = ObjectStore.awaitConfig(store.get(metadata, 0, new ObjectStore.Sink(bytes)));
        if (got.found()) {
            Geometry g = Geometry.decode(s.where(), bytes.limit((int) got.received()));
            if (s.size() != -1 && s.size() != g.size()) {
                throw new ConfigException("size: the disk at " + s.where() + " has " + g.size() + " bytes, not " + s.size() + " (it cannot be resized)");
            }
            if (s.objectSize() != -1 && s.objectSize() != g.objectSize()) {
                throw new ConfigException("object-size: the disk at " + s.where() + " has objects of " + g.objectSize() + " bytes, not " + s.objectSize());
            }
            return g;
        }
        if (s.size() != -1) {
            if (readOnly) {
                throw new ConfigException("size: there is no disk at " + s.where() + " to serve, and a read-only export does not create one");
            }
            Geometry g = new Geometry(s.size(), (int) (s.objectSize() == -1 ? S3Settings.DEFAULT_OBJECT_SIZE : s.objectSize()), false);
            if (ObjectStore.awaitConfig(store.create(metadata, g.encode()))) {
                LOG.info("{}: created a disk of {} bytes in objects of {} bytes", s.where(), g.size(), g.objectSize());
                return g;
            }
            return open(store, s, readOnly);                           // another process created it just now: take its shape
        }
        long single = ObjectStore.awaitConfig(store.size(s.key()));
        if (single >= 0) {
            return new Geometry(single, S3Settings.DEFAULT_OBJECT_SIZE, true);
        }
        throw new ConfigException("no disk at " + s.where() + " (no " + Geometry.METADATA + " and no object " + s.key() + "): give size= to create one");
    }
}
