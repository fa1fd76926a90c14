package g2m.weights;

/**
 * Text from files and users (file names, tensor names, labels, XML) made safe to print as part of
 * one line: every control character — C0 (newline, ESC, BEL…), DEL, C1 — the line and paragraph
 * separators and the Unicode bidirectional overrides and isolates (which can make text read in
 * another order than it is stored) becomes {@code \}{@code uXXXX}, as in a Java or JSON string
 * literal; a newline becomes {@code \}{@code u000a}, ESC {@code \}{@code u001b}. Backslashes
 * already in the text stay as they are, so the result reads naturally and escaping twice
 * changes nothing. In this module so that the converter and the engine share one rule.
 */
public final class OneLine {
    private OneLine() {}

    /** {@code s} without control characters ("null" for null); the same instance when there is nothing to escape. */
    public static String escape(String s) {
        if (s == null) return "null";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (needsEscape(c)) {
                if (b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
                b.append(String.format("\\u%04x", (int) c));
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** Whether {@link #escape} replaces {@code c}. */
    public static boolean needsEscape(char c) {
        return Character.isISOControl(c) || c == '\u2028' || c == '\u2029'
                || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069');
    }
}
