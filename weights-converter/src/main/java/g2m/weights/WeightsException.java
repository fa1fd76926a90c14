package g2m.weights;

/**
 * The converter's one error type: a problem with the user's input (unreadable, corrupt,
 * hostile or wrong-shaped weights) or with the environment (no network, existing output).
 * Its message is a single line meant for the user; callers print it and exit 2. Messages often
 * quote names read from hostile files, so control characters are escaped and length is capped
 * here, once, rather than at every call site.
 */
public class WeightsException extends RuntimeException {
    static final int MAX_MESSAGE = 600;

    public WeightsException(String message) {
        super(oneLine(message));
    }

    public WeightsException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    static String oneLine(String s) {
        return s == null ? "unknown error" : OneLine.escape(s, MAX_MESSAGE);
    }
}
