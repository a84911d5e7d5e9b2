package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportInfo;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.console.Command;

/** {@code nbd:export-add}, in nbdkit's syntax; the export's file is written to etc/. */
final class NbdExportAdd extends Command {
    private final Exports exports;

    NbdExportAdd(Exports exports) {
        super("nbd", "export-add", "create an export (nbdkit syntax), written to etc/",
                "[--readonly] NAME [--filter=FILTER]... PLUGIN [[key=]value]...");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        boolean readOnly = flag(args, "--readonly") | flag(args, "-r");
        noMoreOptions(args);
        if (args.size() < 2) {
            throw new Failure("usage: nbd:export-add [--readonly] NAME [--filter=FILTER]... PLUGIN [[key=]value]...");
        }
        ExportSpec spec;
        try {
            spec = ExportSpec.parse(Exports.exportName(args.get(0)), readOnly, args.subList(1, args.size()));
        } catch (ConfigException e) {
            throw new Failure(e.getMessage());
        }
        ExportInfo added = Exports.change(() -> exports.admin().addExport(spec));
        exports.save(added.spec());
        out.println("export " + quoted(spec.name()) + " started: " + Exports.chainText(added.spec()));
        return null;
    }
}
