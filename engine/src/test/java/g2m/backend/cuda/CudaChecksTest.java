package g2m.backend.cuda;

import g2m.backend.DeviceOutOfMemoryException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The status check every call of the CUDA backend goes through ({@link CudaChecks}), with the
 * library-facing parts faked: the free memory added to an out-of-memory message, the runtime's
 * last error cleared (runtime API only), a lost context remembered and then refused by name.
 */
class CudaChecksTest {
    final AtomicInteger cleared = new AtomicInteger();
    final CudaChecks checks = new CudaChecks(CudaLogicTest.NAMES, cleared::incrementAndGet, () -> " (1.5 GiB free of 80.0 GiB on H200)");

    @Test
    void successPassesSilently() {
        assertDoesNotThrow(() -> checks.rt(0, "cudaMalloc"));
        assertDoesNotThrow(() -> checks.dnn(0, "cudnnCreate"));
        assertEquals(0, cleared.get());
        assertTrue(checks.live());
    }

    @Test
    void outOfMemorySaysWhatIsFree() {
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                () -> checks.rt(2, "cudaMalloc of 392.0 MiB for [64, 512, 56, 56]"));
        assertEquals("GPU out of memory: cudaMalloc of 392.0 MiB for [64, 512, 56, 56] failed with RUNTIME_2 (2)"
                + " (1.5 GiB free of 80.0 GiB on H200)", e.getMessage());
        assertEquals(1, cleared.get(), "a runtime error is cleared so the next call does not report it again");
        DeviceOutOfMemoryException dnn = assertThrows(DeviceOutOfMemoryException.class, () -> checks.dnn(4004, "cudnnConvolutionForward"));
        assertTrue(dnn.getMessage().endsWith("(1.5 GiB free of 80.0 GiB on H200)"), dnn.getMessage());
        assertTrue(dnn.atBatch(64).getMessage().endsWith("at batch 64: lower the batch size (--batch, now 64)"), "the batch is named later, once");
        assertEquals(1, cleared.get(), "cuDNN has no last error to clear");
        assertTrue(checks.live(), "out of memory leaves the context usable");
    }

    @Test
    void aLostContextIsRememberedAndRefusesLaterWork() {
        CudaException bad = assertThrows(CudaException.class, () -> checks.dnn(2000, "cudnnPoolingForward"));
        assertFalse(bad.contextLost());
        assertTrue(checks.live());
        assertDoesNotThrow(() -> checks.requireLive("reluForward"));
        CudaException lost = assertThrows(CudaException.class, () -> checks.drv(700, "cuLaunchKernel(g2m_map_sums)"));
        assertTrue(lost.contextLost());
        assertFalse(checks.live());
        CudaException refused = assertThrows(CudaException.class, () -> checks.requireLive("download"));
        assertTrue(refused.contextLost());
        assertEquals("download: the CUDA context was lost earlier (" + lost.getMessage() + ")", refused.getMessage());
    }
}
