package g2m.net;

import g2m.backend.Backend;
import g2m.backend.cpu.CpuBackend;
import g2m.image.ImageLoader;
import g2m.image.InputTensor;
import g2m.image.LoadedImage;
import g2m.maps.MapMethod;
import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.Tensor;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity with the PyTorch reference (tools/reference/g2m_reference.py, float64): logits and
 * every map at every tap. Tolerance (g2m.testing.Parity): relative error ‖out − ref‖ / ‖ref‖ ≤ 1e-4 in float32,
 * per (tap, method) over the whole batch; where the reference is exactly zero, so is ours.
 */
public class Vgg16NetGoldenTest {
    public static final double TOL = 1e-4;
    static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(0);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    public static Path resource(String name) {
        try {
            return Path.of(Vgg16NetGoldenTest.class.getResource(name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource " + name, e);
        }
    }

    public static Checkpoint tinyWeights() {
        return Safetensors.read(resource("/fixtures/tiny_vgg16_expected.safetensors"));
    }

    /** Runs one golden case (all taps and the methods it holds in one pass) on the CPU and checks everything. */
    static void check(Checkpoint golden, Checkpoint weights, String prefix, String inputName, int[] classes, List<Tap> taps) {
        check(backend, TOL, golden, weights, prefix, inputName, classes, taps);
    }

    /**
     * The same on any backend with relative-error bound {@code tol} (the CUDA twin of this test
     * calls it: g2m.backend.cuda.CudaGoldenTest).
     */
    public static void check(Backend backend, double tol, Checkpoint golden, Checkpoint weights, String prefix, String inputName,
                             int[] classes, List<Tap> taps) {
        Map<String, Tensor> g = golden.tensors();
        Tensor in = g.get(inputName);
        long[] s = in.shape();
        List<MapMethod> methods = new ArrayList<>();
        for (MapMethod m : MapMethod.values()) {
            if (taps.stream().anyMatch(t -> g.containsKey(prefix + "map." + t.id + "." + m.id))) methods.add(m);
        }
        try (Vgg16Net net = new Vgg16Net(backend, weights)) {
            BatchMaps r = net.run(in.toFloats(), (int) s[0], (int) s[2], (int) s[3], classes, taps, methods);
            assertClose(g.get(prefix + "logits").toFloats(), r.logits(), tol, "golden " + prefix + "logits");
            float[] cls = g.get(prefix + "class").toFloats();
            for (int i = 0; i < cls.length; i++) assertEquals((int) cls[i], r.targetClasses()[i], "target class of image " + i);
            int checked = 0;
            for (Tap t : taps) {
                for (MapMethod m : methods) {
                    Tensor ref = g.get(prefix + "map." + t.id + "." + m.id);
                    if (ref == null) continue;
                    float[] out = r.maps().get(t).get(m);
                    assertClose(ref.toFloats(), out, tol, "golden " + prefix + t.id + "/" + m.id); // finite, and exactly 0 where ref is
                    checked++;
                }
            }
            assertTrue(checked >= taps.size(), "compared " + checked + " maps");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"maps_square224", "maps_nonsquare", "maps_small"})
    void everyTapEveryMethodInOnePass(String name) {
        Checkpoint golden = Safetensors.read(resource("/golden/" + name + ".safetensors"));
        int[] classes = name.equals("maps_small") ? new int[] {3, 7} : null; // small names its classes
        check(golden, tinyWeights(), "", "input", classes, List.of(Tap.values()));
    }

    @Test
    void oneTapAtATimeAgreesWithTheGoldens() {
        Checkpoint golden = Safetensors.read(resource("/golden/maps_square224.safetensors"));
        for (Tap t : new Tap[] {Tap.CONV5_1, Tap.POOL4, Tap.CONV1_2, Tap.POOL5}) {
            check(golden, tinyWeights(), "", "input", null, List.of(t));
        }
    }

    @Test
    void deadTapsGiveZeroNotNaN() {
        Checkpoint golden = Safetensors.read(resource("/golden/maps_dead.safetensors"));
        check(golden, deadWeights(golden), "", "input", null, List.of(Tap.values()));
    }

    /** The fixture weights with the dead case's overrides (conv5_2 zero, biases −1000) substituted. */
    public static Checkpoint deadWeights(Checkpoint golden) {
        Map<String, Tensor> w = new LinkedHashMap<>(tinyWeights().tensors());
        golden.tensors().forEach((k, v) -> {
            if (k.startsWith("override.")) w.put(k.substring("override.".length()), v.renamed(k.substring("override.".length()), v.shape()));
        });
        return new Checkpoint(w, Map.of());
    }

    @Test
    void pytorchAndCaffePreprocessingOfAPicture() {
        Checkpoint golden = Safetensors.read(resource("/golden/preprocess.safetensors"));
        LoadedImage img = ImageLoader.load(resource("/golden/image_224x256.png"));
        assertEquals(256, img.width());
        assertEquals(224, img.height());
        for (String conv : new String[] {"pytorch", "caffe"}) {
            Preprocessing p = conv.equals("pytorch") ? Preprocessing.PYTORCH : Preprocessing.CAFFE;
            float[] x = InputTensor.toNchw(img, p);
            float[] ref = golden.tensors().get(conv + "_input").toFloats();
            assertClose(ref, x, 1e-6, conv + " input");
            check(golden, tinyWeights(), conv + ".", conv + "_input", null,
                    List.of(Tap.CONV5_1, Tap.POOL4, Tap.CONV3_3, Tap.POOL2));
        }
    }

    @Test
    void rejectsBadRequests() {
        try (Vgg16Net net = new Vgg16Net(backend, tinyWeights())) {
            List<Tap> t = List.of(Tap.CONV5_1);
            List<MapMethod> m = MapMethod.G2M;
            assertThrowsMsg(() -> net.run(new float[3 * 31 * 64], 1, 31, 64, null, t, m), "at least 32");
            assertThrowsMsg(() -> net.run(new float[10], 1, 32, 32, null, t, m), "expected 1x3x32x32");
            assertThrowsMsg(() -> net.run(new float[3 * 32 * 32], 1, 32, 32, new int[] {10}, t, m), "outside 0..9");
        }
        assertThrowsMsg(() -> Tap.parse("conv5_0"), "valid: conv1_1");
        assertThrowsMsg(() -> MapMethod.parse("cam"), "valid: layercam");
    }

    static void assertThrowsMsg(org.junit.jupiter.api.function.Executable e, String part) {
        IllegalArgumentException ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(part), ex.getMessage());
    }

    @Test
    void repeatedCallsReuseTheWorkspaceAndGiveTheSameMaps() {
        Checkpoint golden = Safetensors.read(resource("/golden/maps_small.safetensors"));
        float[] x = golden.tensors().get("input").toFloats();
        try (Vgg16Net net = new Vgg16Net(backend, tinyWeights())) {
            BatchMaps a = net.run(x, 2, 40, 52, null, List.of(Tap.POOL3), MapMethod.G2M);
            long before = backend.nativeAllocations();
            BatchMaps b = net.run(x, 2, 40, 52, null, List.of(Tap.POOL3, Tap.CONV5_3), MapMethod.G2M);
            assertEquals(before, backend.nativeAllocations(), "same shape, shallower or equal tap: no new buffers");
            for (MapMethod m : MapMethod.G2M) assertArrayEquals(a.maps().get(Tap.POOL3).get(m), b.maps().get(Tap.POOL3).get(m));
        }
    }
}
