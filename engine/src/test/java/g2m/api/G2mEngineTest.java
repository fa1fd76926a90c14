package g2m.api;

import g2m.backend.BackendUnavailableException;
import g2m.backend.cuda.CudaBackend;
import g2m.maps.MapMethod;
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
        // a torchvision-named .pth: PyTorch preprocessing comes from its naming
        try (G2mEngine engine = G2mEngine.builder().weights(resource("/fixtures/tiny_vgg16_zip.pth")).device("cpu").cacheDir(cache).open()) {
            assertEquals(10, engine.numClasses());
            ImageMaps r = engine.maps(resource("/golden/image_224x256.png"), MapRequest.of(List.of(Tap.CONV5_1, Tap.POOL4), MapMethod.G2M));
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
            MapRequest at51 = MapRequest.of(Tap.CONV5_1, MapMethod.G2M);
            ImageMaps one = engine.maps(golden.tensors().get("pytorch_input").toFloats(), 1, 224, 256, at51).get(0);
            assertEquals(null, one.image());
            assertArrayEquals(r.map(Tap.CONV5_1, MapMethod.DGL).values(), one.map(Tap.CONV5_1, MapMethod.DGL).values(), "tensor = picture");
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<List<ImageMaps>>> fs = new ArrayList<>();
                Callable<List<ImageMaps>> job = () -> engine.maps(golden.tensors().get("pytorch_input").toFloats(), 1, 224, 256, at51);
                for (int i = 0; i < 8; i++) fs.add(pool.submit(job));
                for (Future<List<ImageMaps>> f : fs) {
                    assertArrayEquals(one.map(Tap.CONV5_1, MapMethod.DGL).values(), f.get().get(0).map(Tap.CONV5_1, MapMethod.DGL).values());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void weightsMadeInMemoryOpenLikeAFileAndOnlyOnceTheBackendIsOpen() {
        Path pth = resource("/fixtures/tiny_vgg16_zip.pth");
        Checkpoint weights = Safetensors.read(WeightsCache.resolve(pth, cache));
        Checkpoint golden = Safetensors.read(resource("/golden/preprocess.safetensors"));
        float[] x = golden.tensors().get("pytorch_input").toFloats();
        try (G2mEngine fromFile = G2mEngine.builder().weights(pth).device("cpu").threads(2).batchSize(1).cacheDir(cache).open();
             G2mEngine fromMemory = G2mEngine.builder().weights(() -> weights).device("cpu").threads(2).batchSize(1).open()) {
            assertEquals(fromFile.preprocessing().toString(), fromMemory.preprocessing().toString());
            assertEquals(fromFile.metadata(), fromMemory.metadata());
            MapRequest req = MapRequest.of(Tap.CONV5_1, MapMethod.G2M);
            ImageMaps a = fromFile.maps(x, 1, 224, 256, req).get(0);
            ImageMaps b = fromMemory.maps(x, 1, 224, 256, req).get(0);
            for (MapMethod m : MapMethod.G2M) assertArrayEquals(a.map(Tap.CONV5_1, m).values(), b.map(Tap.CONV5_1, m).values(), m.id);
            assertEquals(7, fromFile.maps(x, 1, 224, 256, req.withTargetClass(7)).get(0).targetClass());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fromFile.maps(x, 1, 224, 256, req.withTargetClass(10)));
            assertEquals("class 10 is outside 0..9", e.getMessage());
        }

        // no GPU: the backend fails first, and the weights are never made
        Assumptions.assumeTrue(CudaBackend.unavailableReason() != null, "a usable GPU is present");
        AtomicInteger made = new AtomicInteger();
        assertThrows(BackendUnavailableException.class, () -> G2mEngine.builder().weights(() -> {
            made.incrementAndGet();
            return weights;
        }).device("cuda").open());
        assertEquals(0, made.get());
    }
}
