package g2m.backend.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The teardown every owner of the CUDA backend goes through ({@link CloseStack}), with fakes in
 * place of handles: reverse order of opening, every release run even when one fails, the first
 * failure thrown with the later ones suppressed, and a failure while opening closing exactly what
 * was opened before it.
 */
class CloseStackTest {
    /** A fake owner that opens named handles in order, failing at {@code failAt} (none: -1). */
    static final class FakeOwner {
        final CloseStack opened = new CloseStack();
        final List<String> log;

        FakeOwner(List<String> log, String[] handles, int failAt) {
            this.log = log;
            try {
                for (int i = 0; i < handles.length; i++) {
                    if (i == failAt) throw new IllegalStateException("creating " + handles[i] + " failed");
                    String h = handles[i];
                    log.add("open " + h);
                    opened.push(() -> log.add("close " + h));
                }
            } catch (RuntimeException e) {
                opened.closeAfterFailure(e);
                throw e;
            }
        }
    }

    @Test
    void closesInReverseOrderOfOpeningAndOnlyOnce() {
        List<String> log = new ArrayList<>();
        FakeOwner o = new FakeOwner(log, new String[] {"context", "stream", "event"}, -1);
        assertEquals(3, o.opened.size());
        o.opened.close();
        assertEquals(List.of("open context", "open stream", "open event", "close event", "close stream", "close context"), log);
        o.opened.close();
        assertEquals(6, log.size(), "a second close does nothing");
    }

    @Test
    void aFailureWhileOpeningClosesWhatWasOpenedBeforeIt() {
        List<String> log = new ArrayList<>();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> new FakeOwner(log, new String[] {"cublas", "cudnn", "relu", "pool"}, 2));
        assertEquals("creating relu failed", e.getMessage());
        assertEquals(List.of("open cublas", "open cudnn", "close cudnn", "close cublas"), log);
    }

    @Test
    void everyReleaseRunsEvenIfSomeFailTheFirstFailureIsThrownTheRestSuppressed() {
        List<String> log = new ArrayList<>();
        CloseStack s = new CloseStack();
        s.push(() -> log.add("context"));
        s.push(() -> {
            throw new IllegalStateException("cudaStreamDestroy failed");
        });
        s.push(() -> log.add("event"));
        s.push(() -> {
            throw new CudaException("cudaFree (close) failed", false);
        });
        RuntimeException first = assertThrows(RuntimeException.class, s::close);
        assertEquals("cudaFree (close) failed", first.getMessage(), "the first in closing order");
        assertEquals(1, first.getSuppressed().length);
        assertEquals("cudaStreamDestroy failed", first.getSuppressed()[0].getMessage());
        assertEquals(List.of("event", "context"), log);
        assertEquals(0, s.size());
    }

    @Test
    void aFailureToCloseAfterAnOpeningFailureRidesAlongWithIt() {
        CloseStack s = new CloseStack();
        IllegalStateException destroy = new IllegalStateException("cudnnDestroy failed");
        s.push(() -> {
            throw destroy;
        });
        RuntimeException opening = new CudaException("cudnnSetStream failed", false);
        s.closeAfterFailure(opening);
        assertArrayEquals(new Throwable[] {destroy}, opening.getSuppressed());
        // the same exception thrown twice is not suppressed into itself
        CloseStack again = new CloseStack();
        again.push(() -> {
            throw destroy;
        });
        again.push(() -> {
            throw destroy;
        });
        assertSame(destroy, assertThrows(IllegalStateException.class, again::close));
        assertEquals(0, destroy.getSuppressed().length);
    }
}
