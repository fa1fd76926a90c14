package g2m.maps;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each method's declared sums are exactly the ones its formula reads: changing a sum it does not
 * declare (for S_AA, S_11, S_22 also the inverse norm computed from it) leaves its value
 * unchanged to the bit, and changing one it declares changes the value for some input. This is
 * what makes the derived needsG2 / needsChannelWeights (and the kernels' flags) right.
 */
class MapMethodSlotsTest {
    /** The inverse norm computed from a norm's sums: invA, inv1, inv2 (index 0, 1, 2). */
    static final Map<Slot, Integer> NORM = Map.of(Slot.S_AA, 0, Slot.S_11, 1, Slot.S_22, 2);

    static double value(MapMethod m, double[] s, double[] inv) {
        return m.value(slot -> s[slot.ordinal()], inv[0], inv[1], inv[2]);
    }

    @ParameterizedTest
    @EnumSource(MapMethod.class)
    void declaredSumsAreTheOnesTheFormulaReads(MapMethod m) {
        Random r = new Random(m.ordinal() + 1);
        for (Slot slot : Slot.values()) {
            boolean changed = false;
            for (int trial = 0; trial < 50; trial++) {
                double[] s = new double[Slot.values().length];
                for (int i = 0; i < s.length; i++) s[i] = r.nextGaussian();
                double[] inv = {r.nextDouble() + 0.1, r.nextDouble() + 0.1, r.nextDouble() + 0.1};
                double before = value(m, s, inv);
                s[slot.ordinal()] += 1 + r.nextDouble();
                if (NORM.containsKey(slot)) inv[NORM.get(slot)] *= 2;
                double after = value(m, s, inv);
                if (!m.slots.contains(slot)) {
                    assertEquals(Double.doubleToLongBits(before), Double.doubleToLongBits(after), m + " reads " + slot + " without declaring it");
                }
                changed |= after != before;
            }
            if (m.slots.contains(slot)) assertTrue(changed, m + " declares " + slot + " but its value never depends on it");
        }
    }
}
