package org.nbdosgi.console.session;

import java.io.InputStream;
import java.io.PrintStream;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;

/**
 * Command lines run once, in a session of their own, as {@code nbd-osgi-client} (through the
 * console socket) and an SSH command ({@code ssh -p 8101 host 'nbd:exports'}) run them: the
 * output, the value of the last command if it has one, and on a failure its message alone (no
 * class name) and status 1; the script stops at its first failure. Control plane.
 */
public final class Script {
    private Script() {
    }

    /** Runs {@code script}; 0 if every command worked, 1 (the reason printed on {@code err}) if one failed. */
    public static int run(CommandProcessor processor, String script, InputStream in, PrintStream out, PrintStream err) {
        try (CommandSession session = processor.createSession(in, out, err)) {
            Object result = session.execute(script);
            if (result != null) {
                out.println(session.format(result, Converter.INSPECT));
            }
            return 0;
        } catch (Exception e) {
            err.println("nbd-osgi: " + message(e));
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** What went wrong, without the exception's class: the first message along its causes. */
    public static String message(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
