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
}
