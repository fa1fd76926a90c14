package g2m.net;

import g2m.backend.Precision;
import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every golden case of {@link Vgg16NetGoldenTest} (logits, every map at every tap, bound 1e-4)
 * with every convolution, forward and backward, on Winograd F(4×4, 3×3): the fixture network is
 * narrower than the layers where the default takes Winograd, so this forces it.
 */
class Vgg16NetWinogradGoldenTest extends Vgg16NetGoldenTest {
    @BeforeAll
    static void open() {
        backend = new CpuBackend(0, Precision.FP32, ConvPath.WINOGRAD, null);
    }

    @AfterAll
    static void close() {
        backend.close();
    }
}
