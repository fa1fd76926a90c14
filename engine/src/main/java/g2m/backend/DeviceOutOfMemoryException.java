package g2m.backend;

/**
 * A backend ran out of device (GPU) memory. A user error, not a bug: the message says how much
 * was asked for and what was free, and, once the caller knows it, the batch size to lower.
 */
public class DeviceOutOfMemoryException extends RuntimeException {
    private final boolean batchNamed;

    public DeviceOutOfMemoryException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private DeviceOutOfMemoryException(String message, Throwable cause, boolean batchNamed) {
        super(message, cause);
        this.batchNamed = batchNamed;
    }

    /** The same failure, with the advice for a run of {@code batch} images (added once). */
    public DeviceOutOfMemoryException atBatch(int batch) {
        if (batchNamed) return this;
        String advice = batch > 1
                ? " at batch " + batch + ": lower the batch size (--batch, now " + batch + ")"
                : " even at batch 1: use smaller pictures, a GPU with more free memory, or --device cpu";
        return new DeviceOutOfMemoryException(getMessage() + advice, this, true);
    }
}
