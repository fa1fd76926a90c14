package g2m.eval;

/**
 * One of the evaluation's own output files (checkpoint, maps/*.png, results, boxes.csv) could not
 * be written: a full disk, a read-only folder, something in the way. Not a property of the
 * picture at hand, so the run stops and records nothing for it; the same command continues once
 * the cause is gone.
 */
final class EvalOutputException extends EvalException {
    public EvalOutputException(String message, Throwable cause) {
        super(message, cause);
    }
}
