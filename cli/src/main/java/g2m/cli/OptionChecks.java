package g2m.cli;

import g2m.image.ImageLoader;

/**
 * Range checks of the numeric options the commands share, made before anything starts: a value
 * out of range is one line and exit 2, not an internal error from deep inside (a thread pool of
 * 100000, a negative array size).
 */
final class OptionChecks {
    private OptionChecks() {}

    /** More threads than this never helps (and ForkJoinPool itself stops at 32767). */
    static final int MAX_THREADS = 1024;

    static void threads(int threads) {
        if (threads < 0 || threads > MAX_THREADS) {
            throw new Main.UserException("--threads must be 0 (all cores) to " + MAX_THREADS + ", got " + threads);
        }
    }

    static void maxPixels(long maxPixels) {
        if (maxPixels < 1 || maxPixels > ImageLoader.MAX_PIXELS_CEILING) {
            throw new Main.UserException("--max-pixels must be 1 to " + ImageLoader.MAX_PIXELS_CEILING + ", got " + maxPixels);
        }
    }

    static void atLeast(String option, long value, long min) {
        if (value < min) throw new Main.UserException(option + " must be at least " + min + ", got " + value);
    }
}
