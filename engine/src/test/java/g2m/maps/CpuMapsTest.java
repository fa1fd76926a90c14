package g2m.maps;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The map formulas on hand-checkable inputs, and the zero-norm rule unit(0) = 0. */
class CpuMapsTest {
    static final List<MapMethod> ALL = List.of(MapMethod.values());

    /** One image, 2 channels, 1x2 pixels. */
    static float[] run(float[] a, float[] g1, float[] g2) {
        float[] out = new float[ALL.size() * 2];
        CpuMaps.compute(a, g1, g2, 1, 2, 1, 2, ALL, out);
        return out;
    }

    static float get(float[] out, MapMethod m, int p) {
        return out[ALL.indexOf(m) * 2 + p];
    }

    @Test
    void formulasOnASmallCase() {
        // channel-major: A = [[3, 0], [4, 0]] → ‖A‖ = 5; g1 = [[1, -1], [0, 0]] → ‖g1‖ = √2
        float[] a = {3, 0, 4, 0};
        float[] g1 = {1, -1, 0, 0};
        float[] g2 = {0, 0, 2, 0}; // ‖g2‖ = 2
        float[] o = run(a, g1, g2);
        double s2 = Math.sqrt(2);
        assertEquals(3, get(o, MapMethod.LAYERCAM, 0), 1e-6);                       // ReLU(1)*3
        assertEquals(0, get(o, MapMethod.LAYERCAM, 1), 1e-6);                       // ReLU(-1)*0
        assertEquals((3 / 5.0 + 1 / s2) / s2, get(o, MapMethod.SGL_G1, 0), 1e-6);    // (a+u)u over channels
        assertEquals((0 - 1 / s2) * (-1 / s2), get(o, MapMethod.SGL_G1, 1), 1e-6);
        assertEquals(-1 * (4 / 5.0 - 1), get(o, MapMethod.SGL_G2, 0), 1e-6);         // −v(a−v), channel 2 only
        assertEquals(0, get(o, MapMethod.SGL_G2, 1), 1e-6);
        assertEquals((1 / s2) * (3 / 5.0 - 0), get(o, MapMethod.DGL, 0), 1e-6);      // u(a − v)
        assertEquals(3, get(o, MapMethod.HIRESCAM, 0), 1e-6);
        // Grad-CAM: w = mean(g1) per channel = [0, 0] → 0
        assertEquals(0, get(o, MapMethod.GRADCAM, 0), 1e-6);
        // XGrad-CAM: w_0 = Σ g1·A / Σ A = 3/3 = 1, w_1 = 0/4 = 0 → map = A_0
        assertEquals(3, get(o, MapMethod.XGRADCAM, 0), 1e-6);
        // Grad-CAM++: channel 0, S = ΣA = 3; at g=1: α = 1/(2 + 3) → w_0 = 0.2 (g=-1 gives ReLU 0)
        assertEquals(0.2 * 3, get(o, MapMethod.GRADCAM_PP, 0), 1e-6);
    }

    @Test
    void deadTapsGiveFiniteDefinedMaps() {
        float[] zero = new float[4];
        float[] a = {3, 0, 4, 0};
        float[] g = {1, -1, 0, 0};
        // A = 0: unit(A) = 0, so SGL-G1 = Σ unit(g1)² and DGL = −Σ unit(g1)·unit(g2)
        float[] o = run(zero, g, g);
        assertEquals(0.5, get(o, MapMethod.SGL_G1, 0), 1e-6);
        assertEquals(-0.5, get(o, MapMethod.DGL, 0), 1e-6);
        // g1 = g2 = 0: every map is exactly 0
        float[] z = run(a, zero, zero);
        for (float v : z) assertEquals(0f, v);
        for (float v : run(zero, zero, zero)) assertTrue(v == 0f, "all zero, no NaN");
    }

    @Test
    void methodNamesParse() {
        assertEquals(List.of(MapMethod.DGL, MapMethod.GRADCAM_PP), MapMethod.parseList("dgl, GradCAM++ ,dgl"));
        assertEquals(MapMethod.SGL_G1, MapMethod.parse("sgl_g1"));
        assertThrows(IllegalArgumentException.class, () -> MapMethod.parseList(","));
    }
}
