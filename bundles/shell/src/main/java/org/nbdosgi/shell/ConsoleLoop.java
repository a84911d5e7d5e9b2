package org.nbdosgi.shell;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.apache.felix.gogo.jline.Expander;
import org.apache.felix.gogo.jline.Highlighter;
import org.apache.felix.gogo.jline.Parser;
import org.apache.felix.gogo.jline.Shell;
import org.apache.felix.gogo.runtime.CommandSessionImpl;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.apache.felix.service.command.Job;
import org.jline.builtins.Completers;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.nbdosgi.console.session.Script;
import org.nbdosgi.console.session.SessionVariables;

/**
 * One interactive console on a JLine terminal (the local one, or an SSH session's): reads command
 * lines with Gogo's completion, highlighting and the {@code etc/gosh_profile} setup, runs them,
 * and prints a failure as its message alone (Gogo's own shell prints the exception's class name).
 * {@code exit}/{@code logout} or Ctrl-D end it, after {@code mayEnd} agrees. Control plane (one
 * thread per console).
 */
final class ConsoleLoop {
    /** The session variable {@code exit}/{@code logout} set. */
    static final String EXIT = ".nbd.exit";

    private final CommandProcessor processor;
    private final Shell gogo;
    private final Path profile;

    ConsoleLoop(CommandProcessor processor, Shell gogo, Path profile) {
        this.processor = processor;
        this.gogo = gogo;
        this.profile = profile;
    }

    CommandProcessor processor() {
        return processor;
    }

    /**
     * Runs the console until it ends: says {@code howToLeave} after the profile's greeting, then
     * reads command lines; {@code mayEnd} is asked at Ctrl-D or exit, with the reader.
     */
    void run(Terminal terminal, String howToLeave, java.util.function.Function<LineReader, Boolean> mayEnd,
            java.util.function.Consumer<LineReader> started) throws Exception {
        PrintStream out = new PrintStream(terminal.output(), true, terminal.encoding());
        try (CommandSession session = processor.createSession(terminal.input(), out, out)) {
            session.put(Shell.VAR_TERMINAL, terminal);
            session.put(Shell.VAR_CONTEXT, gogo.getContext());
            session.put(Shell.VAR_PROCESSOR, processor);
            session.put(Shell.VAR_SESSION, session);
            LineReader reader = LineReaderBuilder.builder().terminal(terminal)
                    .variables(((CommandSessionImpl) session).getVariables())
                    .completer(new Completers.Completer(completion(session)))
                    .highlighter(new Highlighter(session)).parser(new Parser()).expander(new Expander(session)).build();
            reader.setOpt(LineReader.Option.AUTO_FRESH_LINE);
            session.put(Shell.VAR_READER, reader);
            session.put(Shell.VAR_COMPLETIONS, new HashMap<>());
            // Ctrl-C stops the command running (log:tail, a long pipe), as in Gogo's own shell
            terminal.handle(Terminal.Signal.INT, signal -> {
                Job job = ((CommandSessionImpl) session).foregroundJob();
                if (job != null) {
                    job.interrupt();
                }
            });
            session.put(SessionVariables.ASK, (java.util.function.Function<String, String>) question -> ask(reader, question));
            if (Files.isRegularFile(profile)) {
                try {
                    gogo.source(session, profile.toUri().toString());
                } catch (Exception e) {
                    say(terminal, "gosh_profile: " + Script.message(e));
                }
            }
            say(terminal, howToLeave);
            started.accept(reader);
            // a terminal whose output failed is gone (an SSH client that dropped): JLine would go on
            // reading it, each read ending at once
            while (!terminal.writer().checkError()) {
                String line;
                try {
                    line = reader.readLine(Shell.getPrompt(session), Shell.getRPrompt(session), (Character) null, null);
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    if (mayEnd.apply(reader)) {
                        return;
                    }
                    continue;
                }
                if (!line.isBlank()) {
                    execute(session, terminal, line);
                }
                if (Boolean.TRUE.equals(session.get(EXIT))) {
                    session.put(EXIT, null);
                    if (mayEnd.apply(reader)) {
                        return;
                    }
                }
            }
        }
    }

    private static void execute(CommandSession session, Terminal terminal, String line) {
        try {
            Object result = session.execute(line);
            session.put("_", result);
            if (result != null && !Boolean.FALSE.equals(session.get(".Gogo.format"))) {
                terminal.writer().println(session.format(result, Converter.INSPECT));
            }
        } catch (Exception e) {
            session.put("exception", e);
            say(terminal, Script.message(e));
        }
        terminal.flush();
    }

    /** A question on the console's own line; null at Ctrl-D. */
    static String ask(LineReader reader, String question) {
        try {
            return reader.readLine(question);
        } catch (UserInterruptException | EndOfFileException e) {
            return null;
        }
    }

    private static void say(Terminal terminal, String text) {
        terminal.writer().println(text);
        terminal.flush();
    }

    /** What Gogo's completer needs to know about this session (as Gogo's own shell provides). */
    private static Completers.CompletionEnvironment completion(CommandSession session) {
        return new Completers.CompletionEnvironment() {
            @Override
            public Map<String, java.util.List<Completers.CompletionData>> getCompletions() {
                return Shell.getCompletions(session);
            }

            @Override
            public Set<String> getCommands() {
                return Shell.getCommands(session);
            }

            @Override
            public String resolveCommand(String command) {
                return Shell.resolve(session, command);
            }

            @Override
            public String commandName(String command) {
                int colon = command.indexOf(':');
                return colon >= 0 ? command.substring(colon + 1) : command;
            }

            @Override
            public Object evaluate(LineReader reader, ParsedLine line, String func) throws Exception {
                session.put(Shell.VAR_COMMAND_LINE, line);
                return session.execute(func);
            }
        };
    }
}
