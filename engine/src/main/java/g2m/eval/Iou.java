package g2m.eval;

import java.util.List;

/**
 * Intersection over union with the PASCAL VOC "+1" convention (inclusive pixel corners), in the
 * two variants the two reference codes use.
 */
public final class Iou {
    private Iou() {}

    /**
     * layercam_loc's {@code bb_IOU(gt, est)}: {iou, recall = intersection / area(gt)}, both 0 when
     * the boxes do not overlap by more than one pixel row or column ({@code xA >= xB} or
     * {@code yA >= yB}, a quirk kept: boxes sharing exactly one column score 0, and so does a
     * one-pixel box against itself).
     */
    public static double[] layercam(Box gt, Box est) {
        double xa = Math.max(gt.x1(), est.x1()), ya = Math.max(gt.y1(), est.y1());
        double xb = Math.min(gt.x2(), est.x2()), yb = Math.min(gt.y2(), est.y2());
        if (xa >= xb || ya >= yb) return new double[] {0, 0};
        double inter = (xb - xa + 1) * (yb - ya + 1);
        double areaGt = (gt.x2() - gt.x1() + 1.0) * (gt.y2() - gt.y1() + 1.0);
        double areaEst = (est.x2() - est.x1() + 1.0) * (est.y2() - est.y1() + 1.0);
        return new double[] {inter / (areaGt + areaEst - inter), inter / areaGt};
    }

    /** The best layercam IoU of {@code est} against any of {@code gts}, with its recall (the first best wins ties). */
    public static double[] bestLayercam(List<Box> gts, Box est) {
        double[] best = null;
        for (Box g : gts) {
            double[] r = layercam(g, est);
            if (best == null || r[0] > best[0]) best = r;
        }
        if (best == null) throw new IllegalArgumentException("no ground-truth boxes");
        return best;
    }

    /** wsolevaluation's {@code calculate_multiple_iou} for one pair: +1 convention, 0 when the union is not positive. */
    public static double voc(Box a, Box b) {
        long ix = Math.max(0, Math.min(a.x2(), b.x2()) - Math.max(a.x1(), b.x1()) + 1);
        long iy = Math.max(0, Math.min(a.y2(), b.y2()) - Math.max(a.y1(), b.y1()) + 1);
        long inter = ix * iy;
        long den = (a.x2() - a.x1() + 1L) * (a.y2() - a.y1() + 1L) + (b.x2() - b.x1() + 1L) * (b.y2() - b.y1() + 1L) - inter;
        return den <= 0 ? 0.0 : (double) inter / den;
    }
}
