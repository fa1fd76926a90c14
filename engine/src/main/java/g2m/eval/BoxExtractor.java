package g2m.eval;

import g2m.image.Mats;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.MatVector;
import org.bytedeco.opencv.opencv_core.Rect;

import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.opencv.global.opencv_imgproc.CHAIN_APPROX_SIMPLE;
import static org.bytedeco.opencv.global.opencv_imgproc.RETR_TREE;
import static org.bytedeco.opencv.global.opencv_imgproc.boundingRect;
import static org.bytedeco.opencv.global.opencv_imgproc.findContours;

/**
 * Step 6 of the protocol: threshold the uint8 map at 0.15·255 ({@code cv2.threshold} on 8 bits
 * keeps values above {@code floor(38.25) = 38}), find every contour (OpenCV, RETR_TREE: outer
 * borders and hole borders), take each one's bounding rectangle and keep the largest by
 * {@code w·h}, the first one on ties; the box is {@code [x, y, x + w, y + h]} (one pixel wider and
 * taller than the rectangle under the +1 IoU convention, as in the reference). No contour: the
 * box (0, 0, 1, 1).
 */
public final class BoxExtractor {
    private BoxExtractor() {}

    /** 0.15 · 255 = 38.25: a uint8 value is foreground when above it, i.e. from 39 up. */
    public static final double THRESHOLD = 0.15 * 255;

    /** The protocol's threshold as a 0/255 mask. */
    public static byte[] binarize(byte[] map) {
        return binarize(map, (int) Math.floor(THRESHOLD));
    }

    /** 255 where the value is above {@code level}, else 0 ({@code cv2.threshold(…, level, 255, THRESH_BINARY)}). */
    static byte[] binarize(byte[] map, int level) {
        byte[] b = new byte[map.length];
        for (int i = 0; i < map.length; i++) b[i] = (byte) ((map[i] & 0xFF) > level ? 255 : 0);
        return b;
    }

    /** Bounding rectangles {x, y, w, h} of every contour of a 0/255 mask, in OpenCV's order. */
    public static List<int[]> contourRects(byte[] binary, int width, int height) {
        List<int[]> out = new ArrayList<>();
        try (Mat m = Mats.gray(binary, width, height); MatVector contours = new MatVector(); Mat hierarchy = new Mat()) {
            findContours(m, contours, hierarchy, RETR_TREE, CHAIN_APPROX_SIMPLE);
            for (long i = 0; i < contours.size(); i++) {
                try (Mat c = contours.get(i); Rect r = boundingRect(c)) {
                    out.add(new int[] {r.x(), r.y(), r.width(), r.height()});
                }
            }
        }
        return out;
    }

    /** The protocol's box of a uint8 map (heat or GrabCut mask). */
    public static Box box(byte[] map, int width, int height) {
        return largest(contourRects(binarize(map), width, height));
    }

    /** layercam_loc's {@code large_rect}: the first rectangle with the strictly largest w·h. */
    static Box largest(List<int[]> rects) {
        if (rects.isEmpty()) return Box.NONE;
        long area = 0;
        int[] best = rects.get(0);
        for (int[] r : rects) {
            long a = (long) r[2] * r[3];
            if (area < a) {
                area = a;
                best = r;
            }
        }
        return new Box(best[0], best[1], best[0] + best[2], best[1] + best[3]);
    }
}
