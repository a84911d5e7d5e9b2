package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/** What the bundle commands share: bundles by the words users type, and how a bundle is named. */
final class Bundles {
    private final BundleContext context;

    Bundles(BundleContext context) {
        this.context = context;
    }

    BundleContext context() {
        return context;
    }

    /** Every BUNDLE word, all resolved before anything is done, so a typo changes nothing. */
    List<Bundle> all(List<String> words) {
        Command.noOptions(words);
        if (words.isEmpty()) {
            throw new Command.Failure("name a BUNDLE: an id or a symbolic name (bundle:list -s lists both)");
        }
        return words.stream().map(this::one).toList();
    }

    /** A bundle by id or by symbolic name; a symbolic name two versions share is refused. */
    Bundle one(String word) {
        if (word.matches("\\d+")) {
            Bundle b = context.getBundle(Long.parseLong(word));
            if (b == null) {
                throw new Command.Failure("no bundle with id " + word + " (bundle:list lists them)");
            }
            return b;
        }
        List<Bundle> named = Arrays.stream(context.getBundles()).filter(b -> word.equals(b.getSymbolicName())).toList();
        if (named.isEmpty()) {
            throw new Command.Failure("no bundle named " + word + " (bundle:list -s lists them)");
        }
        if (named.size() > 1) {
            throw new Command.Failure(named.size() + " bundles are named " + word + " ("
                    + String.join(", ", named.stream().map(Bundles::describe).toList()) + "): give the id");
        }
        return named.get(0);
    }

    /** An absolute path as a file URL; a URL as it is. */
    static String location(String word) {
        if (word.matches("[A-Za-z][A-Za-z0-9+.-]+:.*")) {
            return word;
        }
        Path p = Path.of(word);
        if (!p.isAbsolute()) {
            throw new Command.Failure("'" + word + "': give an absolute path or a URL (the server's working directory is not yours)");
        }
        if (!Files.isRegularFile(p)) {
            throw new Command.Failure("no file " + p);
        }
        return p.toUri().toString();
    }

    interface Action {
        void apply(Bundle b) throws BundleException;
    }

    /** Does one thing to a bundle; says so, or fails with the framework's reason. */
    static void act(String verb, String done, Action action, Bundle b, PrintStream out) {
        String who = describe(b);
        try {
            action.apply(b);
        } catch (BundleException | IllegalStateException | SecurityException e) {
            throw new Command.Failure(verb + " " + who + ": " + e.getMessage());
        }
        out.println("bundle " + who + " " + done);
    }

    static String describe(Bundle b) {
        return b.getBundleId() + " (" + b.getSymbolicName() + " " + b.getVersion() + ")";
    }

    static String state(Bundle b) {
        return switch (b.getState()) {
            case Bundle.UNINSTALLED -> "uninstalled";
            case Bundle.INSTALLED -> "installed";
            case Bundle.RESOLVED -> "resolved";
            case Bundle.STARTING -> "starting";
            case Bundle.STOPPING -> "stopping";
            case Bundle.ACTIVE -> "active";
            default -> Integer.toString(b.getState());
        };
    }
}
