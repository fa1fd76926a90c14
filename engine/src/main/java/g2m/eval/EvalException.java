package g2m.eval;

/**
 * A problem with the evaluation's inputs or output folder, told to the user in one line: the
 * message often quotes file names, labels or XML text, so control characters in it are escaped
 * ({@code \u001b}) and its length is capped, whoever prints it.
 */
public class EvalException extends RuntimeException {
    static final int MAX_MESSAGE = 600;

    public EvalException(String message) {
        super(oneLine(message));
    }

    public EvalException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** {@code s} as one printable line: control characters and line separators escaped, at most about 600 characters. */
    public static String oneLine(String s) {
        if (s == null) return "unknown error";
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_MESSAGE + 16));
        for (int i = 0; i < s.length() && b.length() < MAX_MESSAGE; i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        if (b.length() >= MAX_MESSAGE) b.append("…");
        return b.toString();
    }
}
