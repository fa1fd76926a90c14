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

    /** {@code s} as one printable line (the shared rule, {@link g2m.weights.OneLine}), at most about {@value #MAX_MESSAGE} characters. */
    public static String oneLine(String s) {
        return s == null ? "unknown error" : g2m.weights.OneLine.escape(s, MAX_MESSAGE);
    }
}
