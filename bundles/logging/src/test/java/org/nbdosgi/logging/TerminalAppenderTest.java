package org.nbdosgi.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;

class TerminalAppenderTest {
    @TempDir
    Path dir;

    private Path file;
    private Logger log;
    private TerminalAppender appender;

    @BeforeEach
    void setUp() {
        LoggerContext context = new LoggerContext();
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.setPattern("%msg%n");
        layout.start();
        file = dir.resolve("log");
        appender = new TerminalAppender(file.toString());
        appender.setContext(context);
        appender.setLayout(layout);
        appender.start();
        log = context.getLogger("t");
        log.addAppender(appender);
    }

    /** Two consoles overlap (the old one still ending): whichever leaves, lines go to the one still there. */
    @Test
    void linesGoToTheLatestConsoleAndBackToTheEarlierWhenItLeaves() throws IOException {
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        Consumer<String> a = first::add;
        Consumer<String> b = second::add;
        appender.printAbove(a);
        log.info("one");
        appender.printAbove(b);
        log.info("two");
        appender.printBelow(b);
        log.info("three");
        appender.printAbove(b);
        appender.printBelow(a);                 // the earlier console leaves: the later keeps the lines
        log.info("four");
        appender.printBelow(b);
        log.info("five");
        assertEquals(List.of("one", "three"), first);
        assertEquals(List.of("two", "four"), second);
        assertEquals("five\n", Files.readString(file), "no console left: the stream");
    }

    @Test
    void aConsoleWhoseTerminalIsGoneLosesNoLine() throws IOException {
        appender.printAbove(line -> {
            throw new IOError(new IOException("terminal closed"));
        });
        log.warn("kept");
        assertEquals("kept\n", Files.readString(file));
    }
}
