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

    static String oneLine(String s) {
        if (s == null) return "unknown image error";
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
