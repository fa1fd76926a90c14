package g2m.eval;

/** A problem with the evaluation's inputs or output folder, told to the user in one line. */
public final class EvalException extends RuntimeException {
    public EvalException(String message) {
        super(message);
    }

    public EvalException(String message, Throwable cause) {
        super(message, cause);
    }
}
