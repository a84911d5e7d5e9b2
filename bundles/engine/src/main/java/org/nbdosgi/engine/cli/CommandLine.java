package org.nbdosgi.engine.cli;

import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.engine.server.TlsMode;

/**
 * The nbdkit command line, parsed: options may come before the plugin or after its parameters
 * (as {@code nbdkit PLUGIN ... --run CMD}); words after the plugin name that do not start with
 * {@code -} are its parameters.
 */
record CommandLine(String unixSocket, Integer port, String address, boolean readOnly, String exportName,
                   boolean foreground, String pidFile, List<String> filters, String plugin, List<String> params,
                   String run, Integer threads, boolean verbose, boolean help, boolean version, boolean exitWithParent,
                   Tls tls) {

    /** The {@code --tls*} options as given (null: not given). */
    record Tls(TlsMode mode, String certificates, boolean verifyPeer, String psk, String authz) {
    }

    static final String USAGE = """
            usage: nbd-osgi [-U SOCKET | -U - | -p PORT] [-i ADDR] [-r] [-e EXPORTNAME] [-f] [-P PIDFILE]
                            [-t THREADS] [-v] [--exit-with-parent] [--tls=off|on|require]
                            [--tls-certificates=DIR] [--tls-verify-peer] [--tls-psk=FILE] [--tls-authz=FILE]
                            [--filter=NAME]... PLUGIN [[key=]value]... [--run 'COMMAND']
                   nbd-osgi PLUGIN --help      nbd-osgi --help      nbd-osgi --version
                   nbd-osgi                    (no arguments: container mode, exports from etc/, console)

              -U SOCKET, --unix=SOCKET    listen on a Unix domain socket; -U - makes a private one
              -p PORT, --port=PORT        TCP port (default 10809)
              -i ADDR, --ip-addr=ADDR     TCP address to listen on (default: loopback)
              -r, --read-only             refuse writes
              -e NAME, --export-name=NAME the export's name (default ""), shown by NBD_OPT_LIST
              -f, --foreground            do not go into the background
              -P FILE, --pidfile=FILE     write the server's process id to FILE once it listens
              -t N, --threads=N           requests in flight per connection
              -v, --verbose               debug logging
              --exit-with-parent          stop when the parent process exits
              --filter=NAME               stack a filter over the plugin (the first is outermost)
              --tls=off|on|require        TLS: refused, offered, or required before any other option
              --tls-certificates=DIR      ca-cert.pem, server-cert.pem, server-key.pem, ca-crl.pem
                                          (default: /etc/pki/nbdkit as root, else ~/.pki/nbdkit)
              --tls-verify-peer           require a client certificate signed by the CA
              --tls-psk=FILE              pre-shared keys, identity:hexkey lines
              --tls-authz=FILE            allow-lists of client identities per export
              --run 'COMMAND'             captive mode: run COMMAND with $uri $nbd $unixsocket $port
                                          $exportname set, stop when it exits, exit with its status
            """;

    /** A command line that cannot be used; the message is one line for the user. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static CommandLine parse(List<String> raw) throws UsageException {
        List<String> args = splitShortFlags(raw);
        String unix = null;
        Integer port = null;
        String address = null;
        boolean readOnly = false;
        String export = "";
        boolean foreground = false;
        String pidFile = null;
        List<String> filters = new ArrayList<>();
        String plugin = null;
        List<String> params = new ArrayList<>();
        String run = null;
        Integer threads = null;
        boolean verbose = false;
        boolean help = false;
        boolean version = false;
        boolean exitWithParent = false;
        TlsMode tlsMode = TlsMode.OFF;
        String tlsCertificates = null;
        boolean tlsVerifyPeer = false;
        String tlsPsk = null;
        String tlsAuthz = null;

        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("-") || a.equals("-")) {
                if (plugin == null) {
                    plugin = a;
                } else {
                    params.add(a);
                }
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else if (!a.startsWith("--") && a.length() > 2) {
                name = a.substring(0, 2);                    // -p10809
                value = a.substring(2);
            }
            switch (name) {
                case "-U", "--unix" -> unix = value(args, i, name, value);
                case "-p", "--port" -> port = number(value(args, i, name, value), name, 0, 65535);
                case "-i", "--ip-addr", "--ipaddr" -> address = value(args, i, name, value);
                case "-r", "--read-only", "--readonly" -> readOnly = flag(name, value);
                case "-e", "--export", "--export-name", "--exportname" -> export = value(args, i, name, value);
                case "-f", "--foreground", "--no-fork" -> foreground = flag(name, value);
                case "-P", "--pidfile", "--pid-file" -> pidFile = value(args, i, name, value);
                case "--filter" -> filters.add(value(args, i, name, value));
                case "--run" -> run = value(args, i, name, value);
                case "-t", "--threads" -> threads = number(value(args, i, name, value), name, 1, 1 << 16);
                case "-v", "--verbose" -> verbose = flag(name, value);
                case "-h", "--help" -> help = flag(name, value);
                case "-V", "--version" -> version = flag(name, value);
                case "--exit-with-parent" -> exitWithParent = flag(name, value);
                case "-n", "--newstyle" -> flag(name, value);
                case "-o", "--oldstyle" -> throw new UsageException("oldstyle negotiation is not supported (clients use newstyle)");
                case "--tls" -> {
                    try {
                        tlsMode = TlsMode.parse(value(args, i, name, value));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(e.getMessage());
                    }
                }
                case "--tls-certificates" -> tlsCertificates = value(args, i, name, value);
                case "--tls-verify-peer" -> tlsVerifyPeer = flag(name, value);
                case "--tls-psk" -> tlsPsk = value(args, i, name, value);
                case "--tls-authz" -> tlsAuthz = value(args, i, name, value);
                default -> throw new UsageException("unknown option '" + a + "' (see nbd-osgi --help)");
            }
            if (value == null && takesValue(name)) {
                i++;
            }
        }
        if (filters.stream().anyMatch(f -> !f.matches("[A-Za-z0-9_-]+"))) {
            throw new UsageException("bad filter name in --filter");
        }
        return new CommandLine(unix, port, address, readOnly, export, foreground || run != null, pidFile,
                List.copyOf(filters), plugin, List.copyOf(params), run, threads, verbose, help, version, exitWithParent,
                new Tls(tlsMode, tlsCertificates, tlsVerifyPeer, tlsPsk, tlsAuthz));
    }

    /** {@code -fr} is {@code -f -r}, as with getopt. */
    private static List<String> splitShortFlags(List<String> args) {
        List<String> out = new ArrayList<>();
        for (String a : args) {
            if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-' && "rfvnhV".indexOf(a.charAt(1)) >= 0) {
                for (char c : a.substring(1).toCharArray()) {
                    out.add("-" + c);
                }
            } else {
                out.add(a);
            }
        }
        return out;
    }

    private static boolean takesValue(String name) {
        return switch (name) {
            case "-U", "--unix", "-p", "--port", "-i", "--ip-addr", "--ipaddr", "-e", "--export", "--export-name",
                 "--exportname", "-P", "--pidfile", "--pid-file", "--filter", "--run", "-t", "--threads", "--tls",
                 "--tls-certificates", "--tls-psk", "--tls-authz" -> true;
            default -> false;
        };
    }

    private static String value(List<String> args, int i, String name, String inline) throws UsageException {
        if (inline != null) {
            return inline;
        }
        if (i + 1 >= args.size()) {
            throw new UsageException("option " + name + " needs a value");
        }
        return args.get(i + 1);
    }

    private static boolean flag(String name, String value) throws UsageException {
        if (value != null) {
            throw new UsageException("option " + name + " takes no value");
        }
        return true;
    }

    private static int number(String s, String name, int min, int max) throws UsageException {
        try {
            int n = Integer.parseInt(s.trim());
            if (n < min || n > max) {
                throw new UsageException(name + ": " + s + " is out of range (" + min + ".." + max + ")");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException(name + ": '" + s + "' is not a number");
        }
    }

    /** The export's words in {@code ExportSpec.parse} syntax. */
    List<String> exportArgs() {
        List<String> out = new ArrayList<>();
        filters.forEach(f -> out.add("--filter=" + f));
        out.add(plugin);
        out.addAll(params);
        return out;
    }
}
