package g2m.eval;

/**
 * PxAP, pixel average precision (Choe et al., "Evaluating Weakly Supervised Object Localization
 * Methods Right", CVPR 2020), as wsolevaluation's {@code MaskEvaluator} computes it: over all the
 * dataset's pixels that are object or background (ignored pixels left out), the precision–recall
 * curve of "score ≥ τ" against "is object" for τ = 0, 0.01, …, 0.99, then 1 and 2, and its area
 * {@code Σ precision_k · (recall_k − recall_{k−1})} in percent.
 *
 * <p>Per image only histograms are kept: the score map's values binned at
 * {@code [τ_k, τ_{k+1})} for k = 0…99 (τ_100 = 1), then {@code [1, 2)} and {@code [2, 3]} (as
 * {@code np.histogram} with those edges, compared in double), once for object pixels and once for
 * background pixels; the dataset's curve comes from their sums. The thresholds are the ones
 * MaxBoxAccV2 uses here ({@code cam_curve_interval} 0.01, as wsolevaluation's README evaluates;
 * its training script defaults to 0.001).
 */
public final class PxAp {
    private PxAp() {}

    /** Bins per histogram: the 100 thresholds' intervals, then [1, 2) and [2, 3]. */
    public static final int BINS = MaxBoxAccV2.THRESHOLDS + 2;
    /** Values per image record: object-pixel bins, then background-pixel bins. */
    public static final int VALUES = 2 * BINS;

    private static final double[] EDGES = new double[BINS + 1];

    static {
        for (int k = 0; k < MaxBoxAccV2.THRESHOLDS; k++) EDGES[k] = k * 0.01;     // np.arange(0, 1, 0.01)
        EDGES[BINS - 2] = 1.0;
        EDGES[BINS - 1] = 2.0;
        EDGES[BINS] = 3.0;
    }

    /** The bin of a score ({@code edge_k ≤ v < edge_{k+1}}, the last bin closed), or −1 outside [0, 3]. */
    static int bin(float score) {
        double v = score;
        if (!(v >= 0) || v > 3) return -1;
        if (v >= 2) return BINS - 1;
        if (v >= 1) return BINS - 2;
        int k = Math.min((int) (v * 100), MaxBoxAccV2.THRESHOLDS - 1);
        while (k < MaxBoxAccV2.THRESHOLDS - 1 && v >= EDGES[k + 1]) k++;
        while (k > 0 && v < EDGES[k]) k--;
        return k;
    }

    /**
     * One image's histograms, {@link #VALUES} counts: the score map's values at object pixels, then
     * at background pixels; ignored pixels are not counted.
     */
    public static long[] histograms(float[] scoreMap, PixelMask truth) {
        if (scoreMap.length != truth.classes().length) throw new IllegalArgumentException("score map and mask differ in size");
        long[] h = new long[VALUES];
        byte[] c = truth.classes();
        for (int i = 0; i < scoreMap.length; i++) {
            if (c[i] == PixelMask.IGNORED) continue;
            int b = bin(scoreMap[i]);
            if (b >= 0) h[(c[i] == PixelMask.OBJECT ? 0 : BINS) + b]++;
        }
        return h;
    }

    /**
     * The area under the precision–recall curve of summed histograms, in percent, with
     * MaskEvaluator's arithmetic (float64; thresholds where nothing is predicted left out; the sum
     * in numpy's pairwise order); NaN when there is no object pixel.
     */
    public static double averagePrecision(long[] hist) {
        if (hist.length != VALUES) throw new IllegalArgumentException("expected " + VALUES + " histogram values");
        double numTrue = 0, numFalse = 0;
        for (int b = 0; b < BINS; b++) {
            numTrue += hist[b];
            numFalse += hist[BINS + b];
        }
        if (numTrue <= 0) return Double.NaN;
        // index j = 0: scores ≥ 2, then ≥ 1, ≥ 0.99, …, ≥ 0 (the reversed cumulative sums)
        double[] precision = new double[BINS], recall = new double[BINS];
        boolean[] predicted = new boolean[BINS];
        double tp = 0, fp = 0;
        for (int j = 0; j < BINS; j++) {
            tp += hist[BINS - 1 - j];
            fp += hist[2 * BINS - 1 - j];
            double fn = numTrue - tp;
            predicted[j] = tp + fp != 0;
            precision[j] = tp / (tp + fp);
            recall[j] = tp / (tp + fn);
        }
        double[] terms = new double[BINS - 1];
        int n = 0;
        for (int j = 1; j < BINS; j++) if (predicted[j]) terms[n++] = precision[j] * (recall[j] - recall[j - 1]);
        return pairwiseSum(terms, 0, n) * 100;
    }

    /** numpy's float64 sum of {@code a[from … from+n)}: eight interleaved partial sums per block of up to 128, halves above. */
    static double pairwiseSum(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0.;
            for (int i = 0; i < n; i++) res += a[from + i];
            return res;
        }
        if (n <= 128) {
            double[] r = new double[8];
            System.arraycopy(a, from, r, 0, 8);
            int i = 8;
            for (; i < n - (n % 8); i += 8) {
                for (int k = 0; k < 8; k++) r[k] += a[from + i + k];
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) res += a[from + i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
    }

    /** Sums image histograms over a dataset. */
    public static final class Accumulator {
        private final long[] sum = new long[VALUES];
        private long images;

        public void add(long[] hist) {
            if (hist.length != VALUES) throw new IllegalArgumentException("expected " + VALUES + " histogram values");
            for (int i = 0; i < VALUES; i++) sum[i] += hist[i];
            images++;
        }

        public long images() {
            return images;
        }

        /** PxAP in percent; NaN before any image or without object pixels. */
        public double value() {
            return images == 0 ? Double.NaN : averagePrecision(sum);
        }
    }
}
