package g2m.backend.cuda;

import g2m.backend.BackendUnavailableException;
import g2m.backend.DeviceArray;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.Precision;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.net.Vgg16NetGoldenTest;
import g2m.weights.Checkpoint;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static g2m.net.Vgg16NetGoldenTest.resource;
import static g2m.net.Vgg16NetGoldenTest.tinyWeights;
import static g2m.testing.Parity.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU: the golden tests of Vgg16NetGoldenTest on the CUDA backend (logits and every map at
 * every tap against the PyTorch float64 goldens, ‖out − ref‖/‖ref‖ ≤ 1e-4 in fp32; exact zeros
 * where the reference is zero), the fast modes at their own tolerance, GPU against CPU, reuse of
 * buffers and plans, and running out of GPU memory. Skipped, with the reason, without a usable GPU.
 */
@ExtendWith(CudaTestSupport.RequiresGpu.class)
class CudaGoldenTest {
    static CudaBackend be;

    @BeforeAll
    static void open() {
        be = CudaTestSupport.openOrSkip(Precision.FP32);
    }

    @AfterAll
    static void close() {
        if (be != null) {
            // for the GPU run's log: which cuDNN algorithms produced the numbers checked above
            System.out.println("CudaGoldenTest: " + be.description() + "; cuDNN plans in use:\n" + be.convPlanSummary());
            be.close();
        }
    }

    static Checkpoint golden(String name) {
        return Safetensors.read(resource("/golden/" + name + ".safetensors"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"maps_square224", "maps_nonsquare", "maps_small"})
    void everyTapEveryMethodInOnePass(String name) {
        int[] classes = name.equals("maps_small") ? new int[] {3, 7} : null;
        Vgg16NetGoldenTest.check(be, Precision.FP32.tolerance, golden(name), tinyWeights(), "", "input", classes, List.of(Tap.values()));
    }

    @Test
    void oneTapAtATime() {
        Checkpoint g = golden("maps_square224");
        for (Tap t : new Tap[] {Tap.CONV5_1, Tap.POOL4, Tap.CONV1_2, Tap.POOL5}) {
            Vgg16NetGoldenTest.check(be, Precision.FP32.tolerance, g, tinyWeights(), "", "input", null, List.of(t));
        }
    }

    @Test
    void deadTapsGiveZeroNotNaN() {
        Checkpoint g = golden("maps_dead");
        Vgg16NetGoldenTest.check(be, Precision.FP32.tolerance, g, Vgg16NetGoldenTest.deadWeights(g), "", "input", null, List.of(Tap.values()));
    }

    /** layercam_loc's gradient source (pool gradients upsampled by the align-corners kernel) against its PyTorch goldens. */
    @Test
    void layercamLocGradientSource() {
        g2m.net.LayercamLocGradientsTest.checkAllTaps(be, Precision.FP32.tolerance);
    }

    /** The preprocessing goldens' network inputs (the picture decoding is the CPU's business, tested there). */
    @Test
    void pytorchAndCaffeInputs() {
        Checkpoint g = golden("preprocess");
        for (String conv : new String[] {"pytorch", "caffe"}) {
            Vgg16NetGoldenTest.check(be, Precision.FP32.tolerance, g, tinyWeights(), conv + ".", conv + "_input", null,
                    List.of(Tap.CONV5_1, Tap.POOL4, Tap.CONV3_3, Tap.POOL2));
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"TF32", "FP16", "BF16"})
    void fastModesStayWithinTheirTolerance(Precision p) {
        try (CudaBackend fast = CudaTestSupport.openOrSkip(p)) {
            Vgg16NetGoldenTest.check(fast, p.tolerance, golden("maps_square224"), tinyWeights(), "", "input", null,
                    List.of(Tap.CONV5_1, Tap.POOL4, Tap.CONV3_3));
        }
    }

    @Test
    void gpuAgreesWithTheCpuBackend() {
        CpuBackend cpu;
        try {
            cpu = new CpuBackend(0);
        } catch (BackendUnavailableException e) {
            Assumptions.abort("no CPU backend in this bundle: " + e.getMessage());
            return;
        }
        float[] x = golden("maps_nonsquare").tensors().get("input").toFloats();
        List<MapMethod> all = List.of(MapMethod.values());
        try (cpu; Vgg16Net onCpu = new Vgg16Net(cpu, tinyWeights()); Vgg16Net onGpu = new Vgg16Net(be, tinyWeights())) {
            BatchMaps c = onCpu.run(x, 1, 192, 256, null, List.of(Tap.values()), all);
            BatchMaps gpu = onGpu.run(x, 1, 192, 256, null, List.of(Tap.values()), all);
            assertArrayEquals(c.targetClasses(), gpu.targetClasses());
            assertClose(c.logits(), gpu.logits(), 1e-5, "logits");
            for (Tap t : Tap.values()) {
                for (MapMethod m : all) {
                    assertClose(c.maps().get(t).get(m), gpu.maps().get(t).get(m), 1e-4, t + "/" + m + ": GPU vs CPU");
                }
            }
        }
    }

    @Test
    void repeatedRunsReuseBuffersAndPlansAndGiveIdenticalMaps() {
        float[] x = golden("maps_small").tensors().get("input").toFloats();
        try (Vgg16Net net = new Vgg16Net(be, tinyWeights())) {
            BatchMaps a = net.run(x, 2, 40, 52, null, List.of(Tap.POOL3), MapMethod.G2M);
            long allocs = be.deviceAllocations(), plans = be.convPlansMade();
            BatchMaps b = net.run(x, 2, 40, 52, null, List.of(Tap.POOL3, Tap.CONV5_3), MapMethod.G2M);
            assertEquals(allocs, be.deviceAllocations(), "same shape: no cudaMalloc");
            assertEquals(plans, be.convPlansMade(), "same shape: no new cuDNN plans");
            for (MapMethod m : MapMethod.G2M) {
                assertArrayEquals(a.maps().get(Tap.POOL3).get(m), b.maps().get(Tap.POOL3).get(m), "deterministic " + m);
            }
        }
    }

    /** Fills the GPU until cudaMalloc fails: a one-line DeviceOutOfMemoryException; the backend works on once memory is back. */
    @Test
    void outOfMemoryIsAClearErrorNamingTheBatch() {
        List<DeviceArray> filler = new ArrayList<>();
        try {
            DeviceOutOfMemoryException oom = assertThrows(DeviceOutOfMemoryException.class, () -> {
                for (int i = 0; i < 1000; i++) filler.add(be.allocate(1 << 29)); // 2 GiB each
            });
            assertTrue(oom.getMessage().startsWith("GPU out of memory: cudaMalloc of 2048.0 MiB"), oom.getMessage());
            assertTrue(oom.getMessage().contains(" free of "), oom.getMessage());
            assertFalse(oom.getMessage().contains("\n"));
            // leave less than a batch of 64 at 224x224 needs; a run names the batch size to lower
            while (!filler.isEmpty()) {
                filler.remove(filler.size() - 1).close();
                try (DeviceArray probe = be.allocate(1 << 28)) {
                    break; // ~1 GiB free again
                } catch (DeviceOutOfMemoryException stillFull) {
                    // free another one
                }
            }
            // full-size VGG16 (0.5 GiB of weights fit); its conv1 activations at batch 64 (0.8 GiB each, several kept) do not
            try (Vgg16Net net = new Vgg16Net(be, g2m.net.RandomVgg16.create(7))) {
                int n = 64;
                DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                        () -> net.run(new float[n * 3 * 224 * 224], n, 224, 224, null, List.of(Tap.CONV1_1), MapMethod.G2M));
                assertTrue(e.getMessage().contains("lower the batch size (--batch, now 64)"), e.getMessage());
            }
        } finally {
            for (DeviceArray a : filler) a.close();
        }
        try (Vgg16Net net = new Vgg16Net(be, tinyWeights())) {
            float[] x = golden("maps_small").tensors().get("input").toFloats();
            assertEquals(2, net.run(x, 2, 40, 52, null, List.of(Tap.POOL5), MapMethod.G2M).n(), "usable after running out of memory");
        }
    }
}
