package g2m.eval;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Step 8 of the protocol, accumulated over images for one (tap, method): GT-known loc (best IoU
 * ≥ 0.5), Top-1 loc (GT-known and Top-1 class right), Top-5 loc (GT-known and the label in the
 * Top-5), the classification accuracies, the mean best IoU, MaxBoxAccV2, and on mask datasets PxAP.
 */
final class LocStats {
    public static final double IOU_THRESHOLD = 0.5;

    private long images, top1Cls, top5Cls, gtKnown, top1Loc, top5Loc;
    private double iouSum;
    private final MaxBoxAccV2.Accumulator maxBox = new MaxBoxAccV2.Accumulator();
    private final PxAp.Accumulator pxAp = new PxAp.Accumulator();

    /** One image: whether its label was Top-1 / in the Top-5, its best IoU, its MaxBoxAccV2 hits. */
    public void add(boolean top1, boolean top5, double iou, long[][] maxBoxHits) {
        images++;
        if (top1) top1Cls++;
        if (top5) top5Cls++;
        if (iou >= IOU_THRESHOLD) {
            gtKnown++;
            if (top1) top1Loc++;
            if (top5) top5Loc++;
        }
        iouSum += iou;
        maxBox.add(maxBoxHits);
    }

    public long images() {
        return images;
    }

    public long top1Cls() {
        return top1Cls;
    }

    public long top5Cls() {
        return top5Cls;
    }

    public long gtKnown() {
        return gtKnown;
    }

    public long top1Loc() {
        return top1Loc;
    }

    public long top5Loc() {
        return top5Loc;
    }

    /** Mean of the best IoU per image (a fraction, like layercam_loc's "mean iou"). */
    public double meanIou() {
        return images == 0 ? 0 : iouSum / images;
    }

    /** {@link #meanIou()} with four decimals, or "n/a" when no image was evaluated (not a mean of 0). */
    public String meanIouText() {
        return images == 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.4f", meanIou());
    }

    public MaxBoxAccV2.Accumulator maxBox() {
        return maxBox;
    }

    /** PxAP's summed histograms (mask datasets; no image otherwise). */
    public PxAp.Accumulator pxAp() {
        return pxAp;
    }

    /** 100·count/n with exactly two decimals, halves to even (n = 0: "n/a"). */
    public static String percent(long count, long n) {
        if (n == 0) return "n/a";
        return BigDecimal.valueOf(count).multiply(BigDecimal.valueOf(100)).divide(BigDecimal.valueOf(n), 2, RoundingMode.HALF_EVEN).toPlainString();
    }

    /** {@link #twoDecimals(double)}, or "n/a" when it is over no image. */
    public static String twoDecimals(double percent, long images) {
        return images == 0 ? "n/a" : twoDecimals(percent);
    }

    /** A percentage already computed, with two decimals (halves to even on its exact binary value). */
    public static String twoDecimals(double percent) {
        return new BigDecimal(percent).setScale(2, RoundingMode.HALF_EVEN).toPlainString();
    }
}
