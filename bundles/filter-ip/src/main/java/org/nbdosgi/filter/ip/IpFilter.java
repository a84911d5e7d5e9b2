package org.nbdosgi.filter.ip;

import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Peer;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Component;

/**
 * {@code --filter=ip}: admits or refuses clients by where they connect from, with nbdkit's
 * parameters and rules: a client matching {@code allow} is admitted, else one matching
 * {@code deny} is refused, else admitted. The check runs when a client opens the export (its
 * NBD_OPT_GO), and a refused client gets NBD_REP_ERR_POLICY. Control plane (rules) and the
 * connection's handshake (the check; no state, no lock).
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=ip")
public final class IpFilter implements Filter {
    @Override
    public String name() {
        return "ip";
    }

    @Override
    public String description() {
        return "allows or denies clients by IP address or network, or by Unix socket peer uid, gid or pid";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("allow", "comma-separated rules; a client matching one is admitted"),
                Parameter.of("deny", "comma-separated rules; a client matching one (and no allow rule) is refused"));
    }

    @Override
    public String help() {
        return """
                Rules: all, allipv4, allipv6, allunix (also any...), A.B.C.D, A.B.C.D/NN, an IPv6
                address, IPV6/NN, and over a Unix socket uid:UID, gid:GID, pid:PID.
                Examples:
                  nbd-osgi --filter=ip memory 1G allow=127.0.0.1,::1 deny=all
                  nbd-osgi -U /tmp/sock --filter=ip memory 1G allow=uid:1000 deny=all""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        List<IpRule> allow = rules(config.get("allow", ""));
        List<IpRule> deny = rules(config.get("deny", ""));
        return client -> {
            check(client, allow, deny);
            return next.open(client);
        };
    }

    static List<IpRule> rules(String list) throws ConfigException {
        List<IpRule> out = new ArrayList<>();
        for (String r : list.split(",")) {
            if (!r.isBlank()) {
                out.add(IpRule.parse(r));
            }
        }
        return List.copyOf(out);
    }

    /** Refuses a client that matches no allow rule and some deny rule. Handles the server opens for itself pass. */
    static void check(ClientContext client, List<IpRule> allow, List<IpRule> deny) throws NbdException {
        if (client.connectionId() <= 0) {
            return;
        }
        Peer peer = client.peer();
        for (IpRule r : allow) {
            if (r.matches(peer)) {
                return;
            }
        }
        for (IpRule r : deny) {
            if (r.matches(peer)) {
                throw new NbdException(NbdError.EPERM, "ip: client " + describe(client) + " refused");
            }
        }
    }

    private static String describe(ClientContext client) {
        Peer p = client.peer();
        if (p.unixSocket()) {
            return "on a Unix socket (uid " + p.uid() + ", gid " + p.gid() + ", pid " + p.pid() + ")";
        }
        return p.address() == null ? client.clientAddress() : p.address().getHostAddress();
    }
}
