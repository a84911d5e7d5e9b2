package org.nbdosgi.shell;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Gogo's own shell commands (gogo.jline's Builtin, Procedural, Posix and Shell), by name, with the
 * one line {@code help} shows for each: gogo.jline describes them only in each one's
 * {@code --help}. The console offers these and no others of theirs (their {@code help} gives way
 * to the console's).
 */
final class GogoCommands {
    static final Map<String, String> BUILTIN = ordered(
            "format", "print a value as the console formats it",
            "getopt", "parse a script's options",
            "new", "create a Java object (new CLASS ARGUMENTS...)",
            "set", "show the session's variables, or set shell options",
            "tac", "read standard input into a string or a list of lines (for scripts)",
            "type", "tell what a command name stands for",
            "jobs", "list this session's jobs",
            "fg", "bring a job to the foreground",
            "bg", "resume a stopped job in the background",
            "keymap", "show or change the key bindings",
            "setopt", "turn line editing options on",
            "unsetopt", "turn line editing options off",
            "complete", "define how Tab completes a command's arguments",
            "history", "show the commands typed before",
            "widget", "define or list line editing widgets",
            "__files", "completion helper: file names",
            "__directories", "completion helper: directory names",
            "__usage_completion", "completion helper: a command's options from its usage");
    static final Map<String, String> PROCEDURAL = ordered(
            "each", "run a closure for each element of a list",
            "if", "run a closure if a condition holds (else another)",
            "not", "negate a condition",
            "throw", "raise an error (for scripts)",
            "try", "run a closure, and another if it fails",
            "until", "run a closure until a condition holds",
            "while", "run a closure while a condition holds",
            "break", "leave a loop",
            "continue", "go on with a loop's next round");
    static final Map<String, String> POSIX = ordered(
            "cat", "print files or standard input",
            "echo", "print its arguments",
            "grep", "print the lines that match a pattern",
            "sort", "sort lines",
            "sleep", "wait a number of seconds",
            "cd", "change the session's directory",
            "pwd", "print the session's directory",
            "ls", "list files",
            "less", "page through files or standard input",
            "watch", "run a command again and again, showing its output",
            "nano", "edit a file",
            "tmux", "split the terminal into windows",
            "head", "print the first lines",
            "tail", "print the last lines",
            "clear", "clear the screen",
            "wc", "count lines, words and bytes",
            "date", "print the date and time",
            "ttop", "show the busiest threads of the JVM, refreshing");
    static final Map<String, String> SHELL = ordered(
            "gosh", "run a script or a command line in a new shell",
            "sh", "run a script or a command line in a new shell",
            "source", "run a script file in this session");

    private GogoCommands() {
    }

    private static Map<String, String> ordered(String... nameThenSummary) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < nameThenSummary.length; i += 2) {
            out.put(nameThenSummary[i], nameThenSummary[i + 1]);
        }
        return out;
    }
}
