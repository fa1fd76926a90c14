package g2m.bench;

import g2m.backend.Backend;
import g2m.backend.DeviceArray;
import g2m.backend.Precision;
import g2m.backend.cpu.ConvPath;
import g2m.backend.cpu.CpuBackend;
import g2m.maps.MapMethod;
import g2m.net.RandomVgg16;
import g2m.net.Tap;
import g2m.net.Vgg16Net;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where one map call's time goes on the CPU backend: full-size VGG16 (random weights, 224×224,
 * the four G2M maps at conv5_1) through a proxy that times every backend operation, by operation
 * and shape, after three warm-up calls. Not JMH: a profile, to find what to make faster.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar g2m.bench.OpProfile BATCH fp32|bf16 [auto|im2col|onednn|winograd] [RUNS]</pre>
 */
public final class OpProfile {
    private OpProfile() {}

    public static void main(String[] args) {
        if (args.length < 2) {
            System.err.println("usage: OpProfile BATCH fp32|bf16 [auto|im2col|onednn|winograd] [RUNS]");
            System.exit(2);
        }
        int batch = Integer.parseInt(args[0]), runs = args.length > 3 ? Integer.parseInt(args[3]) : 7;
        Precision precision = Precision.parse(args[1]);
        ConvPath path = ConvPath.parse(args.length > 2 ? args[2] : "auto");
        Map<String, long[]> byOp = new HashMap<>();
        try (CpuBackend cpu = new CpuBackend(0, precision, path, null)) {
            Backend timed = (Backend) Proxy.newProxyInstance(OpProfile.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, a) -> {
                long t0 = System.nanoTime();
                try {
                    return m.invoke(cpu, a);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                } finally {
                    String key = m.getName();
                    if (key.startsWith("conv") || key.startsWith("fc")) key += " " + Arrays.toString(((DeviceArray) a[0]).shape());
                    long[] v = byOp.computeIfAbsent(key, k -> new long[2]);
                    v[0] += System.nanoTime() - t0;
                    v[1]++;
                }
            });
            float[] x = new float[batch * 3 * 224 * 224];
            SplittableRandom r = new SplittableRandom(1);
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 4 - 2);
            try (Vgg16Net net = new Vgg16Net(timed, RandomVgg16.create(7))) {
                for (int i = 0; i < 3; i++) net.run(x, batch, 224, 224, null, List.of(Tap.CONV5_1), MapMethod.G2M);
                byOp.clear();
                long[] wall = new long[runs];
                for (int i = 0; i < runs; i++) {
                    long t0 = System.nanoTime();
                    net.run(x, batch, 224, 224, null, List.of(Tap.CONV5_1), MapMethod.G2M);
                    wall[i] = System.nanoTime() - t0;
                }
                Arrays.sort(wall);
                System.out.printf(Locale.ROOT, "%s; batch %d: wall per call median %.1f ms (min %.1f, max %.1f, %d calls)%n",
                        cpu.description(), batch, wall[runs / 2] / 1e6, wall[0] / 1e6, wall[runs - 1] / 1e6, runs);
            }
        }
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(byOp.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        for (Map.Entry<String, long[]> e : rows) {
            System.out.printf(Locale.ROOT, "  %-42s %8.2f ms per call (%d per call)%n", e.getKey(), e.getValue()[0] / 1e6 / runs, e.getValue()[1] / runs);
        }
    }
}
