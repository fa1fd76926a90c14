package g2m.net;

import g2m.weights.Checkpoint;
import g2m.weights.Preprocessing;
import g2m.weights.Tensor;
import g2m.weights.Vgg16;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Full-size VGG16 with seeded He-scaled random weights: benchmarks need no download. */
public final class RandomVgg16 {
    private RandomVgg16() {}

    public static final int[] WIDTHS = {64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512};

    public static Checkpoint create(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> t = new LinkedHashMap<>();
        int in = 3;
        for (int i = 0; i < 13; i++) {
            String l = Vgg16.CONVS.get(i);
            t.put(l + ".weight", gaussian(l + ".weight", r, Math.sqrt(2.0 / (in * 9)), WIDTHS[i], in, 3, 3));
            t.put(l + ".bias", Tensor.ofFloats(l + ".bias", new long[] {WIDTHS[i]}, new float[WIDTHS[i]]));
            in = WIDTHS[i];
        }
        int fin = in * Vgg16.POOL5_SIDE * Vgg16.POOL5_SIDE;
        int[] fc = {4096, 4096, 1000};
        for (int i = 0; i < 3; i++) {
            String l = Vgg16.FCS.get(i);
            t.put(l + ".weight", gaussian(l + ".weight", r, Math.sqrt(2.0 / fin), fc[i], fin));
            t.put(l + ".bias", Tensor.ofFloats(l + ".bias", new long[] {fc[i]}, new float[fc[i]]));
            fin = fc[i];
        }
        return new Checkpoint(t, Preprocessing.PYTORCH.toMetadata());
    }

    private static Tensor gaussian(String name, SplittableRandom r, double std, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        // Box-Muller pairs; quality is irrelevant here, speed and determinism are not
        for (int i = 0; i < v.length; i += 2) {
            double u1 = r.nextDouble(Double.MIN_VALUE, 1), u2 = r.nextDouble();
            double m = std * Math.sqrt(-2 * Math.log(u1));
            v[i] = (float) (m * Math.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) v[i + 1] = (float) (m * Math.sin(2 * Math.PI * u2));
        }
        return Tensor.ofFloats(name, shape, v);
    }
}
