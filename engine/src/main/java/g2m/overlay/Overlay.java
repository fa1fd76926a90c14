package g2m.overlay;

import g2m.image.ImageException;
import g2m.image.LoadedImage;
import g2m.image.Mats;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

import static org.bytedeco.opencv.global.opencv_core.CV_32FC1;
import static org.bytedeco.opencv.global.opencv_core.addWeighted;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLORMAP_JET;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGR2RGB;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_CUBIC;
import static org.bytedeco.opencv.global.opencv_imgproc.applyColorMap;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

/**
 * The reference's heat-map overlay (spec, "Heat-map overlay"): the map is resized to the
 * picture's W×H with OpenCV's bicubic (INTER_CUBIC, float32), shifted by its minimum, divided by
 * (its new maximum + 1e-8), multiplied by 255 and truncated to uint8 (numpy's float→uint8 cast,
 * all in float32 as numpy does), coloured with OpenCV's COLORMAP_JET and blended
 * {@code 0.3·picture + 0.7·heat} (cv::addWeighted, rounded to nearest). Unlike the reference, the
 * blend is done in one colour order (the reference mixes the RGB photo with the BGR colormap, so
 * its photos come out with red and blue swapped). A constant map gives heat 0 everywhere (dark
 * blue). That is a second, small departure: bicubic resizing does not keep every constant exactly
 * constant in float32 (a 7×7 map of 2.0 comes out 2.0 and 1.9999999 at 298×224), and the reference's
 * normalisation stretches that rounding noise into 0/244 stripes; the engine checks the map itself
 * for constancy first. Any map with real contrast goes through the recipe unchanged.
 */
public final class Overlay {
    private Overlay() {}

    public static final double IMAGE_WEIGHT = 0.3;
    public static final double HEAT_WEIGHT = 0.7;

    /**
     * The uint8 heat (values 0–255, row-major {@code height × width}) of a {@code mapHeight ×
     * mapWidth} map read from {@code map[offset…]}.
     */
    public static byte[] heat(float[] map, int offset, int mapHeight, int mapWidth, int width, int height) {
        if (mapHeight < 1 || mapWidth < 1 || width < 1 || height < 1) {
            throw new IllegalArgumentException("sizes must be positive: map " + mapHeight + "x" + mapWidth + ", image " + width + "x" + height);
        }
        int n = Math.multiplyExact(mapHeight, mapWidth);
        Objects.checkFromIndexSize(offset, n, map.length);
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(map[offset + i])) {
                throw new IllegalArgumentException("the map has a non-finite value (" + map[offset + i] + ") at " + (i / mapWidth) + "," + (i % mapWidth));
            }
        }
        int hw = Math.multiplyExact(width, height);
        boolean constant = true;
        for (int i = 1; i < n && constant; i++) constant = map[offset + i] == map[offset];
        if (constant) return new byte[hw];
        float[] r = new float[hw];
        try (Mat src = new Mat(mapHeight, mapWidth, CV_32FC1); Mat dst = new Mat()) {
            FloatPointer p = new FloatPointer(src.data());
            p.capacity(n);
            p.put(map, offset, n);
            resize(src, dst, new Size(width, height), 0, 0, INTER_CUBIC);
            FloatPointer q = new FloatPointer(dst.data());
            q.capacity(hw);
            q.get(r);
        }
        float min = Float.POSITIVE_INFINITY;
        for (float v : r) min = Math.min(min, v);
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < hw; i++) {
            r[i] = r[i] - min;
            max = Math.max(max, r[i]);
        }
        float denom = (float) (max + 1e-8);    // numpy: float32 scalar + 1e-8 in double, then the float32 array divides
        byte[] heat = new byte[hw];
        for (int i = 0; i < hw; i++) {
            float v = 255f * (r[i] / denom);
            heat[i] = (byte) Math.min(255, Math.max(0, (int) v));   // truncation, as numpy's astype(uint8)
        }
        return heat;
    }

    /** The overlay of {@code image} and the map, as an RGB picture of the image's size. */
    public static LoadedImage render(float[] map, int offset, int mapHeight, int mapWidth, LoadedImage image) {
        int w = image.width();
        int h = image.height();
        byte[] heat = heat(map, offset, mapHeight, mapWidth, w, h);
        byte[] rgb = image.rgb();
        try (Mat heat8 = Mats.gray(heat, w, h); Mat jet = new Mat(); Mat photo = Mats.uint8(rgb, w, h, 3);
             Mat bgr = new Mat(); Mat blend = new Mat(); Mat out = new Mat()) {
            applyColorMap(heat8, jet, COLORMAP_JET);            // BGR
            cvtColor(photo, bgr, COLOR_RGB2BGR);                // blend in BGR, both sides
            addWeighted(bgr, IMAGE_WEIGHT, jet, HEAT_WEIGHT, 0, blend);
            cvtColor(blend, out, COLOR_BGR2RGB);
            return new LoadedImage(image.source(), w, h, get(out, rgb.length));
        }
    }

    /** Renders and writes the overlay (see {@link #write}). */
    public static void writeOverlay(Path target, float[] map, int offset, int mapHeight, int mapWidth, LoadedImage image, boolean overwrite) {
        write(target, render(map, offset, mapHeight, mapWidth, image), overwrite);
    }

    /**
     * Writes an RGB picture as PNG, or JPEG (quality 95, OpenCV's default) when the name ends in
     * .jpg or .jpeg; whole or not at all (temporary sibling, fsync, rename), refusing an existing
     * file unless {@code overwrite}.
     */
    public static void write(Path target, LoadedImage image, boolean overwrite) {
        String ext = extension(target);
        byte[] encoded;
        try (Mat rgb = Mats.uint8(image.rgb(), image.width(), image.height(), 3); Mat bgr = new Mat(); BytePointer buf = new BytePointer()) {
            cvtColor(rgb, bgr, COLOR_RGB2BGR);
            boolean ok;
            try {
                ok = imencode(ext, bgr, buf);
            } catch (RuntimeException e) {
                throw new ImageException("cannot encode " + target + ": " + e.getMessage(), e);
            }
            if (!ok) throw new ImageException("cannot encode " + target + " as " + ext);
            encoded = new byte[Math.toIntExact(buf.limit())];
            buf.get(encoded);
        }
        writeBytes(target, encoded, overwrite);
    }

    static void writeBytes(Path target, byte[] content, boolean overwrite) {
        try {
            AtomicFiles.write(target, overwrite, ch -> {
                ByteBuffer b = ByteBuffer.wrap(content);
                while (b.hasRemaining()) ch.write(b);
            });
        } catch (WeightsException e) {
            throw new ImageException(e.getMessage(), e);
        }
    }

    private static String extension(Path target) {
        Path f = target.getFileName();
        String name = f == null ? "" : f.toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) return ".png";
        if (name.endsWith(".jpg") || name.endsWith(".jpeg")) return ".jpg";
        throw new ImageException(target + ": overlays are written as .png, .jpg or .jpeg");
    }

    private static byte[] get(Mat m, int length) {
        if (!m.isContinuous() || m.total() * m.channels() != length) throw new IllegalStateException("unexpected Mat layout");
        byte[] out = new byte[length];
        BytePointer p = m.data();
        p.capacity(length);
        p.get(out);
        return out;
    }
}
