package g2m.weights;

/**
 * Text from a file (tensor names, metadata, keys) made safe to print on one terminal line:
 * control characters (C0, DEL, C1), line and paragraph separators, invisible format characters
 * (bidirectional overrides, zero-width) and lone surrogates become {@code \}{@code uXXXX}, and
 * the length is capped.
 */
public final class Printable {
    private Printable() {}

    /** {@code s} escaped, at most {@code max} characters of it (then "…"). */
    public static String escape(String s, int max) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(Math.min(s.length(), max) + 16);
        int i = 0;
        for (; i < s.length() && b.length() < max; i++) {
            char c = s.charAt(i);
            boolean pairedSurrogate = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
            if (pairedSurrogate) {
                b.append(c).append(s.charAt(++i));
            } else if (unsafe(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        if (i < s.length()) b.append('…');
        return b.toString();
    }

    private static boolean unsafe(char c) {
        if (Character.isISOControl(c) || Character.isSurrogate(c)) return true;
        int type = Character.getType(c);
        return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
    }
}
