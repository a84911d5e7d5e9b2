package org.nbdosgi.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the manual pages at build time: nbd-osgi(1) from the option table of {@link CommandLine},
 * and nbd-osgi-NAME-plugin(1) / nbd-osgi-NAME-filter(1) from the {@link Index}: the parameters from
 * their declarations, the description from the bundle's README.md (Markdown turned into man
 * macros: headings, paragraphs, code blocks, tables, lists, inline code).
 *
 * <p>{@code java -cp nbd-osgi-launcher.jar org.nbdosgi.cli.ManPages INDEX OUTDIR}
 */
public final class ManPages {
    private ManPages() {
    }

    public static void main(String[] args) throws IOException {
        Index index = Index.load(Path.of(args[0]));
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        write(out.resolve("nbd-osgi.1"), serverPage(index));
        for (Index.Entry e : index.plugins()) {
            write(out.resolve(pageName(e) + ".1"), layerPage(e));
        }
        for (Index.Entry e : index.filters()) {
            write(out.resolve(pageName(e) + ".1"), layerPage(e));
        }
    }

    private static void write(Path file, String page) throws IOException {
        Files.writeString(file, page, StandardCharsets.UTF_8);
    }

    /** {@code nbd-osgi-memory-plugin}, {@code nbd-osgi-delay-filter}. */
    public static String pageName(Index.Entry e) {
        return "nbd-osgi-" + e.name() + "-" + e.kind().key();
    }

    private static String header(String name, String what) {
        return ".TH " + name.toUpperCase(Locale.ROOT) + " 1 \"\" \"nbd-osgi " + Probing.version() + "\" \"nbd-osgi\"\n"
                + ".ad l\n"                                        // ragged right: no stretched spaces
                + ".SH NAME\n" + esc(name) + " \\- " + esc(what) + "\n";
    }

    static String serverPage(Index index) {
        StringBuilder b = new StringBuilder(header("nbd-osgi", "an NBD server whose plugins and filters are OSGi bundles"));
        b.append("""
                .SH SYNOPSIS
                .nf
                \\fBnbd-osgi\\fR [\\fIOPTION\\fR]... [\\fB\\-\\-filter\\fR=\\fIFILTER\\fR]... \\fIPLUGIN\\fR [[\\fIKEY\\fR=]\\fIVALUE\\fR]... [\\fB\\-\\-run\\fR '\\fICOMMAND\\fR']
                \\fBnbd-osgi\\fR \\fIPLUGIN\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-dump\\-plugin\\fR
                \\fBnbd-osgi\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR | \\fB\\-\\-dump\\-config\\fR
                \\fBnbd-osgi\\fR
                .fi
                .SH DESCRIPTION
                nbd-osgi serves block devices over the Network Block Device protocol. Its command line is
                nbdkit's: the same options, plugin and filter names and parameters, so scripts and tools that
                drive nbdkit(1) can drive it. Storage back ends (plugins) and request transformers (filters)
                are OSGi bundles running in Apache Felix; a bundle dropped into \\fIdeploy/\\fR adds one.
                .PP
                With a plugin on the command line the server serves that one export and, unless \\fB\\-f\\fR,
                \\fB\\-\\-run\\fR, \\fB\\-s\\fR or \\fB\\-\\-exit\\-with\\-parent\\fR is given, goes into the
                background once it listens. Every export name a client asks for reaches the plugin, as in nbdkit.
                .PP
                Without arguments nbd-osgi runs in container mode: it listens as \\fIetc/config.properties\\fR
                says, each \\fIetc/org.nbdosgi.export\\-NAME.cfg\\fR is an export (edited or deleted files
                rewire or remove it live), jars in \\fIdeploy/\\fR are installed, updated and removed as they
                come and go, and with a terminal an interactive console runs.
                .SH OPTIONS
                """);
        for (CommandLine.Option o : CommandLine.Option.values()) {
            if (o.help() != null) {
                b.append(".TP\n").append(optionNames(o)).append('\n').append(esc(o.help())).append('\n');
            }
        }
        b.append(".SS Not supported\n");
        for (CommandLine.Option o : CommandLine.Option.values()) {
            if (o.unsupported() != null) {
                b.append(".TP\n").append(optionNames(o)).append('\n').append(esc(o.unsupported()))
                        .append(" (exit status 1).\n");
            }
        }
        b.append(".SH PLUGINS\n");
        index.plugins().forEach(e -> b.append(".TP\n\\fB").append(esc(e.name())).append("\\fR\n").append(esc(e.description()))
                .append(" (").append(pageName(e)).append("(1))\n"));
        b.append(".SH FILTERS\n");
        index.filters().forEach(e -> b.append(".TP\n\\fB").append(esc(e.name())).append("\\fR\n").append(esc(e.description()))
                .append(" (").append(pageName(e)).append("(1))\n"));
        b.append("""
                .SH CAPTIVE MODE
                With \\fB\\-\\-run\\fR '\\fICOMMAND\\fR' the server runs \\fICOMMAND\\fR with /bin/sh once it
                listens, stops when the command ends and exits with its status. The command sees:
                .TP
                \\fB$uri\\fR, \\fB$nbd\\fR
                the NBD URI of the export (nbd+unix:///NAME?socket=... or nbd://HOST:PORT/NAME), NAME being \\fB\\-e\\fR's
                .TP
                \\fB$unixsocket\\fR, \\fB$port\\fR, \\fB$exportname\\fR
                the Unix socket, the TCP port, the export name
                .TP
                \\fB$console\\fR
                the console socket, for \\fBnbd-osgi-client\\fR
                .PP
                \\fB$tls\\fR is not set without TLS.
                .SH ENVIRONMENT
                .TP
                \\fBJAVA_HOME\\fR
                the JDK to run (21 or later); else the java on PATH, else one under /usr/lib/jvm
                .TP
                \\fBNBD_OSGI_JAVA_OPTS\\fR
                more JVM options, after the defaults (so they win)
                .TP
                \\fBLISTEN_PID\\fR, \\fBLISTEN_FDS\\fR
                systemd socket activation: serve the listening socket passed as file descriptor 3
                .SH FILES
                .TP
                \\fIetc/config.properties\\fR
                listening address and port, limits, the metrics address (container mode)
                .TP
                \\fIetc/org.nbdosgi.export\\-NAME.cfg\\fR
                one export each (container mode)
                .TP
                \\fIdeploy/\\fR
                more plugin and filter bundles
                .TP
                \\fIlib/index.properties\\fR
                the plugins and filters shipped, written by the build (for \\fB\\-\\-help\\fR and \\fB\\-\\-dump\\-plugin\\fR)
                .TP
                \\fIlib/systemd/\\fR
                a service unit and a socket unit
                .SH EXIT STATUS
                0 when stopped by SIGTERM or SIGINT, the command's status in captive mode, 1 for a bad command
                line or a server that cannot start (one line on standard error).
                .SH SEE ALSO
                nbdkit(1), nbdkit\\-probing(1), nbdkit\\-captive(1), nbdkit\\-service(1), nbdinfo(1), nbdsh(1), qemu\\-img(1)
                """);
        return b.toString();
    }

    private static String optionNames(CommandLine.Option o) {
        List<String> names = new ArrayList<>();
        for (String n : o.names()) {
            String value = o.valueName() == null ? "" : (n.startsWith("--") ? "=" : " ") + "\\fI" + esc(o.valueName()) + "\\fR";
            names.add("\\fB" + esc(n) + "\\fR" + value);
        }
        return String.join(", ", names);
    }

    static String layerPage(Index.Entry e) {
        StringBuilder b = new StringBuilder(header(pageName(e), e.description()));
        String readme = e.readme();
        String synopsis = synopsisOf(readme);
        b.append(".SH SYNOPSIS\n.nf\n");
        if (synopsis != null) {
            b.append(esc(synopsis)).append('\n');
        } else if (e.kind() == Index.Kind.PLUGIN) {
            b.append("nbd\\-osgi [\\fIOPTION\\fR]... [\\-\\-filter=\\fIFILTER\\fR]... ").append(esc(e.name())).append(" [\\fIKEY\\fR=\\fIVALUE\\fR]...\n");
        } else {
            b.append("nbd\\-osgi [\\fIOPTION\\fR]... \\-\\-filter=").append(esc(e.name())).append(" \\fIPLUGIN\\fR [\\fIKEY\\fR=\\fIVALUE\\fR]...\n");
        }
        b.append(".fi\n.SH PARAMETERS\n");
        for (Index.Param p : e.params()) {
            b.append(".TP\n\\fB").append(esc(p.name())).append("=\\fR...");
            for (String a : p.aliases()) {
                b.append(", \\fB").append(esc(a)).append("=\\fR...");
            }
            String help = p.help() == null ? "" : p.help().strip();
            b.append('\n').append(esc(help));
            if (p.name().equals(e.magic())) {
                b.append(" (the \\fB").append(esc(p.name())).append("=\\fR may be left out)");
            }
            if (!help.isEmpty() && !help.endsWith(".")) {
                b.append('.');
            }
            b.append(p.required() ? " Required." : "").append(p.repeatable() ? " May be given more than once; every value counts." : "").append('\n');
        }
        if (e.params().isEmpty()) {
            b.append("None.\n");
        }
        b.append(".SH DESCRIPTION\n");
        String body = readme.isBlank() ? e.description() + ".\n\n" + e.help() : withoutTitle(readme, synopsis);
        b.append(roff(body));
        b.append(".SH VERSION\n").append(esc(e.name())).append(' ').append(esc(e.version())).append(", shipped in ")
                .append(esc(e.path().isEmpty() ? "a bundle" : e.path())).append('\n');
        b.append(".SH SEE ALSO\nnbd\\-osgi(1), nbdkit\\-").append(esc(e.name())).append('\\').append("-")
                .append(e.kind().key()).append("(1)\n");
        return b.toString();
    }

    /** The README's synopsis: a line holding one code span right after the title. */
    private static String synopsisOf(String readme) {
        for (String line : readme.lines().limit(4).toList()) {
            String t = line.strip();
            if (t.length() > 2 && t.startsWith("`") && t.endsWith("`") && t.indexOf('`', 1) == t.length() - 1) {
                return t.substring(1, t.length() - 1);
            }
        }
        return null;
    }

    private static String withoutTitle(String readme, String synopsis) {
        List<String> lines = new ArrayList<>(readme.lines().toList());
        if (!lines.isEmpty() && lines.get(0).startsWith("# ")) {
            lines.remove(0);
        }
        if (synopsis != null) {
            lines.remove("`" + synopsis + "`");
        }
        return String.join("\n", lines);
    }

    private static final Pattern CODE = Pattern.compile("`([^`]+)`");
    private static final Pattern BOLD = Pattern.compile("\\*\\*([^*]+)\\*\\*");
    private static final Pattern LINK = Pattern.compile("\\[([^]]+)]\\([^)]+\\)");

    /** Markdown as man macros: enough for the READMEs (headings, paragraphs, code, tables, lists). */
    static String roff(String markdown) {
        StringBuilder b = new StringBuilder();
        boolean code = false;
        boolean paragraph = false;
        boolean table = false;
        for (String line : markdown.lines().toList()) {
            String t = line.strip();
            if (!t.startsWith("|")) {
                table = false;
            }
            if (line.startsWith("```")) {
                b.append(code ? ".fi\n.RE\n" : ".PP\n.RS 4\n.nf\n");
                code = !code;
                paragraph = false;
            } else if (code) {
                b.append(esc(line)).append('\n');
            } else if (t.isEmpty()) {
                paragraph = false;
            } else if (t.startsWith("#")) {
                String title = t.replaceFirst("^#+\\s*", "");
                b.append(t.startsWith("###") ? ".SS " : ".SH ").append(esc(title.replace("`", "").replace("**", "").toUpperCase(Locale.ROOT)))
                        .append('\n');
                paragraph = false;
            } else if (t.startsWith("|")) {
                List<String> cells = new ArrayList<>();
                for (String c : t.substring(1, t.endsWith("|") ? t.length() - 1 : t.length()).split("\\|")) {
                    cells.add(c.strip());
                }
                if (!table) {
                    table = true;                                   // the header row names the columns: dropped
                } else if (!cells.stream().allMatch(c -> c.matches(":?-+:?"))) {
                    b.append(".TP\n").append(format(cells.get(0))).append('\n')
                            .append(format(String.join(" ", cells.subList(1, cells.size())))).append('\n');
                }
                paragraph = false;
            } else if (t.startsWith("- ") || t.startsWith("* ")) {
                b.append(".IP \\(bu 2\n").append(format(t.substring(2))).append('\n');
                paragraph = true;
            } else {
                if (!paragraph) {
                    b.append(".PP\n");
                    paragraph = true;
                }
                b.append(format(t)).append('\n');
            }
        }
        if (code) {
            b.append(".fi\n.RE\n");
        }
        return b.toString();
    }

    private static String format(String text) {
        return inline(esc(text));
    }

    private static String inline(String text) {
        String s = LINK.matcher(text).replaceAll("$1");
        s = CODE.matcher(s).replaceAll(m -> Matcher.quoteReplacement("\\fB" + m.group(1) + "\\fR"));
        return BOLD.matcher(s).replaceAll(m -> Matcher.quoteReplacement("\\fB" + m.group(1) + "\\fR"));
    }

    /** Text safe for roff: backslashes, dashes, and a leading dot or quote. */
    static String esc(String text) {
        String s = text.replace("\\", "\\e").replace("-", "\\-");
        if (s.startsWith(".") || s.startsWith("'")) {
            s = "\\&" + s;
        }
        return s;
    }
}
