package g2m.backend;

/** The requested backend cannot run here (no GPU, no driver, missing native library); one-line message. */
public class BackendUnavailableException extends RuntimeException {
    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
