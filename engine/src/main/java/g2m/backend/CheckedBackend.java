package g2m.backend;

import g2m.maps.MapMethod;

import java.util.List;

/**
 * What every operation of a backend does before its work, written once for both backends: refuse
 * the call while the backend cannot work ({@link #enter}: closed, or a lost GPU context), resolve
 * each {@link DeviceArray} argument to the backend's own array type (null, another backend's
 * array or a closed one: refused in one line naming the operation and the argument), note the
 * arrays the operation reads ({@link #reading}) and writes ({@link #written}), run the operation's {@link ArgumentChecks},
 * and only then call the backend's typed implementation, {@code do…}. So both backends refuse
 * the same calls with the same messages, and an implementation sees checked arrays of its own
 * type only.
 *
 * <p>Operations are serialized: each holds the backend's lock (synchronized) from the checks
 * to the end of its work.
 *
 * @param <A> the backend's array type
 */
public abstract class CheckedBackend<A extends AbstractDeviceArray<A>> implements Backend {
    private final Class<A> arrayType;
    private final String label;

    /** @param label the backend as messages name it: "CPU" in "is not an array of this CPU backend" */
    protected CheckedBackend(Class<A> arrayType, String label) {
        this.arrayType = arrayType;
        this.label = label;
    }

    /** Refuses operation {@code op} when the backend cannot take work (closed…); prepares the calling thread for it. */
    protected abstract void enter(String op);

    /** Called for each array an operation is about to write, before its checks (the CPU backend versions its blocks). */
    protected void written(A a) {}

    /**
     * Called for each array an operation is about to read, before its checks (the CPU backend's
     * bf16 mode writes an array it has deferred; see {@code DnnlChain}).
     */
    protected void reading(String op, String name, A a) {}

    /** Argument {@code name} of operation {@code op}, read by it, as an array of this backend, live. */
    private A arg(String op, String name, DeviceArray a) {
        A c = resolve(op, name, a);
        reading(op, name, c);
        return c;
    }

    /** Argument {@code name} of operation {@code op} as an array of this backend, live. */
    private A resolve(String op, String name, DeviceArray a) {
        if (a == null) throw new IllegalArgumentException(op + ": " + name + " is null");
        if (!arrayType.isInstance(a) || arrayType.cast(a).backend() != this) {
            throw new IllegalArgumentException(op + ": " + name + " " + DeviceArray.describe(a.shape())
                    + " is not an array of this " + label + " backend (" + a.getClass().getSimpleName() + ")");
        }
        A c = arrayType.cast(a);
        if (c.isFreed()) throw new IllegalStateException(op + ": " + name + " " + DeviceArray.describe(c.shape()) + " was closed");
        return c;
    }

    /** {@link #resolve} for an array the operation writes. */
    private A out(String op, String name, DeviceArray a) {
        A c = resolve(op, name, a);
        written(c);
        return c;
    }

    // ---------------------------------------------------------------- the operations: checks, then the typed work

    @Override
    public final synchronized void discard(DeviceArray a) {
        String op = "discard";
        enter(op);
        doDiscard(resolve(op, "a", a));
    }

    @Override
    public final synchronized void copyFromHost(float[] src, DeviceArray dst) {
        String op = "copyFromHost";
        enter(op);
        A d = out(op, "dst", dst);
        ArgumentChecks.copyFromHost(src, d);
        doCopyFromHost(src, d);
    }

    @Override
    public final synchronized float[] download(DeviceArray src) {
        String op = "download";
        enter(op);
        return doDownload(arg(op, "src", src));
    }

    @Override
    public final synchronized void conv3x3Forward(DeviceArray xa, DeviceArray wa, DeviceArray ba, DeviceArray ya) {
        String op = "conv3x3Forward";
        enter(op);
        A x = arg(op, "x", xa), w = arg(op, "w", wa), b = arg(op, "b", ba), y = out(op, "y", ya);
        ArgumentChecks.conv3x3Forward(op, x, w, b, y);
        doConv3x3Forward(x, w, b, y);
    }

    @Override
    public final synchronized void conv3x3ForwardRelu(DeviceArray xa, DeviceArray wa, DeviceArray ba, DeviceArray ya) {
        String op = "conv3x3ForwardRelu";
        enter(op);
        A x = arg(op, "x", xa), w = arg(op, "w", wa), b = arg(op, "b", ba), y = out(op, "y", ya);
        ArgumentChecks.conv3x3Forward(op, x, w, b, y);
        doConv3x3ForwardRelu(x, w, b, y);
    }

    @Override
    public final synchronized void conv3x3BackwardData(DeviceArray dya, DeviceArray wa, DeviceArray dxa) {
        String op = "conv3x3BackwardData";
        enter(op);
        A dy = arg(op, "dy", dya), w = arg(op, "w", wa), dx = out(op, "dx", dxa);
        ArgumentChecks.conv3x3BackwardData(op, dy, w, dx);
        doConv3x3BackwardData(dy, w, dx);
    }

    @Override
    public final synchronized void reluForward(DeviceArray xa, DeviceArray ya) {
        String op = "reluForward";
        enter(op);
        A x = arg(op, "x", xa), y = out(op, "y", ya);
        ArgumentChecks.reluForward(op, x, y);
        doReluForward(x, y);
    }

    @Override
    public final synchronized void reluBackward(DeviceArray ya, DeviceArray dya, DeviceArray dxa) {
        String op = "reluBackward";
        enter(op);
        A y = arg(op, "y", ya), dy = arg(op, "dy", dya), dx = out(op, "dx", dxa);
        ArgumentChecks.reluBackward(op, y, dy, dx);
        doReluBackward(y, dy, dx);
    }

    @Override
    public final synchronized void maxPool2x2Forward(DeviceArray xa, DeviceArray ya) {
        String op = "maxPool2x2Forward";
        enter(op);
        A x = arg(op, "x", xa), y = out(op, "y", ya);
        ArgumentChecks.maxPool2x2Forward(op, x, y);
        doMaxPool2x2Forward(x, y);
    }

    @Override
    public final synchronized void maxPool2x2Backward(DeviceArray xa, DeviceArray dya, DeviceArray dxa) {
        String op = "maxPool2x2Backward";
        enter(op);
        A x = arg(op, "x", xa), dy = arg(op, "dy", dya), dx = out(op, "dx", dxa);
        ArgumentChecks.maxPool2x2Backward(op, x, dy, dx);
        doMaxPool2x2Backward(x, dy, dx);
    }

    @Override
    public final synchronized void adaptiveAvgPoolForward(DeviceArray xa, DeviceArray ya) {
        String op = "adaptiveAvgPoolForward";
        enter(op);
        A x = arg(op, "x", xa), y = out(op, "y", ya);
        ArgumentChecks.adaptiveAvgPoolForward(op, x, y);
        doAdaptiveAvgPoolForward(x, y);
    }

    @Override
    public final synchronized void adaptiveAvgPoolBackward(DeviceArray dya, DeviceArray dxa) {
        String op = "adaptiveAvgPoolBackward";
        enter(op);
        A dy = arg(op, "dy", dya), dx = out(op, "dx", dxa);
        ArgumentChecks.adaptiveAvgPoolBackward(op, dy, dx);
        doAdaptiveAvgPoolBackward(dy, dx);
    }

    @Override
    public final synchronized void upsampleBilinearAlignCorners(DeviceArray xa, DeviceArray ya) {
        String op = "upsampleBilinearAlignCorners";
        enter(op);
        A x = arg(op, "x", xa), y = out(op, "y", ya);
        ArgumentChecks.upsampleBilinearAlignCorners(op, x, y);
        doUpsampleBilinearAlignCorners(x, y);
    }

    @Override
    public final synchronized void fcForward(DeviceArray xa, DeviceArray wa, DeviceArray ba, DeviceArray ya) {
        String op = "fcForward";
        enter(op);
        A x = arg(op, "x", xa), w = arg(op, "w", wa), b = arg(op, "b", ba), y = out(op, "y", ya);
        ArgumentChecks.fcForward(op, x, w, b, y);
        doFcForward(x, w, b, y);
    }

    @Override
    public final synchronized void fcBackwardData(DeviceArray dya, DeviceArray wa, DeviceArray dxa) {
        String op = "fcBackwardData";
        enter(op);
        A dy = arg(op, "dy", dya), w = arg(op, "w", wa), dx = out(op, "dx", dxa);
        ArgumentChecks.fcBackwardData(op, dy, w, dx);
        doFcBackwardData(dy, w, dx);
    }

    @Override
    public final synchronized void softmax(DeviceArray logits, DeviceArray probs) {
        String op = "softmax";
        enter(op);
        A z = arg(op, "logits", logits), p = out(op, "probs", probs);
        ArgumentChecks.softmax(op, z, p);
        doSoftmax(z, p);
    }

    @Override
    public final synchronized void backwardSeeds(DeviceArray logits, int[] classes, DeviceArray seeds) {
        String op = "backwardSeeds";
        enter(op);
        A z = arg(op, "logits", logits), s = out(op, "seeds", seeds);
        ArgumentChecks.backwardSeeds(op, z, classes, s);
        doBackwardSeeds(z, classes, s);
    }

    @Override
    public final synchronized void maps(DeviceArray aa, DeviceArray g1a, DeviceArray g2a, List<MapMethod> methods, DeviceArray outa) {
        String op = "maps";
        enter(op);
        A a = arg(op, "a", aa), g1 = arg(op, "g1", g1a), out = out(op, "out", outa);
        ArgumentChecks.mapMethods(op, methods);
        boolean needsG2 = methods.stream().anyMatch(MapMethod::needsG2);
        A g2 = g2a == null && !needsG2 ? null : arg(op, "g2", g2a);
        ArgumentChecks.maps(op, a, g1, g2, methods.size(), out);
        doMaps(a, g1, g2, methods, out);
    }

    // ---------------------------------------------------------------- the typed work (arguments checked; the lock held)

    /** {@link Backend#discard}: nothing unless the backend defers work it can then skip. */
    protected void doDiscard(A a) {}

    protected abstract void doCopyFromHost(float[] src, A dst);

    protected abstract float[] doDownload(A src);

    protected abstract void doConv3x3Forward(A x, A w, A b, A y);

    /** The convolution, then the ReLU in place; a backend that can fuse them overrides this. */
    protected void doConv3x3ForwardRelu(A x, A w, A b, A y) {
        doConv3x3Forward(x, w, b, y);
        doReluForward(y, y);
    }

    protected abstract void doConv3x3BackwardData(A dy, A w, A dx);

    protected abstract void doReluForward(A x, A y);

    protected abstract void doReluBackward(A y, A dy, A dx);

    protected abstract void doMaxPool2x2Forward(A x, A y);

    protected abstract void doMaxPool2x2Backward(A x, A dy, A dx);

    protected abstract void doAdaptiveAvgPoolForward(A x, A y);

    protected abstract void doAdaptiveAvgPoolBackward(A dy, A dx);

    protected abstract void doUpsampleBilinearAlignCorners(A x, A y);

    protected abstract void doFcForward(A x, A w, A b, A y);

    protected abstract void doFcBackwardData(A dy, A w, A dx);

    protected abstract void doSoftmax(A z, A p);

    protected abstract void doBackwardSeeds(A z, int[] classes, A s);

    /** g2 is null when no method needs it and none was given. */
    protected abstract void doMaps(A a, A g1, A g2, List<MapMethod> methods, A out);
}
