package g2m.net;

import g2m.backend.Backend;
import g2m.backend.DeviceArray;
import g2m.backend.DeviceOutOfMemoryException;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A device that runs out of memory mid-run (here: a CPU backend that refuses large
 * allocations, as a GPU with little free memory would): the error names the batch size to
 * lower, nothing leaks, and a smaller batch then runs.
 */
class Vgg16NetOutOfMemoryTest {
    /** cpu, except that allocations of more than {@code limit} elements fail as cudaMalloc would. */
    static Backend limited(CpuBackend cpu, long limit) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("allocate")) {
                long n = 1;
                for (int d : (int[]) args[0]) n *= d;
                if (n > limit) throw new DeviceOutOfMemoryException("GPU out of memory: cudaMalloc of " + n * 4 + " bytes failed", null);
            }
            try {
                return m.invoke(cpu, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void theMessageNamesTheBatchAndASmallerBatchRuns() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            Backend be = limited(cpu, 40_000); // room for 3 input images of 64x64 (36864 values) and conv1 outputs of 2 (32768), not of 3
            try (Vgg16Net net = new Vgg16Net(be, Vgg16NetGoldenTest.tinyWeights())) {
                long bytes = cpu.nativeBytes();
                DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                        () -> net.run(new float[3 * 3 * 64 * 64], 3, 64, 64, null, List.of(Tap.CONV1_1), MapMethod.G2M));
                assertEquals("GPU out of memory: cudaMalloc of " + 3 * 4 * 64 * 64 * 4
                        + " bytes failed at batch 3: lower the batch size (--batch, now 3)", e.getMessage());
                assertEquals(bytes, cpu.nativeBytes(), "the half-made workspace was freed");
                assertEquals(2, net.run(new float[2 * 3 * 64 * 64], 2, 64, 64, null, List.of(Tap.POOL5), MapMethod.G2M).n());
            }
        }
    }

    @Test
    void batchOneSaysSomethingElseToDo() {
        try (CpuBackend cpu = new CpuBackend(1); Vgg16Net net = new Vgg16Net(limited(cpu, 1000), Vgg16NetGoldenTest.tinyWeights())) {
            DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                    () -> net.run(new float[3 * 64 * 64], 1, 64, 64, null, List.of(Tap.CONV1_1), MapMethod.G2M));
            assertTrue(e.getMessage().endsWith("even at batch 1: use smaller pictures, a GPU with more free memory, or --device cpu"), e.getMessage());
        }
    }
}
