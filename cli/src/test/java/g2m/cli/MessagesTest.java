package g2m.cli;

import org.junit.jupiter.api.Test;

import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MessagesTest {
    @Test
    void anErrorLineIsPrefixedAndEscaped() {
        assertEquals("g2m-engine: bad \\u001b[31m\\u000a name", Messages.error("bad \u001b[31m\n name"));
    }

    /** println makes one line; print (usage help, the progress bar's \r) passes through. */
    @Test
    void theLineSafeWriterEscapesWhatIsPrintedAsALine() {
        StringWriter w = new StringWriter();
        var p = Messages.lineSafe(w);
        p.println("g2m-engine: skipped evil\u001b]0;owned\u0007\nname.png: not a picture");
        p.println((Object) "o\u0007");
        p.print("\r[===   ] 1/2\n");
        p.flush();
        String nl = System.lineSeparator();
        assertEquals("g2m-engine: skipped evil\\u001b]0;owned\\u0007\\u000aname.png: not a picture" + nl + "o\\u0007" + nl
                + "\r[===   ] 1/2\n", w.toString());
    }
}
