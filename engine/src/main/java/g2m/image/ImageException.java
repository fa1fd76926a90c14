package g2m.image;

/**
 * A picture that cannot be used: missing, unreadable, a directory, empty, truncated, corrupt,
 * not an image, too large, or an output that cannot be written. The message is one line that
 * names the file, meant for the user (callers print it and exit 2, like the converter's errors);
 * control characters from file names are escaped and the length is capped.
 */
public class ImageException extends RuntimeException {
    static final int MAX_MESSAGE = 600;

    public ImageException(String message) {
        super(oneLine(message));
    }

    public ImageException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    /** {@code s} as one printable line (the shared rule, {@link g2m.weights.OneLine}), at most about {@value #MAX_MESSAGE} characters. */
    static String oneLine(String s) {
        return s == null ? "unknown image error" : g2m.weights.OneLine.escape(s, MAX_MESSAGE);
    }
}
