package g2m.backend.cpu;

import org.junit.jupiter.api.Assumptions;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whether this machine can run the CPU backend's bf16 mode (oneDNN with AVX-512 bf16). A oneDNN
 * that fails to load is a defect and fails the test; a CPU without the instructions (the AVX2
 * build machines) skips the bf16 tests, with the reason.
 */
public final class Bf16Cpu {
    private Bf16Cpu() {}

    public static boolean available() {
        assertTrue(Dnnl.load(), "oneDNN did not load: " + Dnnl.loadError());
        return Dnnl.hasBf16();
    }

    public static void assume() {
        Assumptions.assumeTrue(available(), "this CPU has no AVX-512 bf16 instructions: the CPU bf16 mode cannot run here");
    }
}
