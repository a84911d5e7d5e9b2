package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;

/** {@code nbd:export-set}: a rewire of a live export with new parameters. */
final class NbdExportSet extends Command {
    private final Exports exports;

    NbdExportSet(Exports exports) {
        super("nbd", "export-set", "change parameters of a live export's layers", "[--force] NAME key=value...\n"
                + "  --force disconnects clients the change would break (a new size, a lost capability)");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        boolean force = flag(args, "--force");
        noMoreOptions(args);
        if (args.size() < 2) {
            throw new Failure("usage: nbd:export-set [--force] NAME key=value...");
        }
        ExportInfo e = exports.export(Exports.exportName(args.get(0)));
        Plugin plugin = exports.plugin(e.spec().plugin());
        ExportSpec next = Specs.setParams(e.spec(), Specs.params(args.subList(1, args.size())),
                plugin == null ? null : plugin.magicParameter());
        exports.rewire(e, next, force, out);
        return null;
    }
}
