package org.nbdosgi.console.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

class PlainTextTest {
    private static String plain(String... pieces) throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        try (PlainText out = new PlainText(sink)) {
            for (String p : pieces) {
                out.write(p.getBytes(StandardCharsets.UTF_8));
            }
        }
        return sink.toString(StandardCharsets.UTF_8);
    }

    @Test
    void grepsColouredMatchLosesItsColoursAndKeepsItsText() throws IOException {
        assertEquals("\"\"  running  1G  memory size=1G\n",
                plain("\"\"  running  1G  \u001b[31;1mmem\u001b[0mory size=1G\n"));
    }

    @Test
    void sequencesSplitAcrossWritesAndOtherKindsOfEscapeAreDroppedToo() throws IOException {
        assertEquals("ab", plain("a\u001b[3", "1m", "b"));
        assertEquals("title?x", plain("title?\u001b]0;my title\u0007x"));
        assertEquals("yz", plain("y\u001b]2;t\u001b\\z"));
        assertEquals("keypad off, charset reset: ok", plain("keypad off\u001b>, charset reset\u001b(B: ok"));
    }

    @Test
    void textWithoutEscapesPassesByteForByteUtf8Included() throws IOException {
        assertEquals("größe 1 GiB — ✓\n", plain("größe 1 GiB — ✓\n"));
    }
}
