package g2m.weights;

/**
 * The converter's one error type: a problem with the user's input (unreadable, corrupt,
 * hostile or wrong-shaped weights) or with the environment (no network, existing output).
 * Its message is a complete, single line meant for the user; callers print it and exit 2.
 */
public class WeightsException extends RuntimeException {
    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }
}
