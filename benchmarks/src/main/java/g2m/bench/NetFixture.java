package g2m.bench;

import g2m.cli.ProcessMemory;
import g2m.backend.Backend;
import g2m.backend.BackendUnavailableException;
import g2m.backend.Backends;
import g2m.maps.MapMethod;
import g2m.net.BatchMaps;
import g2m.net.RandomVgg16;
import g2m.net.Tap;
import g2m.net.Vgg16Net;

import java.util.List;
import java.util.SplittableRandom;

/**
 * What every benchmark trial holds: a backend, full-size VGG16 with seeded random weights
 * uploaded to it ({@link RandomVgg16}, the same network as the CLI's {@code bench}), and a
 * random [batch, 3, size, size] input. Built once per trial; {@link #run()} is one op.
 */
public final class NetFixture implements AutoCloseable {
    public static final long WEIGHT_SEED = 7;
    public final int batch;
    public final int size;
    public final List<Tap> taps;
    public final List<MapMethod> methods;
    /** The trial in words, for its memory line: "all4 @ conv5_1, batch 8". */
    private final String trial;
    private final float[] input;
    private final Backend backend;
    private final Vgg16Net net;

    public NetFixture(String device, int threads, String methodsParam, String tapParam, int batch, int size) {
        this.batch = batch;
        this.size = size;
        this.methods = methods(methodsParam);
        this.taps = Tap.parseList(tapParam.replace('+', ','));
        this.trial = methodsParam + " @ " + tapParam + ", batch " + batch;
        try {
            this.backend = Backends.open(device, threads);
        } catch (BackendUnavailableException e) {
            // JMH has no "skip": this trial fails with this message, the run goes on with the others
            // (unless -foe true). The default device list is "cpu"; pass -p device=cuda,cpu on GPU hosts.
            throw new IllegalStateException("SKIPPED device=" + device + ": " + e.getMessage(), e);
        }
        Vgg16Net n = null;
        try {
            n = new Vgg16Net(backend, RandomVgg16.create(WEIGHT_SEED));
        } finally {
            if (n == null) backend.close();
        }
        this.net = n;
        this.input = new float[batch * 3 * size * size];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < input.length; i++) input[i] = (float) (r.nextDouble() * 4 - 2);
        System.gc(); // the host-side copy of the weights is garbage now; keep it out of -prof gc's numbers
    }

    /** "all4" = the G2M four (layercam, sgl-g1, sgl-g2, dgl); otherwise method ids joined by '+'. */
    public static List<MapMethod> methods(String param) {
        return "all4".equals(param) ? MapMethod.G2M : MapMethod.parseList(param.replace('+', ','));
    }

    /** One op: ONE forward and ONE backward pass of the whole batch, every map at every tap. */
    public BatchMaps run() {
        return net.run(input, batch, size, size, null, taps, methods);
    }

    public int mapsPerOp() {
        return batch * methods.size() * taps.size();
    }

    public String device() {
        return backend.description();
    }

    /** The end of a trial: its memory line (see {@link #memoryLine}) on stdout, then {@link #close()}. */
    public void reportMemoryAndClose() {
        System.out.println();
        long device = backend.peakDeviceBytes();
        System.out.println(memoryLine(device() + ", " + trial)
                + (device >= 0 ? String.format(", GPU peak held by the engine %d MB", device >> 20) : ""));
        close();
    }

    @Override
    public void close() {
        try {
            net.close();
        } finally {
            backend.close();
        }
    }

    /**
     * One line for the log at the end of a trial: the process's peak resident set (VmHWM, Linux),
     * which counts the native (off-heap) weights and workspaces that heap profilers do not see.
     * Only meaningful in a forked trial (the default): with -f 0 it is the whole host JVM's peak.
     */
    public static String memoryLine(String what) {
        Runtime rt = Runtime.getRuntime();
        return String.format("[g2m-bench] %s: peak RSS (VmHWM) %s MB, RSS now (VmRSS) %s MB, heap used %d MB",
                what, mib(ProcessMemory.peakRssKib()), mib(ProcessMemory.rssKib()), (rt.totalMemory() - rt.freeMemory()) >> 20);
    }

    private static String mib(long kib) {
        return kib < 0 ? "n/a" : Long.toString(kib >> 10);
    }
}
