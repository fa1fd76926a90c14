package g2m.testing;

import org.opentest4j.AssertionFailedError;

import java.util.Locale;
import java.util.function.IntToDoubleFunction;

/**
 * The one parity metric of the test suites: how far an output is from its reference, as the
 * relative error ‖actual − expected‖₂ / ‖expected‖₂ (summed in double). Every test that compares
 * floats against a reference (a PyTorch golden, a double-precision loop, the other backend)
 * goes through here, under one rule:
 * <ul>
 *   <li>the lengths must match, and there must be something to compare;</li>
 *   <li>every value on both sides must be finite: a NaN or an infinity fails wherever it is,
 *       whatever the tolerance;</li>
 *   <li>an all-zero reference (‖expected‖₂ = 0, e.g. a dead tap's map in the goldens) requires
 *       an output that is exactly zero too: there is no scale to be relative to, and a small
 *       non-zero map where the reference has none is a wrong map, not a rounding error;</li>
 *   <li>otherwise the relative error must be ≤ the tolerance.</li>
 * </ul>
 * A failure says what was compared, the error measured and the tolerance. With the environment
 * variable {@code G2M_PRINT_ERRORS} set, every measured error is printed as well (to see how much
 * room a tolerance leaves).
 */
public final class Parity {
    private Parity() {}

    /**
     * {@code ‖actual − expected‖₂ / ‖expected‖₂}: 0 when both are all zero, +∞ when only the
     * reference is. Lengths that differ, no values, or a value that is not finite fail the
     * calling test here (an AssertionFailedError) rather than give a number that a comparison
     * such as {@code relErr(a, b) > 1e-2} could take for an answer.
     */
    public static double relErr(float[] expected, float[] actual) {
        return measure(expected.length, i -> expected[i], actual.length, i -> actual[i], "values");
    }

    /** {@link #relErr(float[], float[])} against a double-precision reference. */
    public static double relErr(double[] expected, float[] actual) {
        return measure(expected.length, i -> expected[i], actual.length, i -> actual[i], "values");
    }

    /** {@link #relErr(float[], float[])} with both sides in double precision. */
    public static double relErr(double[] expected, double[] actual) {
        return measure(expected.length, i -> expected[i], actual.length, i -> actual[i], "values");
    }

    /**
     * Fails unless {@code actual} is within {@code tolerance} of {@code expected} by the rule above;
     * {@code what} names the comparison. Returns the relative error (for a test that reports its worst).
     */
    public static double assertClose(float[] expected, float[] actual, double tolerance, String what) {
        return check(expected.length, i -> expected[i], actual.length, i -> actual[i], tolerance, what);
    }

    /** {@link #assertClose(float[], float[], double, String)} against a double-precision reference. */
    public static double assertClose(double[] expected, float[] actual, double tolerance, String what) {
        return check(expected.length, i -> expected[i], actual.length, i -> actual[i], tolerance, what);
    }

    /** {@link #assertClose(float[], float[], double, String)} with both sides in double precision. */
    public static double assertClose(double[] expected, double[] actual, double tolerance, String what) {
        return check(expected.length, i -> expected[i], actual.length, i -> actual[i], tolerance, what);
    }

    private static double check(int ne, IntToDoubleFunction e, int na, IntToDoubleFunction a, double tolerance, String what) {
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException(what + ": tolerance " + tolerance + " is not a finite number >= 0");
        }
        double err = measure(ne, e, na, a, what);
        if (System.getenv("G2M_PRINT_ERRORS") != null) System.out.printf(Locale.ROOT, "%s: relative error %.3g%n", what, err);
        if (err == Double.POSITIVE_INFINITY) {
            double norm = 0;
            for (int i = 0; i < na; i++) norm += a.applyAsDouble(i) * a.applyAsDouble(i);
            throw new AssertionFailedError(String.format(Locale.ROOT,
                    "%s: the reference is all zero, so the output must be exactly zero too, but its norm is %.3g (%d values;"
                            + " the tolerance %.3g applies to a non-zero reference only)", what, Math.sqrt(norm), na, tolerance));
        }
        if (!(err <= tolerance)) {
            throw new AssertionFailedError(String.format(Locale.ROOT, "%s: relative error %.3g > tolerance %.3g (%d values)",
                    what, err, tolerance, na));
        }
        return err;
    }

    private static double measure(int ne, IntToDoubleFunction e, int na, IntToDoubleFunction a, String what) {
        if (ne != na) throw new AssertionFailedError(what + ": lengths differ: " + ne + " reference values, " + na + " output values");
        if (ne == 0) throw new AssertionFailedError(what + ": nothing to compare (no values)");
        double num = 0, den = 0;
        for (int i = 0; i < ne; i++) {
            double x = e.applyAsDouble(i), y = a.applyAsDouble(i);
            if (!Double.isFinite(x) || !Double.isFinite(y)) {
                throw new AssertionFailedError(what + ": not finite at index " + i + ": reference " + x + ", output " + y);
            }
            double d = y - x;
            num += d * d;
            den += x * x;
        }
        if (den == 0) return num == 0 ? 0 : Double.POSITIVE_INFINITY;
        return Math.sqrt(num / den);
    }
}
