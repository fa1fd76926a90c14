package g2m.weights.pytorch;

/**
 * A problem with the checkpoint's content, described without the file name; {@link PthReader}
 * turns it into a {@link g2m.weights.WeightsException} that starts with the file name.
 */
final class PthFormatException extends RuntimeException {
    PthFormatException(String message) {
        super(message, null, false, false);
    }
}
