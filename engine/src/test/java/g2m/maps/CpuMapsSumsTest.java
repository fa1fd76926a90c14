package g2m.maps;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CpuMaps computes only the sums the requested maps read: what else is requested changes no map, and a missing g2 is refused. */
class CpuMapsSumsTest {
    @Test
    void aMapIsTheSameToTheBitWhateverElseIsRequested() {
        int n = 2, c = 19, h = 5, w = 6, hw = h * w, size = n * c * hw;
        Random r = new Random(8);
        float[] a = new float[size], g1 = new float[size], g2 = new float[size];
        for (int i = 0; i < size; i++) {
            a[i] = Math.max(0f, (float) r.nextGaussian());
            g1[i] = (float) r.nextGaussian();
            g2[i] = (float) r.nextGaussian();
        }
        List<MapMethod> all = List.of(MapMethod.values());
        float[] together = new float[n * all.size() * hw];
        CpuMaps.compute(a, g1, g2, n, c, h, w, all, together);
        for (MapMethod m : all) {
            float[] alone = new float[n * hw];
            CpuMaps.compute(a, g1, m.needsG2() ? g2 : null, n, c, h, w, List.of(m), alone);
            for (int img = 0; img < n; img++) {
                int k = m.ordinal();
                float[] want = Arrays.copyOfRange(together, (img * all.size() + k) * hw, (img * all.size() + k + 1) * hw);
                assertArrayEquals(want, Arrays.copyOfRange(alone, img * hw, (img + 1) * hw), m + " alone, image " + img);
                for (float v : want) assertTrue(Float.isFinite(v), m + " finite");
            }
        }
    }

    @Test
    void aMapOfG2WithoutG2IsRefused() {
        float[] x = new float[4];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuMaps.compute(x, x, null, 1, 1, 2, 2, List.of(MapMethod.LAYERCAM, MapMethod.DGL), new float[8]));
        assertTrue(e.getMessage().contains("g2"), e.getMessage());
    }
}
