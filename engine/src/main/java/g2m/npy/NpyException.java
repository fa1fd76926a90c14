package g2m.npy;

/** A {@code .npy} file that cannot be read or written; the message names the file and says why, in one line. */
public class NpyException extends RuntimeException {
    public NpyException(String message) {
        super(message);
    }

    public NpyException(String message, Throwable cause) {
        super(message, cause);
    }
}
