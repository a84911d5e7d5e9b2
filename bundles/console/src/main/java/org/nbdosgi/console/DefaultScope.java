package org.nbdosgi.console;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.CommandSessionListener;
import org.osgi.service.component.annotations.Component;

/**
 * Gives every Gogo session that has no {@code SCOPE} of its own the console's (the interactive
 * consoles', the console socket's, an SSH command's, a test's), so a command typed without its
 * scope always means the same one. Gogo looks a plain name up in each scope of the session's
 * SCOPE in turn; its default, {@code *}, takes whichever scope its hash map yields first, so a
 * plain {@code update} was bundle:update or config:update by chance. Here {@code update},
 * {@code list}, {@code install} are the bundle commands (as in Karaf), {@code tail} and
 * {@code set} Gogo's, {@code info} shell:info; scopes added later come last ({@code *}). Control
 * plane (Gogo calls it before each command line).
 */
@Component
public final class DefaultScope implements CommandSessionListener {
    /** Our scopes first, in the order that settles names several share; then any other. */
    public static final String SCOPE = "nbd:bundle:felix:gogo:shell:system:config:log:scr:cm:*";

    @Override
    public void beforeExecute(CommandSession session, CharSequence commandline) {
        if (session.get("SCOPE") == null) {
            session.put("SCOPE", SCOPE);
        }
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence commandline, Exception exception) {
        // nothing to undo
    }

    @Override
    public void afterExecute(CommandSession session, CharSequence commandline, Object result) {
        // nothing to undo
    }
}
