package g2m.net;

import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import g2m.weights.Vgg16;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How many images fit one pass: computed in long arithmetic from the topology (the sizes of the
 * int-indexed arrays a pass needs), so a large batch or input is split or refused in words
 * instead of overflowing n·3·h·w into a negative array size.
 */
class Vgg16NetBatchLimitTest {
    static final Vgg16.Topology FULL = new Vgg16.Topology(new int[] {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512}, 4096, 4096, 1000);
    static final long CPU_LIMIT = Integer.MAX_VALUE / 4;      // floats per direct buffer

    @Test
    void fullVgg16AtTheWidestInputTheResizerLets() {
        long pixels = 224L * 4480;
        // conv1_1 kept: its gradient holds 2 x 64 channels per image
        assertEquals(CPU_LIMIT / (2 * 64 * pixels), Vgg16Net.maxBatch(FULL, 224, 4480, Tap.CONV1_1, CPU_LIMIT));
        assertEquals(4, Vgg16Net.maxBatch(FULL, 224, 4480, Tap.CONV1_1, CPU_LIMIT));
        // conv5_1: below it only the ping-pong buffers, 64 channels at full resolution
        assertEquals(CPU_LIMIT / (64 * pixels), Vgg16Net.maxBatch(FULL, 224, 4480, Tap.CONV5_1, CPU_LIMIT));
        // 224 x 224 at pool5: the fc layers and conv1's 64 channels
        assertEquals(CPU_LIMIT / (64 * 224 * 224), Vgg16Net.maxBatch(FULL, 224, 224, Tap.POOL5, CPU_LIMIT));
        // a limit beyond a Java array (CUDA's) is capped at what the host input can hold
        assertEquals((Integer.MAX_VALUE - 8L) / (64 * 224 * 224), Vgg16Net.maxBatch(FULL, 224, 224, Tap.POOL5, Long.MAX_VALUE));
    }

    @Test
    void hugeInputsGiveZeroNotAnOverflow() {
        assertEquals(0, Vgg16Net.maxBatch(FULL, 100_000, 100_000, Tap.POOL5, CPU_LIMIT));
        assertEquals(0, Vgg16Net.maxBatch(FULL, Integer.MAX_VALUE, Integer.MAX_VALUE, Tap.CONV1_1, Long.MAX_VALUE));
        assertEquals(0, Vgg16Net.maxBatch(FULL, 2048, 2048, Tap.CONV1_1, CPU_LIMIT));   // 2 x 64 x 2048² > 2^29
    }

    /** A pass asked for more than fits is refused in words, and nothing is allocated for it. */
    @Test
    void aPassOverTheLimitIsRefusedBeforeAllocating() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            g2m.backend.Backend small = (g2m.backend.Backend) Proxy.newProxyInstance(g2m.backend.Backend.class.getClassLoader(),
                    new Class<?>[] {g2m.backend.Backend.class}, (p, m, args) -> {
                        if (m.getName().equals("maxArrayElements")) return 40_000L;
                        try {
                            return m.invoke(cpu, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            try (Vgg16Net net = new Vgg16Net(small, Vgg16NetGoldenTest.tinyWeights())) {
                long fits = net.maxBatch(64, 64, Tap.POOL5);
                assertTrue(fits >= 1 && fits < 5, "fits " + fits);
                long before = cpu.nativeBytes();
                int n = (int) fits + 1;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> net.run(new float[n * 3 * 64 * 64], n, 64, 64, null, List.of(Tap.POOL5), MapMethod.G2M));
                assertTrue(e.getMessage().contains("at most " + fits + " fit in one pass"), e.getMessage());
                assertEquals(before, cpu.nativeBytes());
                assertEquals(fits, net.run(new float[(int) fits * 3 * 64 * 64], (int) fits, 64, 64, null, List.of(Tap.POOL5), MapMethod.G2M).n());
            }
        }
    }
}
