package g2m.backend;

import g2m.backend.cpu.CpuBackend;
import g2m.backend.cuda.CudaBackend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --device auto against the CUDA validation record, in both of its states. */
class BackendsTest {
    @Test
    void autoIsTheCpuWhileTheCudaBackendIsUnvalidated() {
        for (boolean gpuVisible : new boolean[] {false, true}) {
            try (Backend b = Backends.open("auto", 1, Precision.FP32, false, gpuVisible)) {
                assertInstanceOf(CpuBackend.class, b);
                String d = b.description();
                assertTrue(d.contains("; auto: the CPU, since the CUDA backend has not been validated on a GPU yet"), d);
                // "--device cuda" is offered only where a GPU is there to run it
                assertTrue(d.contains("--device cuda") == gpuVisible, d);
                assertFalse(d.contains("\n"), d);
            }
        }
        try (Backend b = Backends.open("auto", 1, Precision.TF32, false, false)) {
            assertTrue(b.description().contains("--precision tf32 ignored, the CPU computes in fp32"), b.description());
        }
    }

    /** Once validated, auto tries the GPU; without one here it falls back and names the reason. */
    @Test
    void autoTriesTheGpuOnceValidated() {
        String noGpu = CudaBackend.unavailableReason();
        Assumptions.assumeTrue(noGpu != null, "a usable GPU is present (auto would take it)");
        try (Backend b = Backends.open("auto", 1, Precision.FP32, true, false)) {
            assertInstanceOf(CpuBackend.class, b);
            assertTrue(b.description().contains("auto: no usable CUDA GPU (" + noGpu.substring("CUDA backend unavailable: ".length()) + ")"),
                    b.description());
        }
    }

    /** --device cuda is not affected by the record: it still opens (or tries) the CUDA backend. */
    @Test
    void cudaStillTriesTheCudaBackend() {
        String noGpu = CudaBackend.unavailableReason();
        Assumptions.assumeTrue(noGpu != null, "a usable GPU is present");
        for (boolean validated : new boolean[] {false, true}) {
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
                    () -> Backends.open("cuda", 1, Precision.FP32, validated, true).close());
            assertTrue(e.getMessage().startsWith("CUDA backend unavailable: "), e.getMessage());
        }
    }
}
