package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;

/** {@code nbd:export-add}, in nbdkit's syntax; the export's file is written to etc/. */
final class NbdExportAdd extends Command {
    private final Exports exports;

    NbdExportAdd(Exports exports) {
        super("nbd", "export-add", "create an export (nbdkit syntax), written to etc/",
                "[--readonly] [--catch-all] NAME [--filter=FILTER]... PLUGIN [[key=]value]...\n"
                        + "  --catch-all: also serve every name no other export has (else such names are refused)");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        boolean readOnly = flag(args, "--readonly") | flag(args, "-r");
        boolean catchAll = flag(args, "--catch-all");
        noMoreOptions(args);
        if (args.size() < 2) {
            throw new Failure("usage: nbd:export-add [--readonly] [--catch-all] NAME [--filter=FILTER]... PLUGIN [[key=]value]...");
        }
        ExportSpec spec;
        try {
            spec = ExportSpec.parse(Exports.exportName(args.get(0)), readOnly, args.subList(1, args.size()));
        } catch (ConfigException e) {
            throw new Failure(e.getMessage());
        }
        ExportInfo added = Exports.change(() -> exports.admin().addExport(spec, catchAll));
        exports.save(added.spec(), catchAll);
        out.println("export " + quoted(spec.name()) + " started: " + exports.chainText(added.spec()));
        return null;
    }
}
