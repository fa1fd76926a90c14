package g2m.image;

import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import static org.bytedeco.opencv.global.opencv_core.ALGO_HINT_ACCURATE;
import static org.bytedeco.opencv.global.opencv_core.BORDER_REFLECT;
import static org.bytedeco.opencv.global.opencv_imgproc.GaussianBlur;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR_EXACT;
import org.bytedeco.opencv.global.opencv_imgproc;

/**
 * The reference's {@code transforms.Resize(224)}: shorter side to 224, longer side
 * {@code int(224 * long / short)} (torchvision's rule, truncating), and nothing at all when the
 * shorter side is already 224. The reference resamples with PIL's bilinear filter, which
 * antialiases when shrinking (a triangle filter as wide as the scale factor); OpenCV has no such
 * mode, so the engine shrinks with a Gaussian pre-blur of σ = scale/√12 per axis (the variance
 * that turns INTER_AREA's box into the triangle's) followed by INTER_AREA, and enlarges with
 * INTER_LINEAR_EXACT. Measured against PIL in RESIZE.md: mean 0.2–1.3, max ≤ 13 levels when
 * shrinking; mean 0.2, max 1 when enlarging.
 */
public final class Resizer {
    private Resizer() {}

    public static final int DEFAULT_SHORT_SIDE = 224;
    /** The longest aspect ratio (longer side over shorter) {@link #resizeShorterSide} takes: 224 x 4480 at most. */
    public static final int MAX_ASPECT = 20;
    private static final double SQRT12 = Math.sqrt(12);

    /** {width, height} after torchvision's {@code Resize(shortSide)}. */
    public static int[] targetSize(int width, int height, int shortSide) {
        if (width < 1 || height < 1 || shortSide < 1) {
            throw new IllegalArgumentException("sizes must be positive: " + width + "x" + height + " -> " + shortSide);
        }
        int s = Math.min(width, height);
        int l = Math.max(width, height);
        if (s == shortSide) return new int[] {width, height};
        long nl = (long) ((double) ((long) shortSide * l) / s);      // Python: int(size * long / short)
        if (nl > Integer.MAX_VALUE) nl = Integer.MAX_VALUE;
        return width <= height ? new int[] {shortSide, (int) nl} : new int[] {(int) nl, shortSide};
    }

    /** Shorter side to 224 (see the class comment); the same instance when it already is 224. */
    public static LoadedImage resizeShorterSide(LoadedImage image) {
        return resizeShorterSide(image, DEFAULT_SHORT_SIDE);
    }

    public static LoadedImage resizeShorterSide(LoadedImage image, int shortSide) {
        checkAspect(image.name(), image.width(), image.height());
        int[] t = targetSize(image.width(), image.height(), shortSide);
        return resize(image, t[0], t[1]);
    }

    /**
     * Refuses a picture whose longer side is over {@link #MAX_ASPECT} times its shorter one: at
     * shorter side 224 the network's input, and with it every activation, grows with the aspect
     * ratio (a 1992x1 picture would become 446208x224, 100 megapixels of input).
     */
    public static void checkAspect(String who, long width, long height) {
        long s = Math.min(width, height), l = Math.max(width, height);
        if (l > MAX_ASPECT * s) {
            throw new ImageException(who + " is " + width + "x" + height + ": an aspect ratio over " + MAX_ASPECT
                    + ":1 is refused (the network's input would be " + (long) ((double) DEFAULT_SHORT_SIDE * l / s) + " pixels long)");
        }
    }

    /**
     * Resizes to exactly {@code width × height} with the engine's recipe: unchanged when the size is;
     * when an axis shrinks, a Gaussian blur along each shrinking axis (σ = scale/√12,
     * BORDER_REFLECT) then INTER_AREA; otherwise INTER_LINEAR_EXACT. (The recipe is tuned for both
     * axes shrinking or both growing, which is all that {@link #resizeShorterSide} produces.)
     */
    public static LoadedImage resize(LoadedImage image, int width, int height) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        int w = image.width();
        int h = image.height();
        if (w == width && h == height) return image;
        Mat src = Mats.uint8(image.pixels(), w, h, 3);
        Mat blurred = null;
        Mat dst = new Mat();
        try {
            if (width < w || height < h) {
                double sx = (double) w / width;
                double sy = (double) h / height;
                blurred = new Mat();
                if (width < w && height < h) {
                    GaussianBlur(src, blurred, new Size(0, 0), sx / SQRT12, sy / SQRT12, BORDER_REFLECT, ALGO_HINT_ACCURATE);
                } else if (width < w) {       // one axis only: a 1-tap kernel on the other
                    GaussianBlur(src, blurred, new Size(kernelSize(sx / SQRT12), 1), sx / SQRT12, 1, BORDER_REFLECT, ALGO_HINT_ACCURATE);
                } else {
                    GaussianBlur(src, blurred, new Size(1, kernelSize(sy / SQRT12)), 1, sy / SQRT12, BORDER_REFLECT, ALGO_HINT_ACCURATE);
                }
                opencv_imgproc.resize(blurred, dst, new Size(width, height), 0, 0, INTER_AREA);
            } else {
                opencv_imgproc.resize(src, dst, new Size(width, height), 0, 0, INTER_LINEAR_EXACT);
            }
            return LoadedImage.wrap(image.source(), width, height, Mats.bytes(dst));
        } finally {
            src.close();
            dst.close();
            if (blurred != null) blurred.close();
        }
    }

    /** OpenCV's kernel size for an 8-bit Gaussian of this σ (what {@code Size(0, 0)} means). */
    private static int kernelSize(double sigma) {
        return ((int) Math.round(sigma * 3 * 2 + 1)) | 1;
    }
}
