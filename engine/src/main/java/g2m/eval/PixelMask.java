package g2m.eval;

import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.image.Mats;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.bytedeco.opencv.global.opencv_imgproc.INTER_NEAREST;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

/**
 * A picture's ground truth per pixel, at the picture's size: object (any object mask set),
 * ignored (the ignore mask set and no object mask) or background, as wsolevaluation's
 * {@code get_mask} combines them; plus each object mask's bounding box (its set pixels' extent,
 * corners inclusive), which serve the box metrics on a mask dataset.
 *
 * <p>A mask pixel is set when its gray level is at least 1 (wsolevaluation: {@code > 0.5} on
 * {@code cv2.imread(..., IMREAD_GRAYSCALE)}; gray from RGB with OpenCV's weights, the files being
 * 0/255 in practice). A mask of another size than the picture is resized to it with OpenCV's
 * nearest neighbour, as wsolevaluation resizes masks (there to 224×224, with the score map).
 */
record PixelMask(int width, int height, byte[] classes, List<Box> boxes) {
    public static final byte BACKGROUND = 0, OBJECT = 1, IGNORED = 2;

    public PixelMask {
        if ((long) width * height != classes.length) throw new IllegalArgumentException("mask is not " + width + "x" + height);
        boxes = List.copyOf(boxes);
    }

    /** Reads the masks for a {@code width × height} picture; an image or eval error naming the file when one is unusable. */
    public static PixelMask read(ObjectMasks files, int width, int height) {
        byte[] classes = new byte[width * height];
        List<Box> boxes = new ArrayList<>();
        for (Path f : files.objects()) {
            boolean[] on = load(f, width, height);
            int x1 = Integer.MAX_VALUE, y1 = Integer.MAX_VALUE, x2 = -1, y2 = -1;
            for (int y = 0, i = 0; y < height; y++) {
                for (int x = 0; x < width; x++, i++) {
                    if (!on[i]) continue;
                    classes[i] = OBJECT;
                    x1 = Math.min(x1, x);
                    y1 = Math.min(y1, y);
                    x2 = Math.max(x2, x);
                    y2 = Math.max(y2, y);
                }
            }
            if (x2 >= 0) boxes.add(new Box(x1, y1, x2, y2));
        }
        if (boxes.isEmpty()) throw new EvalException(files.objects().get(0) + ": the picture's object masks are all empty");
        if (files.ignore() != null) {
            boolean[] ignore = load(files.ignore(), width, height);
            for (int i = 0; i < classes.length; i++) if (ignore[i] && classes[i] != OBJECT) classes[i] = IGNORED;
        }
        return new PixelMask(width, height, classes, boxes);
    }

    /** Set pixels of one mask file at {@code width × height}. */
    private static boolean[] load(Path f, int width, int height) {
        LoadedImage m = ImageLoader.load(f);
        byte[] rgb = m.rgb();
        int n = m.width() * m.height();
        byte[] gray = new byte[n];
        for (int i = 0; i < n; i++) {
            int r = rgb[3 * i] & 0xFF, g = rgb[3 * i + 1] & 0xFF, b = rgb[3 * i + 2] & 0xFF;
            gray[i] = (byte) ((r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14);      // cv::cvtColor RGB2GRAY, 8 bit
        }
        if (m.width() != width || m.height() != height) {
            try (Mat src = Mats.gray(gray, m.width(), m.height()); Mat dst = new Mat()) {
                resize(src, dst, new Size(width, height), 0, 0, INTER_NEAREST);
                gray = Mats.bytes(dst);
            }
        }
        boolean[] on = new boolean[width * height];
        for (int i = 0; i < on.length; i++) on[i] = gray[i] != 0;
        return on;
    }
}
