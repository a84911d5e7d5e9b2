package org.nbdosgi.cli;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * nbdkit's command line (nbdkit(1) of 1.32 is the spec), parsed as getopt_long does: options may
 * come before the plugin or after its parameters, short flags combine ({@code -fv}), a short
 * option's value may be joined ({@code -p10809}) and a long one's given with {@code =}; {@code --}
 * ends the options. Words that are not options are the plugin name, then its parameters.
 *
 * <p>Every option is one {@link Option} constant (names, value, help line); {@code --help} and the
 * nbd-osgi(1) man page are generated from that table, so a new option is a constant plus a getter.
 * Plain Java on purpose: the launcher uses this class before any framework starts (to answer
 * probing questions and refuse a bad command line at once), and the engine embeds the same class
 * to run what it describes.
 */
public final class CommandLine {

    /** The options, in nbdkit(1)'s order. */
    public enum Option {
        IPV4("-4", "--ipv4-only", null, "listen on IPv4 only (with -i: resolve the name to IPv4 addresses)"),
        IPV6("-6", "--ipv6-only", null, "listen on IPv6 only (with -i: resolve the name to IPv6 addresses)"),
        DEBUG("-D", "--debug", "NAME.FLAG=N", "set a debug flag of a plugin or filter, or of the server (nbdkit.FLAG)"),
        DUMP_CONFIG(null, "--dump-config", null, "print the build's configuration as key=value lines and exit"),
        DUMP_PLUGIN(null, "--dump-plugin", null, "print the plugin's properties as key=value lines and exit"),
        EXIT_WITH_PARENT(null, "--exit-with-parent", null, "stop when the parent process exits (implies -f)"),
        EXPORT_NAME("-e", "--export-name --export --exportname", "NAME", "the export name $uri and $exportname use in --run mode"),
        FILTER(null, "--filter", "FILTER", "stack a filter over the plugin (the first given is outermost)"),
        FOREGROUND("-f", "--foreground --no-fork", null, "stay in the foreground"),
        GROUP("-g", "--group", "GROUP", "change to this group (name or number) once listening"),
        HELP("-h", "--help", null, "this text; after a plugin name: its parameters"),
        IP_ADDR("-i", "--ip-addr --ipaddr", "ADDR", "listen on this address only (default: every address)"),
        LOG(null, "--log", "stderr|syslog|null", "where messages go (default: stderr; in the background a private log file)"),
        MASK_HANDSHAKE(null, "--mask-handshake", "MASK", "offer only these bits of the handshake flags (default: all)"),
        METRICS(null, "--metrics", "[ADDR:]PORT", "serve Prometheus metrics at http://ADDR:PORT/metrics (default address:"
                + " loopback) and JMX beans"),
        NEWSTYLE("-n", "--newstyle --new-style", null, "fixed newstyle negotiation (always on)"),
        NO_SR(null, "--no-sr", null, "do not offer structured replies"),
        OLDSTYLE("-o", "--oldstyle --old-style", null, null,
                "oldstyle negotiation is not supported (every client in use speaks newstyle)"),
        PIDFILE("-P", "--pidfile --pid-file", "FILE", "write the server's process id to FILE once it listens"),
        PORT("-p", "--port", "PORT", "TCP port (default 10809)"),
        READ_ONLY("-r", "--readonly --read-only", null, "refuse writes"),
        RUN(null, "--run", "'COMMAND'", "captive mode: run COMMAND with $uri $nbd $unixsocket $port $exportname set,"
                + " stop when it exits, exit with its status"),
        SELINUX_LABEL(null, "--selinux-label", "LABEL", null, "--selinux-label is not supported (label the socket with chcon)"),
        SINGLE("-s", "--single --stdin", null, "serve one client on standard input and output, then exit"),
        SWAP(null, "--swap", null, null, "--swap is not supported (the JVM cannot lock itself into memory)"),
        THREADS("-t", "--threads", "N", "requests in flight per connection (default 512)"),
        TLS(null, "--tls", "off|on|require", "TLS: refused, offered, or required before any other option"),
        TLS_CERTIFICATES(null, "--tls-certificates", "DIR", "ca-cert.pem, server-cert.pem, server-key.pem, ca-crl.pem"
                + " (default: /etc/pki/nbdkit as root, else ~/.pki/nbdkit)"),
        TLS_PSK(null, "--tls-psk", "FILE", "pre-shared keys, identity:hexkey lines"),
        TLS_VERIFY_PEER(null, "--tls-verify-peer", null, "require a client certificate signed by the CA"),
        TLS_AUTHZ(null, "--tls-authz", "FILE", "allow-lists of client identities per export (needs --tls=on or require)"),
        UNIX("-U", "--unix", "SOCKET", "listen on a Unix domain socket; -U - makes a private one"),
        USER("-u", "--user", "USER", "change to this user (name or number) once listening"),
        VERBOSE("-v", "--verbose", null, "debug messages: the negotiation and each request"),
        VERSION("-V", "--version", null, "print the version (and those of the plugin and filters named) and exit"),
        VSOCK(null, "--vsock", null, null, "--vsock is not supported (the JVM has no AF_VSOCK sockets)");

        private final Character shortName;
        private final List<String> longNames;
        private final String value;
        private final String help;
        private final String unsupported;

        Option(String shortName, String longNames, String value, String help) {
            this(shortName, longNames, value, help, null);
        }

        Option(String shortName, String longNames, String value, String help, String unsupported) {
            this.shortName = shortName == null ? null : shortName.charAt(1);
            this.longNames = List.of(longNames.split(" "));
            this.value = value;
            this.help = help;
            this.unsupported = unsupported;
        }

        /** {@code -p, --port=PORT}: the names a user types, as --help shows them. */
        public String synopsis() {
            String names = (shortName == null ? "" : "-" + shortName + ", ") + longNames.get(0);
            return value == null ? names : names + "=" + value;
        }

        /** Every name, aliases included (for the man page). */
        public List<String> names() {
            List<String> all = new ArrayList<>();
            if (shortName != null) {
                all.add("-" + shortName);
            }
            all.addAll(longNames);
            return all;
        }

        public boolean takesValue() {
            return value != null;
        }

        /** The value's placeholder, or null for a flag. */
        public String valueName() {
            return value;
        }

        /** One line of help, or null for an option that is refused. */
        public String help() {
            return help;
        }

        /** Why the option is refused, or null when it is supported. */
        public String unsupported() {
            return unsupported;
        }
    }

    /** Whether {@code --tls=on|require} work (shown as {@code tls=} by --dump-config). */
    public static final boolean TLS_SUPPORTED = true;

    /**
     * The {@code -D} flags with a meaning here, nbdkit's: each quiets (0) or keeps (1) a group of
     * {@code -v} messages, by the logger it names. Other flags are accepted with a warning.
     */
    public static final Map<String, String> DEBUG_FLAG_LOGGERS = Map.of(
            "nbdkit.backend.controlpath", "nbd.controlpath",
            "nbdkit.backend.datapath", "nbd.datapath");

    /** The value given for {@code --log}. */
    public enum Log { STDERR, SYSLOG, NULL }

    /** The value of {@code --tls}: TLS refused, offered, or required before any other option. */
    public enum Tls {
        OFF, ON, REQUIRE;

        /** {@code off}, {@code on} or {@code require}; as in nbdkit, a boolean means off or on. */
        public static Tls parse(String s) {
            return switch (s.strip().toLowerCase(Locale.ROOT)) {
                case "off", "no", "false", "0" -> OFF;
                case "on", "yes", "true", "1" -> ON;
                case "require" -> REQUIRE;
                default -> throw new IllegalArgumentException("--tls=" + s + ": expected off, on or require");
            };
        }
    }

    /** Address family restriction of {@code -4}/{@code -6}: the last one given wins, as in nbdkit. */
    public enum Family { ANY, IPV4, IPV6 }

    /** One option as given: which, the name typed, the value (null for a flag). */
    private record Given(Option option, String typed, String value) {
    }

    /** A command line that cannot be used; the message is one line for the user. */
    public static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        public UsageException(String message) {
            super(message);
        }
    }

    private static final Map<String, Option> LONG = new HashMap<>();
    private static final Map<Character, Option> SHORT = new HashMap<>();

    static {
        for (Option o : Option.values()) {
            o.longNames.forEach(n -> LONG.put(n, o));
            if (o.shortName != null) {
                SHORT.put(o.shortName, o);
            }
        }
    }

    private final List<Given> given;
    private final Map<Option, List<String>> values = new EnumMap<>(Option.class);
    private final String plugin;
    private final List<String> params;

    private CommandLine(List<Given> given, String plugin, List<String> params) {
        this.given = List.copyOf(given);
        this.plugin = plugin;
        this.params = List.copyOf(params);
        for (Given g : given) {
            values.computeIfAbsent(g.option(), o -> new ArrayList<>()).add(g.value());
        }
    }

    public static CommandLine parse(List<String> args) throws UsageException {
        List<Given> given = new ArrayList<>();
        String plugin = null;
        List<String> params = new ArrayList<>();
        boolean optionsEnded = false;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (optionsEnded || !a.startsWith("-") || a.equals("-")) {
                if (plugin == null) {
                    plugin = a;
                } else {
                    params.add(a);
                }
            } else if (a.equals("--")) {
                optionsEnded = true;
            } else if (a.startsWith("--")) {
                int eq = a.indexOf('=');
                String name = eq > 0 ? a.substring(0, eq) : a;
                Option o = LONG.get(name);
                if (o == null) {
                    throw new UsageException("unknown option '" + name + "' (see nbd-osgi --help)");
                }
                String value = null;
                if (o.takesValue()) {
                    value = eq > 0 ? a.substring(eq + 1) : valueAfter(args, ++i, name);
                } else if (eq > 0) {
                    throw new UsageException("option " + name + " takes no value");
                }
                given.add(accept(o, name, value));
            } else {
                for (int k = 1; k < a.length(); k++) {                 // -fv, -p10809, -fvp 10809
                    String name = "-" + a.charAt(k);
                    Option o = SHORT.get(a.charAt(k));
                    if (o == null) {
                        throw new UsageException("unknown option '" + name + "' (see nbd-osgi --help)");
                    }
                    if (o.takesValue()) {
                        String value = k + 1 < a.length() ? a.substring(k + 1) : valueAfter(args, ++i, name);
                        given.add(accept(o, name, value));
                        break;
                    }
                    given.add(accept(o, name, null));
                }
            }
        }
        CommandLine cl = new CommandLine(given, plugin, params);
        cl.validate();
        return cl;
    }

    private static String valueAfter(List<String> args, int i, String name) throws UsageException {
        if (i >= args.size()) {
            throw new UsageException("option " + name + " needs a value");
        }
        return args.get(i);
    }

    private static Given accept(Option o, String typed, String value) throws UsageException {
        if (o.unsupported() != null) {
            throw new UsageException(o.unsupported());
        }
        return new Given(o, typed, value);
    }

    /** Checks every value now, so a mistake is reported before anything starts. */
    private void validate() throws UsageException {
        for (Given g : given) {
            String v = g.value();
            switch (g.option()) {
                case PORT -> number(g, 0, 65535);
                case THREADS -> number(g, 1, 1 << 16);
                case MASK_HANDSHAKE -> {
                    try {
                        long mask = Long.decode(v.trim());
                        if (mask < 0 || mask > 0xFFFFFFFFL) {
                            throw new NumberFormatException();
                        }
                    } catch (NumberFormatException e) {
                        throw new UsageException(g.typed() + ": '" + v + "' is not a 32-bit mask");
                    }
                }
                case LOG -> log(g);
                case METRICS -> metricsAddress(g);
                case DEBUG -> debugFlag(g);
                case FILTER -> {
                    if (!v.matches("[A-Za-z0-9_-]+")) {
                        throw new UsageException("--filter: '" + v + "' is not a valid filter name");
                    }
                }
                case TLS -> {
                    try {
                        Tls.parse(v);
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(e.getMessage());
                    }
                }
                default -> {
                    // flags and free-form values
                }
            }
        }
        if (has(Option.SINGLE) && (has(Option.UNIX) || has(Option.PORT) || has(Option.IP_ADDR))) {
            throw new UsageException("-s serves standard input: it cannot be combined with -U, -p or -i");
        }
        if (has(Option.SINGLE) && has(Option.RUN)) {
            throw new UsageException("-s and --run cannot be combined");
        }
    }

    private static int number(Given g, int min, int max) throws UsageException {
        try {
            int n = Integer.parseInt(g.value().trim());
            if (n < min || n > max) {
                throw new UsageException(g.typed() + ": " + g.value() + " is out of range (" + min + ".." + max + ")");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(g.typed() + ": '" + g.value() + "' is not a number");
        }
    }

    /** {@code [ADDR:]PORT}; the launcher installs the metrics bundle and passes it on as {@code nbd.metrics}. */
    private static void metricsAddress(Given g) throws UsageException {
        String v = g.value();
        int colon = v.lastIndexOf(':');
        if (colon == 0 || (colon > 0 && v.substring(0, colon).isBlank())) {
            throw new UsageException(g.typed() + "=" + v + ": expected [ADDR:]PORT");
        }
        number(new Given(g.option(), g.typed(), v.substring(colon + 1)), 0, 65535);
    }

    private static Log log(Given g) throws UsageException {
        try {
            return Log.valueOf(g.value().trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--log: '" + g.value() + "' is not one of stderr, syslog, null");
        }
    }

    private static Map.Entry<String, Integer> debugFlag(Given g) throws UsageException {
        String v = g.value();
        int eq = v.indexOf('=');
        String key = eq > 0 ? v.substring(0, eq) : "";
        if (!key.matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_.-]+")) {
            throw new UsageException(g.typed() + ": '" + v + "' is not NAME.FLAG=N");
        }
        try {
            return Map.entry(key, Integer.decode(v.substring(eq + 1).trim()));
        } catch (NumberFormatException e) {
            throw new UsageException(g.typed() + ": '" + v + "': the value of a debug flag is an integer");
        }
    }

    // ---- what was given ------------------------------------------------------------------

    public boolean has(Option o) {
        return values.containsKey(o);
    }

    /** The last value given for {@code o} (the last wins, as in nbdkit), or null. */
    public String value(Option o) {
        List<String> v = values.get(o);
        return v == null ? null : v.get(v.size() - 1);
    }

    /** Every value given for {@code o}, in order. */
    public List<String> values(Option o) {
        return List.copyOf(values.getOrDefault(o, List.of()));
    }

    public String plugin() {
        return plugin;
    }

    public List<String> params() {
        return params;
    }

    public List<String> filters() {
        return values(Option.FILTER);
    }

    public String unixSocket() {
        return value(Option.UNIX);
    }

    public Integer port() {
        String p = value(Option.PORT);
        return p == null ? null : Integer.parseInt(p.trim());
    }

    public String address() {
        return value(Option.IP_ADDR);
    }

    public Family family() {
        for (int i = given.size() - 1; i >= 0; i--) {
            switch (given.get(i).option()) {
                case IPV4 -> {
                    return Family.IPV4;
                }
                case IPV6 -> {
                    return Family.IPV6;
                }
                default -> {
                }
            }
        }
        return Family.ANY;
    }

    public boolean readOnly() {
        return has(Option.READ_ONLY);
    }

    /** The name {@code $uri} and {@code $exportname} use in --run mode; "" by default. */
    public String exportName() {
        String e = value(Option.EXPORT_NAME);
        return e == null ? "" : e;
    }

    /** Whether the server stays in the foreground: -f, or an option that implies it. */
    public boolean foreground() {
        return has(Option.FOREGROUND) || has(Option.RUN) || has(Option.SINGLE) || has(Option.EXIT_WITH_PARENT);
    }

    public String pidFile() {
        return value(Option.PIDFILE);
    }

    public String run() {
        return value(Option.RUN);
    }

    public Integer threads() {
        String t = value(Option.THREADS);
        return t == null ? null : Integer.parseInt(t.trim());
    }

    public boolean verbose() {
        return has(Option.VERBOSE);
    }

    public boolean help() {
        return has(Option.HELP);
    }

    public boolean version() {
        return has(Option.VERSION);
    }

    public boolean dumpConfig() {
        return has(Option.DUMP_CONFIG);
    }

    public boolean dumpPlugin() {
        return has(Option.DUMP_PLUGIN);
    }

    /** Whether this only asks a question (help, version, dumps) and serves nothing. */
    public boolean probing() {
        return help() || version() || dumpConfig() || dumpPlugin();
    }

    public boolean exitWithParent() {
        return has(Option.EXIT_WITH_PARENT);
    }

    public boolean single() {
        return has(Option.SINGLE);
    }

    public boolean noStructuredReplies() {
        return has(Option.NO_SR);
    }

    /** The handshake flags that may be offered (a bit mask; all when not given). */
    public long handshakeMask() {
        String m = value(Option.MASK_HANDSHAKE);
        return m == null ? 0xFFFFFFFFL : Long.decode(m.trim());
    }

    /** Where to serve metrics ({@code [ADDR:]PORT}), or null: no metrics bundle, nothing counted. */
    public String metrics() {
        return value(Option.METRICS);
    }

    /** {@code --tls}, off when not given. */
    public Tls tls() {
        String t = value(Option.TLS);
        return t == null ? Tls.OFF : Tls.parse(t);
    }

    public String tlsCertificates() {
        return value(Option.TLS_CERTIFICATES);
    }

    public String tlsPsk() {
        return value(Option.TLS_PSK);
    }

    public boolean tlsVerifyPeer() {
        return has(Option.TLS_VERIFY_PEER);
    }

    public String tlsAuthz() {
        return value(Option.TLS_AUTHZ);
    }

    public String user() {
        return value(Option.USER);
    }

    public String group() {
        return value(Option.GROUP);
    }

    /**
     * Where messages go, or null when --log was not given (the mode decides). With {@code -v} and no
     * {@code --log}, standard error, also for a background server: nbdkit does not redirect its
     * standard error when verbose.
     */
    public Log log() {
        String l = value(Option.LOG);
        if (l == null) {
            return verbose() ? Log.STDERR : null;
        }
        return Log.valueOf(l.trim().toUpperCase(Locale.ROOT));
    }

    /** The -D flags, NAME.FLAG to N; a flag given twice keeps its last value. */
    public Map<String, Integer> debugFlags() {
        Map<String, Integer> flags = new LinkedHashMap<>();
        for (Given g : given) {
            if (g.option() == Option.DEBUG) {
                try {
                    Map.Entry<String, Integer> f = debugFlag(g);
                    flags.put(f.getKey(), f.getValue());
                } catch (UsageException e) {
                    throw new IllegalStateException(e);         // validated by parse
                }
            }
        }
        return flags;
    }

    /** The export's words in {@code ExportSpec.parse} syntax: filters, plugin, parameters. */
    public List<String> exportArgs() {
        List<String> out = new ArrayList<>();
        filters().forEach(f -> out.add("--filter=" + f));
        out.add(plugin);
        out.addAll(params);
        return out;
    }

    // ---- --help -------------------------------------------------------------------------

    /** The text of {@code nbd-osgi --help}, generated from the option table. */
    public static String usage() {
        StringBuilder b = new StringBuilder("""
                usage: nbd-osgi [OPTION]... [--filter=FILTER]... PLUGIN [[KEY=]VALUE]... [--run 'COMMAND']
                       nbd-osgi PLUGIN --help | --dump-plugin       nbd-osgi --help | --version | --dump-config
                       nbd-osgi                                     container mode: exports from etc/, console

                """);
        for (Option o : Option.values()) {
            if (o.help() != null) {
                String names = o.synopsis();
                b.append(String.format("  %-30s%s%n", names, names.length() > 29 ? "\n" + " ".repeat(32) + o.help() : o.help()));
            }
        }
        b.append("\nPlugin and filter parameters: nbd-osgi [--filter=FILTER]... PLUGIN --help; manual: man nbd-osgi\n");
        return b.toString();
    }
}
