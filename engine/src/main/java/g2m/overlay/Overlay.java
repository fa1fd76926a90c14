package g2m.overlay;

import g2m.image.ImageException;
import g2m.image.LoadedImage;
import g2m.image.Mats;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.minMaxLoc;
import static org.bytedeco.opencv.global.opencv_core.addWeighted;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLORMAP_JET;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_BGR2RGB;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_AREA;
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
        try (Mat h = heatMat(map, offset, mapHeight, mapWidth, width, height)) {
            return Mats.bytes(h);
        }
    }

    /**
     * The heat as a native one-channel 8-bit Mat. The bicubic result stays native and is turned
     * into heat a row at a time: min and max from {@code minMaxLoc} (max(r − min) is max(r) − min
     * in float32 too, subtraction being monotonic), then the reference's float32 arithmetic per value.
     */
    static Mat heatMat(float[] map, int offset, int mapHeight, int mapWidth, int width, int height) {
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
        Mat heat = new Mat(height, width, CV_8UC1);
        try {
            boolean constant = true;
            for (int i = 1; i < n && constant; i++) constant = map[offset + i] == map[offset];
            if (constant) {
                heat.put(new Scalar(0));
                return heat;
            }
            try (Mat src = Mats.floats(map, offset, mapWidth, mapHeight); Mat dst = new Mat(); DoublePointer lo = new DoublePointer(1);
                 DoublePointer hi = new DoublePointer(1)) {
                resize(src, dst, new Size(width, height), 0, 0, INTER_CUBIC);
                minMaxLoc(dst, lo, hi, null, null, null);
                float min = (float) lo.get();
                float max = (float) hi.get() - min;
                float denom = (float) (max + 1e-8);    // numpy: float32 scalar + 1e-8 in double, then the float32 array divides
                float[] r = new float[width];
                byte[] row = new byte[width];
                for (int y = 0; y < height; y++) {
                    FloatPointer in = new FloatPointer(dst.ptr(y));
                    in.capacity(width);
                    in.get(r);
                    for (int x = 0; x < width; x++) {
                        float v = 255f * ((r[x] - min) / denom);
                        row[x] = (byte) Math.min(255, Math.max(0, (int) v));   // truncation, as numpy's astype(uint8)
                    }
                    BytePointer out = heat.ptr(y);
                    out.capacity(width);
                    out.put(row);
                }
            }
            return heat;
        } catch (RuntimeException | Error e) {
            heat.close();
            throw e;
        }
    }

    /** The overlay of {@code image} and the map, as an RGB picture of the image's size. */
    public static LoadedImage render(float[] map, int offset, int mapHeight, int mapWidth, LoadedImage image) {
        try (Base base = new Base(image, 0); Mat bgr = base.blend(map, offset, mapHeight, mapWidth); Mat rgb = new Mat()) {
            cvtColor(bgr, rgb, COLOR_BGR2RGB);
            return new LoadedImage(image.source(), base.width, base.height, Mats.bytes(rgb));
        }
    }

    /** Renders and writes the overlay at the picture's full size (see {@link Base#write}). */
    public static void writeOverlay(Path target, float[] map, int offset, int mapHeight, int mapWidth, LoadedImage image, boolean overwrite) {
        try (Base base = new Base(image, 0)) {
            base.write(target, map, offset, mapHeight, mapWidth, overwrite);
        }
    }

    /**
     * One picture ready for several overlays (one per method and tap): its pixels held once,
     * natively, in the blend's colour order, downscaled first when {@code maxSide} asks for it.
     * Per overlay it costs the bicubic map (4 bytes a pixel, freed before the colour map), the heat
     * (1), the coloured blend (3) and the encoded file; nothing full-size goes through Java arrays.
     */
    public static final class Base implements AutoCloseable {
        private final Mat bgr;
        /** The overlay's size: the picture's, or its downscale. */
        public final int width, height;

        /**
         * @param maxSide 0: the overlay has the picture's size (as the reference's); otherwise its longer
         *                side is at most {@code maxSide}, the picture shrunk by area averaging
         */
        public Base(LoadedImage image, int maxSide) {
            if (maxSide < 0) throw new IllegalArgumentException("maxSide must be 0 (full size) or positive, got " + maxSide);
            int[] size = size(image.width(), image.height(), maxSide);
            this.width = size[0];
            this.height = size[1];
            Mat m = new Mat();
            try (Mat rgb = Mats.uint8(image); Mat small = new Mat()) {
                Mat shown = rgb;
                if (width != image.width() || height != image.height()) {
                    // INTER_AREA averages whole source pixels: antialiased at any factor, in one pass
                    resize(rgb, small, new Size(width, height), 0, 0, INTER_AREA);
                    shown = small;
                }
                cvtColor(shown, m, COLOR_RGB2BGR); // blend in BGR, the colour map's order
            } catch (RuntimeException | Error e) {
                m.close();
                throw e;
            }
            this.bgr = m;
        }

        /** {width, height} of an overlay of a {@code w × h} picture whose longer side may be at most {@code maxSide} (0: no limit). */
        public static int[] size(int w, int h, int maxSide) {
            int l = Math.max(w, h);
            if (maxSide == 0 || l <= maxSide) return new int[] {w, h};
            double s = (double) maxSide / l;
            return new int[] {w >= h ? maxSide : (int) Math.max(1, Math.round(w * s)), h >= w ? maxSide : (int) Math.max(1, Math.round(h * s))};
        }

        /** The blended overlay, BGR, as a new Mat the caller closes. */
        Mat blend(float[] map, int offset, int mapHeight, int mapWidth) {
            Mat jet = new Mat();
            try (Mat heat = heatMat(map, offset, mapHeight, mapWidth, width, height)) {
                applyColorMap(heat, jet, COLORMAP_JET);            // BGR
                addWeighted(bgr, IMAGE_WEIGHT, jet, HEAT_WEIGHT, 0, jet);
                return jet;
            } catch (RuntimeException | Error e) {
                jet.close();
                throw e;
            }
        }

        /**
         * Writes the overlay of one map as PNG, or JPEG (quality 95) for .jpg/.jpeg; whole or not at
         * all, refusing an existing file unless {@code overwrite}.
         */
        public void write(Path target, float[] map, int offset, int mapHeight, int mapWidth, boolean overwrite) {
            String ext = extension(target);
            byte[] encoded;
            try (Mat ov = blend(map, offset, mapHeight, mapWidth)) {
                encoded = encode(target, ext, ov);
            }
            writeBytes(target, encoded, overwrite);
        }

        @Override
        public void close() {
            bgr.close();
        }
    }

    /**
     * Writes an RGB picture as PNG, or JPEG (quality 95, OpenCV's default) when the name ends in
     * .jpg or .jpeg; whole or not at all (temporary sibling, fsync, rename), refusing an existing
     * file unless {@code overwrite}.
     */
    public static void write(Path target, LoadedImage image, boolean overwrite) {
        String ext = extension(target);
        byte[] encoded;
        try (Mat rgb = Mats.uint8(image); Mat bgr = new Mat()) {
            cvtColor(rgb, bgr, COLOR_RGB2BGR);
            encoded = encode(target, ext, bgr);
        }
        writeBytes(target, encoded, overwrite);
    }

    private static byte[] encode(Path target, String ext, Mat bgr) {
        try (BytePointer buf = new BytePointer()) {
            boolean ok;
            try {
                ok = imencode(ext, bgr, buf);
            } catch (RuntimeException e) {
                throw new ImageException("cannot encode " + target + ": " + e.getMessage(), e);
            }
            if (!ok) throw new ImageException("cannot encode " + target + " as " + ext);
            byte[] encoded = new byte[Math.toIntExact(buf.limit())];
            buf.get(encoded);
            return encoded;
        }
    }

    static void writeBytes(Path target, byte[] content, boolean overwrite) {
        try {
            AtomicFiles.write(target, overwrite, content);
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
}
