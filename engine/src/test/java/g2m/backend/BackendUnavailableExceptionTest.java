package g2m.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The exception carries the backend and the reason; its message is made from them, and auto's fallback names the reason as carried. */
class BackendUnavailableExceptionTest {
    @Test
    void theMessageIsBuiltFromTheBackendAndTheReason() {
        BackendUnavailableException e = new BackendUnavailableException("CUDA", "no CUDA GPU found");
        assertEquals("CUDA backend unavailable: no CUDA GPU found", e.getMessage());
        assertEquals("CUDA", e.backend());
        assertEquals("no CUDA GPU found", e.reason());
        IllegalStateException cause = new IllegalStateException("x");
        BackendUnavailableException bf16 = new BackendUnavailableException("CPU", "for --precision bf16",
                "this CPU has no AVX-512 bf16 instructions", cause);
        assertEquals("CPU backend unavailable for --precision bf16: this CPU has no AVX-512 bf16 instructions", bf16.getMessage());
        assertEquals("this CPU has no AVX-512 bf16 instructions", bf16.reason());
        assertSame(cause, bf16.getCause());
    }

    @Test
    void autosFallbackNamesTheReasonAsCarried() {
        assertEquals("no usable CUDA GPU (opening GPU 0 failed: cudnnCreate failed)",
                Backends.fallback(new BackendUnavailableException("CUDA", "opening GPU 0 failed: cudnnCreate failed")));
    }
}
