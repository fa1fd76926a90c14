package g2m.net;

import g2m.api.G2mEngine;
import g2m.backend.cpu.CpuBackend;
import g2m.api.ImageMaps;
import g2m.api.MapRequest;
import g2m.image.ImageLoader;
import g2m.image.InputTensor;
import g2m.image.LoadedImage;
import g2m.maps.MapMethod;
import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The bundled demo model (a trained narrow VGG16, cli/src/main/resources/g2m/demo/; so this test
 * lives with the CLI, which ships the demo) against
 * PyTorch on two of its bundled samples, one 224x224 and one 224x288 (golden by
 * tools/demo/demo_golden.py, float64): the network input, logits, top-1 class and the four G2M
 * maps at conv5_1. Tolerances as in {@link Vgg16NetGoldenTest}: input 1e-6, logits and maps
 * ‖out − ref‖ / ‖ref‖ ≤ 1e-4 (float32).
 */
class DemoModelGoldenTest {
    @TempDir
    Path cache;
    static CpuBackend backend;

    @BeforeAll
    static void open() {
        backend = new CpuBackend(0);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    static Path demo(String name) {
        return Vgg16NetGoldenTest.resource("/g2m/demo/" + name);
    }

    @Test
    void demoModelMatchesPyTorchOnTwoBundledSamples() {
        Checkpoint golden = Safetensors.read(Vgg16NetGoldenTest.resource("/golden/demo_conv5_1.safetensors"));
        Checkpoint weights = Safetensors.read(demo("model.safetensors"));
        Preprocessing p = Preprocessing.fromMetadata(weights.metadata());
        String[] stems = golden.metadata().get("pictures").split(",");
        assertEquals(2, stems.length);
        for (String stem : stems) {
            LoadedImage img = ImageLoader.load(demo("images/" + stem + ".png"));
            float[] x = InputTensor.toNchw(img, p);
            float[] ref = golden.tensors().get(stem + ".input").toFloats();
            assertClose(ref, x, 1e-6, stem + " input");
            Vgg16NetGoldenTest.check(backend, Vgg16NetGoldenTest.TOL, golden, weights, stem + ".", stem + ".input", null, List.of(Tap.CONV5_1));
        }
    }

    @Test
    void publicApiGivesTheGoldenMapsFromThePictureFiles() {
        Checkpoint golden = Safetensors.read(Vgg16NetGoldenTest.resource("/golden/demo_conv5_1.safetensors"));
        try (G2mEngine engine = G2mEngine.builder().weights(demo("model.safetensors")).device("cpu").cacheDir(cache).open()) {
            assertEquals(10, engine.numClasses());
            for (String stem : golden.metadata().get("pictures").split(",")) {
                ImageMaps r = engine.maps(demo("images/" + stem + ".png"), MapRequest.of(Tap.CONV5_1, MapMethod.G2M));
                assertEquals((int) golden.tensors().get(stem + ".class").toFloats()[0], r.targetClass(), stem);
                for (MapMethod m : MapMethod.G2M) {
                    float[] ref = golden.tensors().get(stem + ".map.conv5_1." + m.id).toFloats();
                    assertClose(ref, r.map(Tap.CONV5_1, m).values(), Vgg16NetGoldenTest.TOL, stem + "/" + m.id);
                }
            }
        }
    }
}
