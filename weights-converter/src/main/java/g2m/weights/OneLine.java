package g2m.weights;

/**
 * Text from files and users (file names, tensor names, labels, XML, metadata) made safe to print
 * as part of one terminal line: control characters (C0 such as newline, ESC, BEL; DEL; C1), line
 * and paragraph separators, invisible format characters (bidirectional overrides and isolates,
 * which can make text read in another order than it is stored; zero-width characters) and lone
 * surrogates become {@code \}{@code uXXXX}, as in a Java or JSON string literal. Backslashes
 * already in the text stay as they are, so the result reads naturally and escaping twice changes
 * nothing. In this module so that the converter and the engine share one rule.
 */
public final class OneLine {
    private OneLine() {}

    /** {@code s} escaped ("null" for null); the same instance when there is nothing to escape. */
    public static String escape(String s) {
        if (s == null) return "null";
        for (int i = 0; i < s.length(); i++) {
            if (needsEscape(s, i)) return escape(s, Integer.MAX_VALUE);
        }
        return s;
    }

    /** {@code s} escaped, at most {@code max} characters of it (then "…"); "" for null. */
    public static String escape(String s, int max) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder((int) Math.min((long) s.length() + 16, (long) max + 16));
        int i = 0;
        for (; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            if (needsEscape(s, i)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
                if (Character.isHighSurrogate(c)) b.append(s.charAt(++i));   // a valid pair: kept whole
            }
        }
        if (i < s.length()) b.append('…');
        return b.toString();
    }

    /** Whether the character at {@code i} is escaped (a surrogate only when it is not half of a pair). */
    private static boolean needsEscape(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) return !(i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1)));
        if (Character.isLowSurrogate(c)) return !(i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
        if (Character.isISOControl(c)) return true;
        int type = Character.getType(c);
        return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
    }
}
