package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/** {@code config:list}, in Karaf's layout. */
final class ConfigList extends Command {
    private final ConfigurationAdmin admin;

    ConfigList(ConfigurationAdmin admin) {
        super("config", "list", "list the configurations, or those whose PID contains TEXT or that match an LDAP FILTER",
                "[TEXT|FILTER]");
        this.admin = admin;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        noMoreOptions(args);
        if (args.size() > 1) {
            throw new Failure("usage: config:list [TEXT|FILTER]");
        }
        String query = args.isEmpty() ? null : args.get(0);
        Configuration[] all;
        try {
            all = admin.listConfigurations(query != null && query.startsWith("(") ? query : null);
        } catch (InvalidSyntaxException e) {
            throw new Failure("not an LDAP filter: " + query + " (" + e.getMessage() + ")");
        }
        List<Configuration> shown = new ArrayList<>(all == null ? List.of() : Arrays.asList(all));
        if (query != null && !query.startsWith("(")) {
            shown.removeIf(c -> !c.getPid().contains(query));
        }
        shown.sort(Comparator.comparing(Configuration::getPid));
        for (Configuration c : shown) {
            out.println("----------------------------------------------------------------");
            out.println("Pid:            " + c.getPid());
            if (c.getFactoryPid() != null) {
                out.println("FactoryPid:     " + c.getFactoryPid());
            }
            out.println("BundleLocation: " + c.getBundleLocation());
            out.println("Properties:");
            Configurations.print(Configurations.properties(c.getProperties()), out);
        }
        return null;
    }
}
