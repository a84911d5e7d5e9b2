package org.nbdosgi.console;

import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Function;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The bundle commands, under Karaf's names ({@code bundle:list}, {@code bundle:install},
 * {@code bundle:update}, {@code bundle:start}, {@code bundle:stop}, {@code bundle:uninstall},
 * {@code bundle:refresh}) and Felix's ({@code lb}, {@code install}, ...). Unlike Felix
 * gogo.command's, which print an error and succeed, these answer {@code --help} and fail (exit
 * status 1 from {@code nbd-osgi-client}). Bundles installed here are remembered
 * ({@link InstalledBundles}) and installed again at the next start.
 *
 * <p>Gogo keeps one entry per {@code scope:name} and, when several services register the same
 * one, runs the one with the highest service ranking; a plain {@code lb} looks through the scopes
 * of the session's SCOPE ({@code *}, every scope in no set order, when unset). Registering in
 * gogo.command's own scope, {@code felix}, with a higher ranking makes {@code lb} and
 * {@code felix:lb} these commands in every session; a scope of our own would make a plain
 * {@code lb} pick either at random where SCOPE is unset (the console socket). Control plane.
 */
@Component(immediate = true)
public final class BundleCommands {
    static final String SCOPE = "felix";
    /** Above gogo.command's (no ranking, so 0). */
    static final int RANKING = 100;
    private static final long REFRESH_LIMIT_SECONDS = 60;

    private final List<ServiceRegistration<Function>> registrations = new ArrayList<>();
    private BundleContext context;
    private InstalledBundles installed;

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
        this.installed = InstalledBundles.of(ctx);
        installed.restore(ctx);
        for (Command c : commands()) {
            registrations.add(Command.register(ctx, "bundle", c.name(), c, null));
            registrations.add(Command.register(ctx, SCOPE, FELIX_NAMES.getOrDefault(c.name(), c.name()), c, RANKING));
        }
    }

    /** Felix's names where they differ from Karaf's. */
    private static final java.util.Map<String, String> FELIX_NAMES = java.util.Map.of("list", "lb");

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    private interface Body {
        void run(List<String> args, PrintStream out) throws Exception;
    }

    private List<Command> commands() {
        return List.of(
                command("list", "list the bundles (alias lb): id, state, start level, name, version",
                        "[-s] [-l] [TEXT]\n  -s  symbolic names (what update, start, stop take) instead of names\n"
                                + "  -l  the location each bundle was installed from\n"
                                + "  TEXT  only bundles whose name or symbolic name contains it", this::lb),
                command("install", "install bundles from jar files or URLs; they are installed again after a restart",
                        "[-s|--start] LOCATION...\n  LOCATION: an absolute path or a URL; -s, --start: start them too",
                        this::install),
                command("update", "update a bundle from where it was installed, or from LOCATION; "
                                + "exports using its plugin or filter drain, hand their state over and resume",
                        "BUNDLE [LOCATION]\n  BUNDLE: an id or a symbolic name (bundle:list -s lists both)", this::update),
                command("start", "start bundles", "BUNDLE...\n  BUNDLE: an id or a symbolic name", this::start),
                command("stop", "stop bundles; exports using their plugins or filters park until a provider returns",
                        "BUNDLE...\n  BUNDLE: an id or a symbolic name", this::stop),
                command("uninstall", "uninstall bundles; exports using their plugins or filters park",
                        "BUNDLE...\n  BUNDLE: an id or a symbolic name", this::uninstall),
                command("refresh", "refresh the wiring of the given bundles (default: every bundle that needs it) and wait until done",
                        "[BUNDLE...]", this::refresh));
    }

    private static Command command(String name, String summary, String usage, Body body) {
        return Command.of(name, "bundle:" + name, summary, usage, (args, out) -> {
            body.run(args, out);
            return null;
        });
    }

    // ---- commands ------------------------------------------------------------------------------

    private void lb(List<String> args, PrintStream out) {
        boolean symbolic = Command.flag(args, "-s");
        boolean locations = Command.flag(args, "-l");
        noOptions(args);
        if (args.size() > 1) {
            throw new Command.Failure("bundle:list takes one TEXT at most (see bundle:list --help)");
        }
        String text = args.isEmpty() ? null : args.get(0).toLowerCase(Locale.ROOT);
        Table t = locations ? new Table("ID", "STATE", "LEVEL", "NAME", "VERSION", "LOCATION")
                : new Table("ID", "STATE", "LEVEL", "NAME", "VERSION");
        for (Bundle b : context.getBundles()) {
            String name = String.valueOf(symbolic ? b.getSymbolicName() : b.getHeaders().get(Constants.BUNDLE_NAME));
            if (text != null && !name.toLowerCase(Locale.ROOT).contains(text)
                    && !String.valueOf(b.getSymbolicName()).toLowerCase(Locale.ROOT).contains(text)) {
                continue;
            }
            BundleStartLevel level = b.adapt(BundleStartLevel.class);
            Object[] row = {b.getBundleId(), state(b), level == null ? "-" : level.getStartLevel(), name, b.getVersion(),
                    b.getLocation()};
            t.row(locations ? row : Arrays.copyOf(row, 5));
        }
        out.print(t);
    }

    private void install(List<String> args, PrintStream out) {
        boolean start = Command.flag(args, "-s") | Command.flag(args, "--start");
        noOptions(args);
        if (args.isEmpty()) {
            throw new Command.Failure("install needs a LOCATION (see install --help)");
        }
        List<String> locations = args.stream().map(BundleCommands::location).toList();
        for (String location : locations) {
            Bundle b;
            try {
                b = context.installBundle(location);
            } catch (BundleException | SecurityException e) {
                throw new Command.Failure("install " + location + ": " + e.getMessage());
            }
            out.println("bundle " + describe(b) + " installed");
            installed.add(location, start);
            if (start) {
                act("start", "started", Bundle::start, b, out);
            }
        }
    }

    /** An absolute path as a file URL; a URL as it is. */
    private static String location(String word) {
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

    private void update(List<String> args, PrintStream out) throws Exception {
        noOptions(args);
        if (args.isEmpty() || args.size() > 2) {
            throw new Command.Failure("usage: update BUNDLE [LOCATION]");
        }
        Bundle b = bundle(args.get(0));
        String before = describe(b);
        try {
            if (args.size() == 2) {
                String from = location(args.get(1));
                try (InputStream in = URI.create(from).toURL().openStream()) {
                    b.update(in);
                }
                installed.updated(b.getLocation(), from);
            } else {
                b.update();
            }
        } catch (BundleException | IllegalStateException | SecurityException | java.io.IOException e) {
            throw new Command.Failure("update " + before + ": " + e.getMessage());
        }
        String now = b.getVersion().toString();
        out.println("bundle " + before + " updated" + (before.endsWith(" " + now + ")") ? "" : " to " + now));
    }

    private void start(List<String> args, PrintStream out) {
        bundles(args).forEach(b -> {
            act("start", "started", Bundle::start, b, out);
            installed.started(b.getLocation(), true);
        });
    }

    private void stop(List<String> args, PrintStream out) {
        bundles(args).forEach(b -> {
            act("stop", "stopped", Bundle::stop, b, out);
            installed.started(b.getLocation(), false);
        });
    }

    private void uninstall(List<String> args, PrintStream out) {
        bundles(args).forEach(b -> {
            String location = b.getLocation();
            act("uninstall", "uninstalled", Bundle::uninstall, b, out);
            installed.remove(location);
        });
    }

    private void refresh(List<String> args, PrintStream out) throws InterruptedException {
        noOptions(args);
        List<Bundle> which = args.isEmpty() ? null : bundles(args);
        List<String> errors = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        FrameworkWiring wiring = context.getBundle(0).adapt(FrameworkWiring.class);
        wiring.refreshBundles(which, event -> {
            if (event.getType() == FrameworkEvent.ERROR) {
                errors.add(describe(event.getBundle()) + ": " + (event.getThrowable() == null ? "error" : event.getThrowable().getMessage()));
            } else if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        if (!done.await(REFRESH_LIMIT_SECONDS, TimeUnit.SECONDS)) {
            throw new Command.Failure("refresh did not finish within " + REFRESH_LIMIT_SECONDS + " s");
        }
        if (!errors.isEmpty()) {
            throw new Command.Failure("refresh: " + String.join("; ", errors));
        }
        out.println("refreshed " + (which == null ? "the bundles that needed it" : which.size() + " bundle(s)"));
    }

    // ---- helpers -------------------------------------------------------------------------------

    private interface BundleAction {
        void apply(Bundle b) throws BundleException;
    }

    /** Does one thing to a bundle; says so, or fails with the framework's reason. */
    private static void act(String verb, String done, BundleAction action, Bundle b, PrintStream out) {
        String who = describe(b);
        try {
            action.apply(b);
        } catch (BundleException | IllegalStateException | SecurityException e) {
            throw new Command.Failure(verb + " " + who + ": " + e.getMessage());
        }
        out.println("bundle " + who + " " + done);
    }

    /** Every BUNDLE word, all resolved before anything is done, so a typo changes nothing. */
    private List<Bundle> bundles(List<String> args) {
        noOptions(args);
        if (args.isEmpty()) {
            throw new Command.Failure("name a BUNDLE: an id or a symbolic name (bundle:list -s lists both)");
        }
        return args.stream().map(this::bundle).toList();
    }

    /** A bundle by id or by symbolic name; a symbolic name two versions share is refused. */
    private Bundle bundle(String word) {
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
                    + String.join(", ", named.stream().map(BundleCommands::describe).toList()) + "): give the id");
        }
        return named.get(0);
    }

    private static void noOptions(List<String> args) {
        for (String a : args) {
            if (a.startsWith("-")) {
                throw new Command.Failure("unknown option " + a);
            }
        }
    }

    private static String describe(Bundle b) {
        return b.getBundleId() + " (" + b.getSymbolicName() + " " + b.getVersion() + ")";
    }

    private static String state(Bundle b) {
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
