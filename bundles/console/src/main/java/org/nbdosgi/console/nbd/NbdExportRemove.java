package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code nbd:export-remove NAME}; its file in etc/ goes too. */
final class NbdExportRemove extends Command {
    private final Exports exports;

    NbdExportRemove(Exports exports) {
        super("nbd", "export-remove", "remove an export; its clients get ESHUTDOWN and are disconnected", "NAME");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        String name = Exports.one(args, "NAME");
        exports.export(name);
        Exports.change(() -> {
            exports.admin().removeExport(name);
            return null;
        });
        exports.files().delete(name);
        out.println("export " + quoted(name) + " removed");
        return null;
    }
}
