package g2m.weights;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PrintableTest {
    @Test
    void controlAndInvisibleCharactersAreEscaped() {
        assertEquals("a\\u001b[31mb\\u0007c\\u000ad\\u000d", Printable.escape("a\u001b[31mb\u0007c\nd\r", 100));
        assertEquals("\\u009b2J \\u202egnp.exe \\u200b \\u2028", Printable.escape("\u009b2J \u202egnp.exe \u200b \u2028", 100));
        assertEquals("lone \\ud800 high", Printable.escape("lone \ud800 high", 100));
    }

    @Test
    void printableTextIsKeptAndLengthCapped() {
        assertEquals("conv1_1.weight ünï ✓ \ud83d\ude00", Printable.escape("conv1_1.weight ünï ✓ \ud83d\ude00", 100));
        assertEquals("abcde…", Printable.escape("abcdefghij", 5));
        assertEquals("x".repeat(200) + "…", Printable.escape("x".repeat(1_000_000), 200));
    }
}
