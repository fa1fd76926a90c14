package g2m.testing;

import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;

import static g2m.testing.Parity.assertClose;
import static g2m.testing.Parity.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each clause of the parity rule, on arrays small enough to check by hand. */
class ParityTest {
    static final float[] REF = {3, 0, -4}; // ‖REF‖ = 5

    static String failure(Runnable r) {
        return assertThrows(AssertionFailedError.class, r::run).getMessage();
    }

    @Test
    void relativeToTheReferencesNorm() {
        assertEquals(0, relErr(REF, REF.clone()));
        assertEquals(0.2, relErr(REF, new float[] {3, 1, -4}), 1e-15);                   // ‖(0, 1, 0)‖ / 5
        assertEquals(0.2, relErr(new double[] {3e6, 0, -4e6}, new float[] {3e6f, 1e6f, -4e6f}), 1e-15); // scale-free
        // divided by the reference's norm, not the output's: the arguments are not interchangeable
        assertEquals(1.0 / Math.sqrt(26), relErr(new float[] {3, 1, -4}, REF), 1e-15);
        assertEquals(relErr(REF, new float[] {3, 1, -4}), relErr(new double[] {3, 0, -4}, new double[] {3, 1, -4}));
    }

    @Test
    void passesWithinTheToleranceAndFailsAboveItSayingWhatWhichErrorAndWhichTolerance() {
        float[] out = {3, 1, -4};
        assertEquals(0.2, assertClose(REF, out, 0.21, "within"), 1e-15); // and says by how much
        assertClose(new double[] {3, 0, -4}, out, 0.25, "double reference");
        String m = failure(() -> assertClose(REF, out, 0.19, "conv forward"));
        assertTrue(m.startsWith("conv forward: "), m);
        assertTrue(m.contains("relative error 0.200") && m.contains("tolerance 0.190"), m);
        failure(() -> assertClose(new double[] {3, 0, -4}, new double[] {3, 1, -4}, 0.1, "both double"));
    }

    @Test
    void lengthsMustMatch() {
        String m = failure(() -> assertClose(REF, new float[] {3, 0}, 1, "short"));
        assertTrue(m.contains("short") && m.contains("lengths differ: 3 reference values, 2 output values"), m);
        failure(() -> assertClose(REF, new float[] {3, 0, -4, 0}, 1, "a longer output with a matching head"));
        failure(() -> relErr(REF, new float[] {3, 0}));
        failure(() -> assertClose(new float[0], new float[0], 1, "empty"));
    }

    @Test
    void anAllZeroReferenceRequiresAnExactlyZeroOutput() {
        float[] zero = new float[4];
        assertClose(zero, new float[4], 0, "dead tap");
        assertClose(zero, new float[] {0, -0f, 0, 0}, 0, "negative zero is zero");
        assertEquals(0, relErr(zero, new float[4]));
        assertEquals(Double.POSITIVE_INFINITY, relErr(zero, new float[] {0, 1e-30f, 0, 0}));
        // however generous the tolerance: a map where the reference has none is wrong
        String m = failure(() -> assertClose(zero, new float[] {0, 1e-30f, 0, 0}, 1e6, "dead tap"));
        assertTrue(m.startsWith("dead tap: the reference is all zero") && m.contains("norm is 1.00e-30"), m);
        failure(() -> assertClose(new double[2], new float[] {0, 1e-9f}, 1, "double zero reference"));
    }

    @Test
    void notFiniteFailsWhateverTheTolerance() {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            String m = failure(() -> assertClose(REF, new float[] {3, bad, -4}, 1e30, "maps"));
            assertTrue(m.contains("maps: not finite at index 1"), m);
            failure(() -> assertClose(new float[] {3, bad, -4}, REF, 1e30, "reference with " + bad));
            // the value function fails too, so that `relErr(a, b) > 1e-2` cannot pass on a NaN or an infinity
            failure(() -> relErr(REF, new float[] {3, bad, -4}));
        }
        failure(() -> assertClose(new double[] {Double.NaN}, new float[] {1}, 1, "double reference"));
    }

    @Test
    void aToleranceMustBeAFiniteNumberAtLeastZero() {
        for (double bad : new double[] {-1e-9, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThrows(IllegalArgumentException.class, () -> assertClose(REF, REF, bad, "tolerance " + bad));
        }
    }
}
