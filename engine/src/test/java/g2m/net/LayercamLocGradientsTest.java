package g2m.net;

import g2m.api.G2mEngine;
import g2m.api.ImageMaps;
import g2m.api.MapRequest;
import g2m.backend.Backend;
import g2m.backend.DeviceArray;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import g2m.weights.Checkpoint;
import g2m.weights.Tensor;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static g2m.net.Vgg16NetGoldenTest.TOL;
import static g2m.net.Vgg16NetGoldenTest.resource;
import static g2m.net.Vgg16NetGoldenTest.tinyWeights;
import static g2m.testing.Parity.assertClose;
import static g2m.testing.Parity.relErr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * layercam_loc's gradient source against maps_layercam_loc.safetensors, which
 * tools/reference/g2m_reference.py makes the way layercam_loc does (gradient hooks on the ReLU
 * output and the following max-pool, the first gradient to arrive upsampled with align-corners):
 * at conv1_2 … conv5_3 every method within ‖out − ref‖/‖ref‖ ≤ 1e-4; at the other 13 taps the
 * maps stay those of the tap's own gradient (maps_small, same input and classes).
 */
public class LayercamLocGradientsTest {
    static final Set<Tap> FIVE = EnumSet.of(Tap.CONV1_2, Tap.CONV2_2, Tap.CONV3_3, Tap.CONV4_3, Tap.CONV5_3);
    static final int[] CLASSES = {3, 7};
    static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(0);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static Checkpoint golden(String name) {
        return Safetensors.read(resource("/golden/" + name + ".safetensors"));
    }

    /** The golden of one (tap, method) in layercam_loc mode: the new file at the five taps, maps_small elsewhere. */
    static float[] expected(Tap t, MapMethod m) {
        Tensor ref = golden(FIVE.contains(t) ? "maps_layercam_loc" : "maps_small").tensors().get("map." + t.id + "." + m.id);
        assertTrue(ref != null, "golden map " + t.id + "." + m.id);
        return ref.toFloats();
    }

    /** Checks a run's maps at every tap it holds; returns the worst relative error at the five taps. */
    static double checkMaps(BatchMaps r, List<Tap> taps, double tol) {
        double worst = 0;
        for (Tap t : taps) {
            for (MapMethod m : MapMethod.values()) {
                float[] out = r.maps().get(t).get(m);
                double e = assertClose(expected(t, m), out, tol, t + "/" + m + " (" + (FIVE.contains(t) ? "layercam_loc" : "tap") + " gradient)");
                if (FIVE.contains(t)) worst = Math.max(worst, e);
            }
        }
        return worst;
    }

    /** Every tap and method in one pass on {@code be} (the CUDA twin of this test calls it: CudaGoldenTest). */
    public static double checkAllTaps(Backend be, double tol) {
        Checkpoint g = golden("maps_layercam_loc");
        float[] x = g.tensors().get("input").toFloats();
        List<Tap> all = List.of(Tap.values());
        try (Vgg16Net net = new Vgg16Net(be, tinyWeights())) {
            BatchMaps r = net.run(x, 2, 40, 52, CLASSES, all, List.of(MapMethod.values()), GradientSource.LAYERCAM_LOC);
            assertClose(g.tensors().get("logits").toFloats(), r.logits(), tol, "logits");
            return checkMaps(r, all, tol);
        }
    }

    @Test
    void everyTapEveryMethodInOnePassMatchesTheLayercamLocGoldens() {
        double worst = checkAllTaps(backend, TOL);
        System.out.printf("layercam_loc gradient source, CPU vs PyTorch goldens at the five taps: worst rel err %.2e%n", worst);
    }

    @Test
    void oneTapAtATimeToo() {
        float[] x = golden("maps_layercam_loc").tensors().get("input").toFloats();
        for (Tap t : new Tap[] {Tap.CONV5_3, Tap.CONV1_2, Tap.CONV4_3, Tap.POOL4, Tap.CONV2_1}) {
            try (Vgg16Net net = new Vgg16Net(backend, tinyWeights())) {
                BatchMaps r = net.run(x, 2, 40, 52, CLASSES, List.of(t), List.of(MapMethod.values()), GradientSource.LAYERCAM_LOC);
                checkMaps(r, List.of(t), TOL);
            }
        }
    }

    /** Without g2 (LayerCAM alone) only g1 is upsampled; the default source is still the tap's own gradient. */
    @Test
    void g1AloneAndTheDefaultSource() {
        float[] x = golden("maps_layercam_loc").tensors().get("input").toFloats();
        try (Vgg16Net net = new Vgg16Net(backend, tinyWeights())) {
            List<Tap> taps = List.of(Tap.CONV5_3, Tap.CONV3_3);
            BatchMaps r = net.run(x, 2, 40, 52, CLASSES, taps, List.of(MapMethod.LAYERCAM), GradientSource.LAYERCAM_LOC);
            BatchMaps d = net.run(x, 2, 40, 52, CLASSES, taps, List.of(MapMethod.LAYERCAM));
            for (Tap t : taps) {
                assertClose(expected(t, MapMethod.LAYERCAM), r.maps().get(t).get(MapMethod.LAYERCAM), TOL, t + " layercam_loc");
                float[] tap = golden("maps_small").tensors().get("map." + t.id + ".layercam").toFloats();
                assertClose(tap, d.maps().get(t).get(MapMethod.LAYERCAM), TOL, t + " default = tap gradient");
                assertTrue(relErr(expected(t, MapMethod.LAYERCAM), d.maps().get(t).get(MapMethod.LAYERCAM)) > 1e-2, t + " the two differ");
            }
        }
    }

    /** The embedding API passes the source through. */
    @Test
    void throughTheEmbeddingApi(@TempDir Path cache) {
        Checkpoint g = golden("maps_layercam_loc");
        float[] x = g.tensors().get("input").toFloats();
        try (G2mEngine engine = G2mEngine.builder().weights(resource("/fixtures/tiny_vgg16_zip.pth")).device("cpu").threads(1)
                .batchSize(2).cacheDir(cache).open()) {
            List<ImageMaps> r = engine.maps(x, 2, 40, 52, MapRequest.of(List.of(Tap.values()), List.of(MapMethod.values()))
                    .withGradients(GradientSource.LAYERCAM_LOC).withClasses(CLASSES));
            for (Tap t : Tap.values()) {
                for (MapMethod m : MapMethod.values()) {
                    float[] a = r.get(0).map(t, m).values(), b = r.get(1).map(t, m).values();
                    float[] both = java.util.Arrays.copyOf(a, a.length + b.length);
                    System.arraycopy(b, 0, both, a.length, b.length);
                    assertClose(expected(t, m), both, TOL, t + "/" + m + " through the API");
                }
            }
        }
    }

    @Test
    void exactlyTheFiveTapsBeforeAPoolUseThePoolsGradient() {
        for (Tap t : Tap.values()) {
            assertEquals(FIVE.contains(t), GradientSource.LAYERCAM_LOC.fromNextPool(t), t.id);
            assertFalse(GradientSource.TAP.fromNextPool(t), t.id);
        }
        assertEquals(GradientSource.LAYERCAM_LOC, GradientSource.parse(" LayerCAM-Loc "));
        assertEquals(GradientSource.TAP, GradientSource.parse("tap"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GradientSource.parse("pool"));
        assertEquals("unknown gradient source 'pool' (valid: tap, layercam_loc)", e.getMessage());
    }

    /** The backend op against PyTorch's F.interpolate (eval_reference.py's up_src/up: 5x7 -> 33x50, float32). */
    @Test
    void theUpsamplingOpIsPyTorchs() {
        Map<String, Tensor> t = Safetensors.read(resource("/eval/maps.safetensors")).tensors();
        float[] src = t.get("up_src").toFloats(), ref = t.get("up").toFloats();
        try (DeviceArray x = backend.upload(src, 1, 2, 5, 7); DeviceArray y = backend.allocate(1, 2, 33, 50)) {
            backend.upsampleBilinearAlignCorners(x, y);
            assertClose(ref, backend.download(y), 1e-6, "align-corners upsampling 5x7 -> 33x50");
        }
        try (DeviceArray x = backend.allocate(2, 3, 4, 4); DeviceArray y = backend.allocate(2, 2, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> backend.upsampleBilinearAlignCorners(x, y));
            assertTrue(e.getMessage().startsWith("upsampleBilinearAlignCorners: y must be [2, 3, 8, 8]"), e.getMessage());
        }
    }
}
