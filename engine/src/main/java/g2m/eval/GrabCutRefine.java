package g2m.eval;

import g2m.image.LoadedImage;
import g2m.image.Mats;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;

import static org.bytedeco.opencv.global.opencv_core.setRNGSeed;
import static org.bytedeco.opencv.global.opencv_imgproc.GC_FGD;
import static org.bytedeco.opencv.global.opencv_imgproc.GC_INIT_WITH_MASK;
import static org.bytedeco.opencv.global.opencv_imgproc.GC_PR_BGD;
import static org.bytedeco.opencv.global.opencv_imgproc.GC_PR_FGD;
import static org.bytedeco.opencv.global.opencv_imgproc.grabCut;

/**
 * Step 5 of the protocol, for shallow taps: one GrabCut iteration on the original picture (BGR,
 * as {@code cv2.imread} gives it), initialised from the heat: above 0.15·255 definite foreground,
 * else probable background; the result is 255 where GrabCut says (probable) foreground, else 0.
 *
 * <p>Two departures, both documented: GrabCut's k-means seeding draws from OpenCV's per-thread
 * random generator, which the reference never resets (its boxes depend on which images came
 * before); here it is reset to {@code cv::RNG(0)} before every call, so each image's result is
 * reproducible on its own. And where the mask has no foreground or no background pixel at all
 * (OpenCV would fail an assertion and the reference would stop), the thresholded heat itself is
 * returned.
 */
final class GrabCutRefine {
    private GrabCutRefine() {}

    /** {@code cv2.setRNGSeed} before every call (RNG(0) is the state a fresh thread starts with). */
    public static final int SEED = 0;

    public static byte[] refine(LoadedImage picture, byte[] heat) {
        int w = picture.width(), h = picture.height();
        if (heat.length != w * h) throw new IllegalArgumentException("heat is not " + w + "x" + h);
        byte[] mask = new byte[heat.length];
        boolean anyFg = false, anyBg = false;
        for (int i = 0; i < heat.length; i++) {
            boolean fg = (heat[i] & 0xFF) > BoxExtractor.THRESHOLD;
            mask[i] = (byte) (fg ? GC_FGD : GC_PR_BGD);
            anyFg |= fg;
            anyBg |= !fg;
        }
        if (!anyFg || !anyBg) return BoxExtractor.binarize(heat);
        byte[] rgb = picture.rgb();
        byte[] bgr = new byte[rgb.length];
        for (int i = 0; i < rgb.length; i += 3) {
            bgr[i] = rgb[i + 2];
            bgr[i + 1] = rgb[i + 1];
            bgr[i + 2] = rgb[i];
        }
        try (Mat img = Mats.uint8(bgr, w, h, 3); Mat m = Mats.gray(mask, w, h);
             Mat bgd = new Mat(); Mat fgd = new Mat(); Rect none = new Rect()) {
            setRNGSeed(SEED);
            grabCut(img, m, none, bgd, fgd, 1, GC_INIT_WITH_MASK);
            byte[] out = Mats.bytes(m);
            for (int i = 0; i < out.length; i++) {
                int v = out[i];
                out[i] = (byte) (v == GC_FGD || v == GC_PR_FGD ? 255 : 0);
            }
            return out;
        }
    }
}
