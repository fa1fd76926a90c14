package g2m.eval;

import g2m.image.Mats;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.bytedeco.opencv.global.opencv_imgproc.INTER_CUBIC;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

/**
 * MaxBoxAccV2 (Choe et al., "Evaluating Weakly Supervised Object Localization Methods Right",
 * CVPR 2020), as wsolevaluation computes it: the score map min-max normalised to [0, 1]; for each
 * map threshold τ = 0, 0.01, …, 0.99 the uint8 map {@code (int)(s·255)} is cut at
 * {@code (int)(τ·max)}, every contour's box {@code [x, y, min(x+w, W−1), min(y+h, H−1)]} is
 * compared with every ground-truth box (VOC IoU), and the image counts as a hit at IoU level δ
 * when the best IoU is ≥ δ; per δ ∈ {30, 50, 70} %, the best τ's hit rate; the three averaged.
 *
 * <p>The score map here is the protocol's summed 256×256 canvas (before clamping) resized with
 * OpenCV's float bicubic, as wsolevaluation resizes its CAMs, into one of two {@link Frame}s: the
 * picture's own size (the default), or wsolevaluation's 224×224 with the ground-truth boxes
 * scaled into it.
 */
public final class MaxBoxAccV2 {
    private MaxBoxAccV2() {}

    public static final int THRESHOLDS = 100;
    public static final int[] IOU_LEVELS = {30, 50, 70};
    /** wsolevaluation's {@code _RESIZE_LENGTH}. */
    public static final int WSOL_SIDE = 224;

    /** Where the score map and the ground-truth boxes meet. */
    public enum Frame {
        /**
         * The picture's size: score map resized to W×H, boxes as given. wsolevaluation's functions
         * ({@code compute_bboxes_from_scoremaps}, {@code calculate_multiple_iou}) give the same
         * values bit for bit when handed this frame.
         */
        PICTURE("picture"),
        /**
         * wsolevaluation's own protocol ({@code BoxEvaluator}): score map resized to 224×224, each
         * ground-truth coordinate scaled by 224/W or 224/H and truncated with {@code int()}
         * ({@code resize_bbox}); predicted boxes clipped at 223. On non-square pictures the values
         * can move by about a point against {@link #PICTURE}.
         */
        WSOL224("wsol224");

        /** The name on the command line and in results files. */
        public final String id;

        Frame(String id) {
            this.id = id;
        }

        public static Frame parse(String s) {
            String k = s.strip().toLowerCase(java.util.Locale.ROOT);
            for (Frame f : values()) if (f.id.equals(k)) return f;
            throw new EvalException("--maxboxacc-frame must be picture or wsol224, got '" + s + "'");
        }

        @Override
        public String toString() {
            return id;
        }
    }

    /**
     * wsolevaluation's {@code resize_bbox} from a {@code width × height} picture to
     * {@code newWidth × newHeight}: {@code int(x · newWidth / width)} per coordinate, in double
     * and in that order, truncated toward zero.
     */
    public static Box resizeBox(Box b, int width, int height, int newWidth, int newHeight) {
        return new Box((int) (b.x1() * (double) newWidth / width), (int) (b.y1() * (double) newHeight / height),
                (int) (b.x2() * (double) newWidth / width), (int) (b.y2() * (double) newHeight / height));
    }

    /**
     * The MaxBoxAccV2 hits of one image from its summed {@code side × side} canvas, the picture's
     * size and its ground-truth boxes (picture coordinates), computed in {@code frame}.
     */
    public static long[][] canvasHits(float[] canvas, int side, int width, int height, List<Box> gts, Frame frame) {
        if (frame == Frame.PICTURE) return hits(bestIous(scoreMap(canvas, side, width, height), width, height, gts));
        int s = WSOL_SIDE;
        List<Box> scaled = new ArrayList<>(gts.size());
        for (Box g : gts) scaled.add(resizeBox(g, width, height, s, s));
        return hits(bestIous(scoreMap(canvas, side, s, s), s, s, scaled));
    }

    /** wsolevaluation's {@code normalize_scoremap}: zeros for a NaN or constant map, else (s − min)/max, in float32. */
    public static float[] normalize(float[] map) {
        float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
        for (float v : map) {
            if (Float.isNaN(v)) return new float[map.length];
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (min == max) return new float[map.length];
        float[] out = new float[map.length];
        float top = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < map.length; i++) {
            out[i] = map[i] - min;
            top = Math.max(top, out[i]);
        }
        for (int i = 0; i < map.length; i++) out[i] /= top;
        return out;
    }

    /** The score map of a canvas: float bicubic to {@code width × height}, then {@link #normalize}. */
    public static float[] scoreMap(float[] canvas, int side, int width, int height) {
        if (width == side && height == side) return normalize(canvas);
        try (Mat src = Mats.floats(canvas, side, side); Mat dst = new Mat()) {
            resize(src, dst, new Size(width, height), 0, 0, INTER_CUBIC);
            return normalize(Mats.floats(dst));
        }
    }

    /** The boxes at threshold index t (τ = t·0.01): every contour's, or [0, 0, 0, 0] when none. */
    public static List<Box> boxes(byte[] scaled, int max, int t, int width, int height) {
        int level = (int) (t * 0.01 * max);    // np.arange(0, 1, 0.01)[t] * np.max(img), truncated
        List<int[]> rects = BoxExtractor.contourRects(BoxExtractor.binarize(scaled, level), width, height);
        List<Box> out = new ArrayList<>(Math.max(1, rects.size()));
        if (rects.isEmpty()) out.add(new Box(0, 0, 0, 0));
        for (int[] r : rects) out.add(new Box(r[0], r[1], Math.min(r[0] + r[2], width - 1), Math.min(r[1] + r[3], height - 1)));
        return out;
    }

    /** {@code (scoremap · 255).astype(uint8)} in float32. */
    public static byte[] scaled(float[] scoreMap) {
        byte[] b = new byte[scoreMap.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (int) (scoreMap[i] * 255f);
        return b;
    }

    /** Per threshold, the best VOC IoU of any box against any ground-truth box. */
    public static double[] bestIous(float[] scoreMap, int width, int height, List<Box> gts) {
        if (scoreMap.length != width * height) throw new IllegalArgumentException("score map is not " + width + "x" + height);
        if (gts.isEmpty()) throw new IllegalArgumentException("no ground-truth boxes");
        byte[] img = scaled(scoreMap);
        int max = 0;
        for (byte v : img) max = Math.max(max, v & 0xFF);
        double[] best = new double[THRESHOLDS];
        double[] byLevel = new double[256];             // thresholds often repeat a level: compute each once
        Arrays.fill(byLevel, -1);
        for (int t = 0; t < THRESHOLDS; t++) {
            int level = (int) (t * 0.01 * max);
            if (byLevel[level] < 0) {
                double b = 0;
                for (Box box : boxes(img, max, t, width, height)) {
                    for (Box g : gts) b = Math.max(b, Iou.voc(box, g));
                }
                byLevel[level] = b;
            }
            best[t] = byLevel[level];
        }
        return best;
    }

    /** Hits per IoU level as bit sets over the 100 thresholds: {@code [level][0..1]}, bit t of word t/64. */
    public static long[][] hits(double[] bestIous) {
        long[][] h = new long[IOU_LEVELS.length][2];
        for (int l = 0; l < IOU_LEVELS.length; l++) {
            double need = IOU_LEVELS[l] / 100.0;
            for (int t = 0; t < THRESHOLDS; t++) if (bestIous[t] >= need) h[l][t >> 6] |= 1L << (t & 63);
        }
        return h;
    }

    /** Counts hits over images and reports the metric. */
    public static final class Accumulator {
        private final long[][] correct = new long[IOU_LEVELS.length][THRESHOLDS];
        private long images;

        public void add(long[][] hits) {
            for (int l = 0; l < IOU_LEVELS.length; l++) {
                for (int t = 0; t < THRESHOLDS; t++) if ((hits[l][t >> 6] >>> (t & 63) & 1) != 0) correct[l][t]++;
            }
            images++;
        }

        public long images() {
            return images;
        }

        public long[] correct(int level) {
            return correct[level].clone();
        }

        /** Per IoU level: the best threshold's accuracy in percent (0 when no image). */
        public double[] maxBoxAcc() {
            double[] out = new double[IOU_LEVELS.length];
            for (int l = 0; l < IOU_LEVELS.length; l++) {
                double m = 0;
                for (int t = 0; t < THRESHOLDS; t++) m = Math.max(m, images == 0 ? 0 : correct[l][t] * 100.0 / images);
                out[l] = m;
            }
            return out;
        }

        /** Per IoU level: the index of the best threshold (the first on ties). */
        public int[] bestThreshold() {
            int[] out = new int[IOU_LEVELS.length];
            for (int l = 0; l < IOU_LEVELS.length; l++) {
                int b = 0;
                for (int t = 1; t < THRESHOLDS; t++) if (correct[l][t] > correct[l][b]) b = t;
                out[l] = b;
            }
            return out;
        }

        /** MaxBoxAccV2: the mean over the IoU levels, in percent. */
        public double value() {
            double[] m = maxBoxAcc();
            double s = 0;
            for (double v : m) s += v;       // plain left-to-right sum, as np.average does for three values
            return s / m.length;
        }
    }
}
