package g2m.net;

import g2m.backend.Precision;
import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link DemoModelGoldenTest} (trained demo model, maps at conv5_1, bound 1e-4) with every convolution on Winograd F(4×4, 3×3). */
class DemoModelWinogradGoldenTest extends DemoModelGoldenTest {
    @BeforeAll
    static void open() {
        backend = new CpuBackend(0, Precision.FP32, ConvPath.WINOGRAD, null);
    }

    @AfterAll
    static void close() {
        backend.close();
    }
}
