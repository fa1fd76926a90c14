package g2m.api;

import g2m.backend.BackendUnavailableException;
import g2m.backend.cuda.CudaBackend;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.Tap;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsCache;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The embedding API end to end: a .pth opened directly, a picture in, maps equal to the PyTorch goldens. */
class G2mEngineTest {
    @TempDir
    Path cache;

    static Path resource(String name) {
        try {
            return Path.of(G2mEngineTest.class.getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void pictureToMapsMatchesTheReference() throws Exception {
        Checkpoint golden = Safetensors.read(resource("/golden/preprocess.safetensors"));
        G2mEngine.Options opt = G2mEngine.Options.defaults().withDevice("cpu");
        opt = new G2mEngine.Options(opt.device(), opt.threads(), opt.batchSize(), cache);
        // a torchvision-named .pth: PyTorch preprocessing comes from its naming
        try (G2mEngine engine = G2mEngine.open(resource("/fixtures/tiny_vgg16_zip.pth"), opt)) {
            assertEquals(10, engine.numClasses());
            ImageMaps r = engine.maps(resource("/golden/image_224x256.png"), List.of(Tap.CONV5_1, Tap.POOL4), MapMethod.G2M);
            assertEquals(224, r.inputHeight());
            assertEquals(256, r.inputWidth());
            assertEquals((int) golden.tensors().get("pytorch.class").toFloats()[0], r.targetClass());
            assertEquals(r.targetClass(), r.top(5).get(0).classIndex());
            double psum = r.top(10).stream().mapToDouble(ImageMaps.Scored::probability).sum();
            assertEquals(1.0, psum, 1e-6);
            for (Tap t : List.of(Tap.CONV5_1, Tap.POOL4)) {
                for (MapMethod m : MapMethod.G2M) {
                    float[] ref = golden.tensors().get("pytorch.map." + t.id + "." + m.id).toFloats();
                    assertClose(ref, r.map(t, m).values(), 1e-4, t + "/" + m);
                }
            }

            // safe for concurrent callers: four threads, same answers as one
            BatchMaps one = engine.maps(golden.tensors().get("pytorch_input").toFloats(), 1, 224, 256, null, List.of(Tap.CONV5_1), MapMethod.G2M);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<BatchMaps>> fs = new ArrayList<>();
                Callable<BatchMaps> job = () -> engine.maps(golden.tensors().get("pytorch_input").toFloats(), 1, 224, 256, null,
                        List.of(Tap.CONV5_1), MapMethod.G2M);
                for (int i = 0; i < 8; i++) fs.add(pool.submit(job));
                for (Future<BatchMaps> f : fs) {
                    assertArrayEquals(one.maps().get(Tap.CONV5_1).get(MapMethod.DGL), f.get().maps().get(Tap.CONV5_1).get(MapMethod.DGL));
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void weightsMadeInMemoryOpenLikeAFileAndOnlyOnceTheBackendIsOpen() {
        G2mEngine.Options opt = new G2mEngine.Options("cpu", 2, 1, cache);
        Path pth = resource("/fixtures/tiny_vgg16_zip.pth");
        Checkpoint weights = Safetensors.read(WeightsCache.resolve(pth, cache));
        Checkpoint golden = Safetensors.read(resource("/golden/preprocess.safetensors"));
        float[] x = golden.tensors().get("pytorch_input").toFloats();
        try (G2mEngine fromFile = G2mEngine.open(pth, opt); G2mEngine fromMemory = G2mEngine.open(() -> weights, opt)) {
            assertEquals(fromFile.preprocessing().toString(), fromMemory.preprocessing().toString());
            assertEquals(fromFile.metadata(), fromMemory.metadata());
            BatchMaps a = fromFile.maps(x, 1, 224, 256, null, List.of(Tap.CONV5_1), MapMethod.G2M);
            BatchMaps b = fromMemory.maps(x, 1, 224, 256, null, List.of(Tap.CONV5_1), MapMethod.G2M);
            for (MapMethod m : MapMethod.G2M) assertArrayEquals(a.maps().get(Tap.CONV5_1).get(m), b.maps().get(Tap.CONV5_1).get(m), m.id);
        }

        // no GPU: the backend fails first, and the weights are never made
        Assumptions.assumeTrue(CudaBackend.unavailableReason() != null, "a usable GPU is present");
        AtomicInteger made = new AtomicInteger();
        assertThrows(BackendUnavailableException.class, () -> G2mEngine.open(() -> {
            made.incrementAndGet();
            return weights;
        }, opt.withDevice("cuda")));
        assertEquals(0, made.get());
    }
}
