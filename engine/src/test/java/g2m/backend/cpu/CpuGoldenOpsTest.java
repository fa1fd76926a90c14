package g2m.backend.cpu;

import g2m.backend.Backend;
import g2m.backend.DeviceArray;
import g2m.weights.Checkpoint;
import g2m.weights.Tensor;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op against PyTorch's goldens in {@code golden/ops.safetensors} (written by
 * tools/reference/g2m_reference.py): tensors named {@code <op>[.<case>].<role>}, e.g.
 * {@code adapool.2x3x5x9.x}, {@code conv.dy}, {@code seeds.class}. Cases are discovered by
 * name; relative error ≤ 1e-5 ({@link Naive#TOLERANCE}, g2m.testing.Parity), max-pool exactly
 * (ties included). A missing golden file fails the test (never a skip).
 */
public class CpuGoldenOpsTest {
    static CpuBackend be;

    @BeforeAll
    static void open() {
        be = new CpuBackend();
    }

    @AfterAll
    static void close() {
        if (be != null) be.close();
    }

    /** -Dg2m.golden.ops=FILE, else golden/ops.safetensors on the test classpath, else under src/test/resources. */
    public static Path goldenFile() {
        String prop = System.getProperty("g2m.golden.ops");
        if (prop != null) return Path.of(prop);
        URL url = CpuGoldenOpsTest.class.getResource("/golden/ops.safetensors");
        if (url != null && "file".equals(url.getProtocol())) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException ignored) {
                // fall through
            }
        }
        return Path.of(System.getProperty("basedir", "."), "src", "test", "resources", "golden", "ops.safetensors");
    }

    @TestFactory
    List<DynamicTest> everyOpMatchesPyTorch() {
        return opTests(be);
    }

    /** A golden that is not there is a failure, not a skip: a skipped suite would look green. */
    @Test
    void aMissingGoldenFailsRatherThanSkips(@TempDir Path dir) {
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> opTests(be, dir.resolve("ops.safetensors")));
        assertTrue(e.getMessage().contains("is missing"), e.getMessage());
    }

    /**
     * One dynamic test per op golden, run on {@code be} (the CUDA backend's twin of this test
     * calls it too): relative error ≤ 1e-5, max-pool and ReLU exactly.
     */
    public static List<DynamicTest> opTests(Backend be) {
        return opTests(be, goldenFile());
    }

    static List<DynamicTest> opTests(Backend be, Path file) {
        assertTrue(Files.isRegularFile(file),
                "golden " + file + " is missing (generate it with /usr/bin/python3 tools/reference/g2m_reference.py)");
        Checkpoint ck = Safetensors.read(file);
        // group "<op>[.<case>]" -> role -> tensor
        Map<String, Map<String, Tensor>> groups = new TreeMap<>();
        for (Map.Entry<String, Tensor> e : ck.tensors().entrySet()) {
            String name = e.getKey();
            int dot = name.lastIndexOf('.');
            if (dot < 0) continue;
            groups.computeIfAbsent(name.substring(0, dot), k -> new TreeMap<>()).put(name.substring(dot + 1), e.getValue());
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, Map<String, Tensor>> g : groups.entrySet()) {
            String group = g.getKey();
            Map<String, Tensor> t = g.getValue();
            String op = group.contains(".") ? group.substring(0, group.indexOf('.')) : group;
            Runnable check = switch (op) {
                case "adapool" -> () -> adapool(be, t);
                case "maxpool" -> () -> maxpool(be, t);
                case "conv" -> () -> conv(be, t);
                case "relu" -> () -> relu(be, t);
                case "fc" -> () -> fc(be, t);
                case "softmax" -> () -> softmax(be, t);
                case "seeds" -> () -> seeds(be, t);
                default -> null;
            };
            if (check != null) tests.add(DynamicTest.dynamicTest(group, check::run));
        }
        assertFalse(tests.isEmpty(), file + " holds no op goldens");
        for (String op : List.of("adapool", "maxpool", "conv", "relu", "fc", "softmax", "seeds")) {
            assertTrue(tests.stream().anyMatch(d -> d.getDisplayName().startsWith(op)), "no golden for " + op + " in " + file);
        }
        return tests;
    }

    private static int[] shape(Tensor t) {
        long[] s = t.shape();
        int[] shape = new int[s.length];
        for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
        return shape;
    }

    private static DeviceArray up(Backend be, Tensor t) {
        return be.upload(t.toFloats(), shape(t));
    }

    private static void adapool(Backend be, Map<String, Tensor> t) {
        try (DeviceArray x = up(be, t.get("x")); DeviceArray dy = up(be, t.get("dy")); DeviceArray y = be.allocate(shape(t.get("y"))); DeviceArray dx = be.allocate(dy.batchSize(), x.shape()[1], x.shape()[2], x.shape()[3])) {
            be.adaptiveAvgPoolForward(x, y);
            assertClose(t.get("y").toFloats(), be.download(y), Naive.TOLERANCE, "adaptive pool forward");
            be.adaptiveAvgPoolBackward(dy, dx);
            assertClose(t.get("dx").toFloats(), be.download(dx), Naive.TOLERANCE, "adaptive pool backward");
        }
    }

    private static void maxpool(Backend be, Map<String, Tensor> t) {
        try (DeviceArray x = up(be, t.get("x")); DeviceArray dy = up(be, t.get("dy")); DeviceArray y = be.allocate(shape(t.get("y")));
             DeviceArray dx = be.allocate(dy.batchSize(), x.shape()[1], x.shape()[2], x.shape()[3])) {
            be.maxPool2x2Forward(x, y);
            assertArrayEquals(t.get("y").toFloats(), be.download(y), "max pool forward");
            be.maxPool2x2Backward(x, dy, dx);
            assertArrayEquals(t.get("dx").toFloats(), be.download(dx), "max pool backward (ties to the first element)");
        }
    }

    private static void conv(Backend be, Map<String, Tensor> t) {
        try (DeviceArray x = up(be, t.get("x")); DeviceArray w = up(be, t.get("w")); DeviceArray b = up(be, t.get("b"));
             DeviceArray dy = up(be, t.get("dy")); DeviceArray y = be.allocate(shape(t.get("y")));
             DeviceArray dx = be.allocate(dy.batchSize(), x.shape()[1], x.shape()[2], x.shape()[3])) {
            be.conv3x3Forward(x, w, b, y);
            assertClose(t.get("y").toFloats(), be.download(y), Naive.TOLERANCE, "conv forward");
            be.conv3x3BackwardData(dy, w, dx);
            assertClose(t.get("dx").toFloats(), be.download(dx), Naive.TOLERANCE, "conv backward");
        }
    }

    private static void relu(Backend be, Map<String, Tensor> t) {
        try (DeviceArray y = up(be, t.get("y")); DeviceArray dy = up(be, t.get("dy")); DeviceArray dx = be.allocate(dy.shape())) {
            if (t.containsKey("x")) {
                try (DeviceArray x = up(be, t.get("x")); DeviceArray y2 = be.allocate(x.shape())) {
                    be.reluForward(x, y2);
                    assertArrayEquals(t.get("y").toFloats(), be.download(y2), "relu forward");
                }
            }
            be.reluBackward(y, dy, dx);
            assertArrayEquals(t.get("dx").toFloats(), be.download(dx), "relu backward");
        }
    }

    private static void fc(Backend be, Map<String, Tensor> t) {
        try (DeviceArray x = up(be, t.get("x")); DeviceArray w = up(be, t.get("w")); DeviceArray b = up(be, t.get("b"));
             DeviceArray dy = up(be, t.get("dy")); DeviceArray y = be.allocate(x.batchSize(), w.shape()[0]);
             DeviceArray dx = be.allocate(dy.batchSize(), w.shape()[1])) {
            be.fcForward(x, w, b, y);
            assertClose(t.get("y").toFloats(), be.download(y), Naive.TOLERANCE, "fc forward");
            be.fcBackwardData(dy, w, dx);
            assertClose(t.get("dx").toFloats(), be.download(dx), Naive.TOLERANCE, "fc backward");
        }
    }

    private static void softmax(Backend be, Map<String, Tensor> t) {
        try (DeviceArray z = up(be, t.get("z")); DeviceArray p = be.allocate(z.shape())) {
            be.softmax(z, p);
            assertClose(t.get("p").toFloats(), be.download(p), Naive.TOLERANCE, "softmax");
        }
    }

    private static void seeds(Backend be, Map<String, Tensor> t) {
        float[] c = t.get("class").toFloats();
        int[] cls = new int[c.length];
        for (int i = 0; i < c.length; i++) cls[i] = Math.round(c[i]);
        try (DeviceArray z = up(be, t.get("z")); DeviceArray s = be.allocate(shape(t.get("s")))) {
            be.backwardSeeds(z, cls, s);
            assertClose(t.get("s").toFloats(), be.download(s), Naive.TOLERANCE, "backward seeds");
        }
    }
}
