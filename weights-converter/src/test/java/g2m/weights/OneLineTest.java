package g2m.weights;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class OneLineTest {
    @Test
    void controlCharactersBecomeUnicodeEscapes() {
        assertEquals("a\\u001b[2Jb\\u000ac\\u000dd\\u0009e\\u0007f\\u007fg\\u009bh\\u202ei\\u2066j\\u0000k\\u2028l",
                OneLine.escape("a\u001b[2Jb\nc\rd\te\u0007f\u007fg\u009bh\u202ei\u2066j\u0000k\u2028l"));
        String plain = "cannot read C:\\x ünïcödé 图片.png (\u00a0)";
        assertSame(plain, OneLine.escape(plain), "nothing to escape: the same string");
        String once = OneLine.escape("x\u001by\nz");
        assertEquals(once, OneLine.escape(once), "escaping twice changes nothing");
        assertEquals("null", OneLine.escape(null));
    }

    @Test
    void controlAndInvisibleCharactersAreEscaped() {
        assertEquals("a\\u001b[31mb\\u0007c\\u000ad\\u000d", OneLine.escape("a\u001b[31mb\u0007c\nd\r", 100));
        assertEquals("\\u009b2J \\u202egnp.exe \\u200b \\u2028", OneLine.escape("\u009b2J \u202egnp.exe \u200b \u2028", 100));
        assertEquals("lone \\ud800 high", OneLine.escape("lone \ud800 high", 100));
    }

    @Test
    void printableTextIsKeptAndLengthCapped() {
        assertEquals("conv1_1.weight ünï ✓ \ud83d\ude00", OneLine.escape("conv1_1.weight ünï ✓ \ud83d\ude00", 100));
        assertEquals("abcde…", OneLine.escape("abcdefghij", 5));
        assertEquals("x".repeat(200) + "…", OneLine.escape("x".repeat(1_000_000), 200));
    }
}
