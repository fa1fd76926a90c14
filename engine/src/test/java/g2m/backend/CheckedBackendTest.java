package g2m.backend;

import g2m.maps.MapMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every operation of both backends does before its work ({@link CheckedBackend}), on a fake
 * backend whose arrays hold no memory and whose operations only record their calls: the backend
 * is asked first, each argument is resolved to its own array type or refused in one line, the
 * arrays an operation writes (and only those) are reported, the operation's checks run, and the
 * typed work is called with the resolved arrays only when all of that passed.
 */
class CheckedBackendTest {
    /** An array of a {@link FakeBackend}: shape and views only, a flag for "closed". */
    static final class FakeArray extends AbstractDeviceArray<FakeArray> {
        final FakeBackend backend;
        final boolean[] freed;

        FakeArray(FakeBackend backend, boolean[] freed, long offset, int[] shape, boolean owner) {
            super(offset, shape, owner);
            this.backend = backend;
            this.freed = freed;
        }

        @Override
        protected Backend backend() {
            return backend;
        }

        @Override
        protected void checkShape(String op, int[] shape) {
            ArgumentChecks.checkShape(op, shape, 1 << 20, "FAKE");
        }

        @Override
        protected void requireLive() {
            if (freed[0]) throw new IllegalStateException("freed");
        }

        @Override
        protected FakeArray newView(long offset, int[] shape) {
            return new FakeArray(backend, freed, offset, shape, false);
        }

        @Override
        protected boolean sameBlock(FakeArray o) {
            return freed == o.freed;
        }

        @Override
        public boolean isFreed() {
            return freed[0];
        }

        @Override
        public void close() {
            if (isOwner()) freed[0] = true;
        }
    }

    /** A DeviceArray of no backend of this kind. */
    static final class Stranger implements DeviceArray {
        @Override
        public int[] shape() {
            return new int[] {2, 3};
        }

        @Override
        public DeviceArray reshape(int... shape) {
            throw new UnsupportedOperationException();
        }

        @Override
        public DeviceArray view(int... shape) {
            throw new UnsupportedOperationException();
        }

        @Override
        public DeviceArray batch(int from, int to) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {}
    }

    /** Records enter / written / the typed calls in order; refuses every operation once closed. */
    static final class FakeBackend extends CheckedBackend<FakeArray> {
        final List<String> log = new ArrayList<>();
        final List<FakeArray> written = new ArrayList<>();
        final List<Object> lastArgs = new ArrayList<>();
        boolean closed;

        FakeBackend() {
            super(FakeArray.class, "FAKE");
        }

        FakeArray array(int... shape) {
            return new FakeArray(this, new boolean[1], 0, shape, true);
        }

        @Override
        protected void enter(String op) {
            if (closed) throw new IllegalStateException(op + ": backend is closed");
            log.add("enter " + op);
        }

        @Override
        protected void written(FakeArray a) {
            written.add(a);
        }

        /** "op name" of each array read, in order. */
        final List<String> read = new ArrayList<>();

        @Override
        protected void reading(String op, String name, FakeArray a) {
            read.add(op + " " + name);
        }

        @Override
        protected void doDiscard(FakeArray a) {
            did("doDiscard", a);
        }

        private void did(String op, Object... args) {
            log.add(op);
            lastArgs.clear();
            lastArgs.addAll(java.util.Arrays.asList(args));
        }

        @Override
        public String name() {
            return "fake";
        }

        @Override
        public String description() {
            return "fake";
        }

        @Override
        public long maxArrayElements() {
            return 1 << 20;
        }

        @Override
        public DeviceArray allocate(int... shape) {
            return array(shape);
        }

        @Override
        public DeviceArray upload(float[] host, int... shape) {
            return array(shape);
        }

        @Override
        public void close() {
            closed = true;
        }

        @Override
        protected void doCopyFromHost(float[] src, FakeArray dst) {
            did("doCopyFromHost", src, dst);
        }

        @Override
        protected float[] doDownload(FakeArray src) {
            did("doDownload", src);
            return new float[0];
        }

        @Override
        protected void doConv3x3Forward(FakeArray x, FakeArray w, FakeArray b, FakeArray y) {
            did("doConv3x3Forward", x, w, b, y);
        }

        @Override
        protected void doConv3x3BackwardData(FakeArray dy, FakeArray w, FakeArray dx) {
            did("doConv3x3BackwardData", dy, w, dx);
        }

        @Override
        protected void doReluForward(FakeArray x, FakeArray y) {
            did("doReluForward", x, y);
        }

        @Override
        protected void doReluBackward(FakeArray y, FakeArray dy, FakeArray dx) {
            did("doReluBackward", y, dy, dx);
        }

        @Override
        protected void doMaxPool2x2Forward(FakeArray x, FakeArray y) {
            did("doMaxPool2x2Forward", x, y);
        }

        @Override
        protected void doMaxPool2x2Backward(FakeArray x, FakeArray dy, FakeArray dx) {
            did("doMaxPool2x2Backward", x, dy, dx);
        }

        @Override
        protected void doAdaptiveAvgPoolForward(FakeArray x, FakeArray y) {
            did("doAdaptiveAvgPoolForward", x, y);
        }

        @Override
        protected void doAdaptiveAvgPoolBackward(FakeArray dy, FakeArray dx) {
            did("doAdaptiveAvgPoolBackward", dy, dx);
        }

        @Override
        protected void doUpsampleBilinearAlignCorners(FakeArray x, FakeArray y) {
            did("doUpsampleBilinearAlignCorners", x, y);
        }

        @Override
        protected void doFcForward(FakeArray x, FakeArray w, FakeArray b, FakeArray y) {
            did("doFcForward", x, w, b, y);
        }

        @Override
        protected void doFcBackwardData(FakeArray dy, FakeArray w, FakeArray dx) {
            did("doFcBackwardData", dy, w, dx);
        }

        @Override
        protected void doSoftmax(FakeArray z, FakeArray p) {
            did("doSoftmax", z, p);
        }

        @Override
        protected void doBackwardSeeds(FakeArray z, int[] classes, FakeArray s) {
            did("doBackwardSeeds", z, classes, s);
        }

        @Override
        protected void doMaps(FakeArray a, FakeArray g1, FakeArray g2, List<MapMethod> methods, FakeArray out) {
            did("doMaps", a, g1, g2, methods, out);
        }
    }

    final FakeBackend be = new FakeBackend();

    /** One call: entered under its name, then the typed work with exactly these arguments, and exactly these arrays written. */
    void passes(String op, Executable call, List<Object> args, List<FakeArray> written) throws Throwable {
        be.log.clear();
        be.written.clear();
        call.execute();
        assertEquals(List.of("enter " + op, "do" + Character.toUpperCase(op.charAt(0)) + op.substring(1)), be.log, op);
        assertEquals(args.size(), be.lastArgs.size(), op);
        for (int i = 0; i < args.size(); i++) assertSame(args.get(i), be.lastArgs.get(i), op + " argument " + i);
        assertEquals(written.size(), be.written.size(), op + ": written arrays");
        for (int i = 0; i < written.size(); i++) assertSame(written.get(i), be.written.get(i), op + ": written " + i);
    }

    @Test
    void everyOperationEntersResolvesReportsWhatItWritesAndCallsItsTypedWork() throws Throwable {
        FakeArray x = be.array(2, 3, 4, 4), w = be.array(5, 3, 3, 3), b = be.array(5), y = be.array(2, 5, 4, 4);
        passes("conv3x3Forward", () -> be.conv3x3Forward(x, w, b, y), List.of(x, w, b, y), List.of(y));
        FakeArray dx = be.array(2, 3, 4, 4);
        passes("conv3x3BackwardData", () -> be.conv3x3BackwardData(y, w, dx), List.of(y, w, dx), List.of(dx));
        passes("reluForward", () -> be.reluForward(x, x), List.of(x, x), List.of(x));
        passes("reluBackward", () -> be.reluBackward(x, x, dx), List.of(x, x, dx), List.of(dx));
        FakeArray p = be.array(2, 3, 2, 2);
        passes("maxPool2x2Forward", () -> be.maxPool2x2Forward(x, p), List.of(x, p), List.of(p));
        passes("maxPool2x2Backward", () -> be.maxPool2x2Backward(x, p, dx), List.of(x, p, dx), List.of(dx));
        passes("adaptiveAvgPoolForward", () -> be.adaptiveAvgPoolForward(x, p), List.of(x, p), List.of(p));
        passes("adaptiveAvgPoolBackward", () -> be.adaptiveAvgPoolBackward(p, dx), List.of(p, dx), List.of(dx));
        passes("upsampleBilinearAlignCorners", () -> be.upsampleBilinearAlignCorners(p, dx), List.of(p, dx), List.of(dx));
        FakeArray fx = be.array(2, 48), fw = be.array(10, 48), fb = be.array(10), fy = be.array(2, 10);
        passes("fcForward", () -> be.fcForward(fx, fw, fb, fy), List.of(fx, fw, fb, fy), List.of(fy));
        passes("fcBackwardData", () -> be.fcBackwardData(fy, fw, fx), List.of(fy, fw, fx), List.of(fx));
        FakeArray probs = be.array(2, 10), seeds = be.array(4, 10);
        passes("softmax", () -> be.softmax(fy, probs), List.of(fy, probs), List.of(probs));
        int[] classes = {1, 9};
        passes("backwardSeeds", () -> be.backwardSeeds(fy, classes, seeds), List.of(fy, classes, seeds), List.of(seeds));
        float[] host = new float[20];
        passes("copyFromHost", () -> be.copyFromHost(host, fy), List.of(host, fy), List.of(fy));
        passes("download", () -> be.download(fy), List.of(fy), List.of());
        FakeArray a = be.array(2, 3, 4, 4), g1 = be.array(2, 3, 4, 4), g2 = be.array(2, 3, 4, 4), out = be.array(2, 2, 4, 4);
        List<MapMethod> ms = List.of(MapMethod.LAYERCAM, MapMethod.DGL);
        passes("maps", () -> be.maps(a, g1, g2, ms, out), List.of(a, g1, g2, ms, out), List.of(out));
    }

    @Test
    void theArraysAnOperationReadsAreReportedByNameAndDiscardNeitherReadsNorWrites() {
        FakeArray x = be.array(1, 3, 4, 4), w = be.array(5, 3, 3, 3), b = be.array(5), y = be.array(1, 5, 4, 4);
        be.conv3x3ForwardRelu(x, w, b, y);
        be.download(y);
        assertEquals(List.of("conv3x3ForwardRelu x", "conv3x3ForwardRelu w", "conv3x3ForwardRelu b", "download src"), be.read);
        be.read.clear();
        be.written.clear();
        be.log.clear();
        be.discard(y);
        assertEquals(List.of("enter discard", "doDiscard"), be.log);
        assertEquals(List.of(y), be.lastArgs);
        assertEquals(List.of(), be.read);
        assertEquals(List.of(), be.written);
        refused(IllegalArgumentException.class, "discard: a is null", () -> be.discard(null));
    }

    @Test
    void theFusedConvolutionIsTheConvolutionThenTheReluInPlaceUnlessABackendFusesThem() {
        FakeArray x = be.array(1, 3, 4, 4), w = be.array(5, 3, 3, 3), b = be.array(5), y = be.array(1, 5, 4, 4);
        be.conv3x3ForwardRelu(x, w, b, y);
        assertEquals(List.of("enter conv3x3ForwardRelu", "doConv3x3Forward", "doReluForward"), be.log);
        assertEquals(List.of(y, y), be.lastArgs);
        assertEquals(List.of(y), be.written);
    }

    static void refused(Class<? extends RuntimeException> type, String message, Executable call) {
        assertEquals(message, assertThrows(type, call).getMessage());
    }

    @Test
    void badArgumentsAreRefusedInOneLineBeforeAnyWork() {
        FakeArray x = be.array(2, 3), y = be.array(2, 3);
        refused(IllegalArgumentException.class, "reluForward: y is null", () -> be.reluForward(x, null));
        FakeBackend other = new FakeBackend();
        refused(IllegalArgumentException.class, "reluForward: x [2, 3] is not an array of this FAKE backend (FakeArray)",
                () -> be.reluForward(other.array(2, 3), y));
        refused(IllegalArgumentException.class, "download: src [2, 3] is not an array of this FAKE backend (Stranger)",
                () -> be.download(new Stranger()));
        FakeArray closed = be.array(2, 3);
        FakeArray view = closed.reshape(6);
        closed.close();
        refused(IllegalStateException.class, "softmax: probs [6] was closed", () -> be.softmax(x.reshape(6), view));
        refused(IllegalArgumentException.class, "reluForward: y [3, 2] must have the shape of x [2, 3]", () -> be.reluForward(x, be.array(3, 2)));
        assertTrue(be.log.stream().noneMatch(s -> s.startsWith("do")), "no typed work after a refusal: " + be.log);
        be.close();
        refused(IllegalStateException.class, "reluForward: backend is closed", () -> be.reluForward(null, null));
    }

    @Test
    void mapsTakeG2OnlyWhereAMethodNeedsIt() {
        FakeArray a = be.array(1, 3, 2, 2), g1 = be.array(1, 3, 2, 2), out = be.array(1, 1, 2, 2);
        be.maps(a, g1, null, List.of(MapMethod.LAYERCAM), out);
        assertNull(be.lastArgs.get(2), "no method needs g2: none given, none passed on");
        refused(IllegalArgumentException.class, "maps: g2 is null", () -> be.maps(a, g1, null, List.of(MapMethod.SGL_G2), out));
        refused(IllegalArgumentException.class, "maps: methods must be a non-empty list without nulls, got []",
                () -> be.maps(a, g1, null, List.of(), out));
    }
}
