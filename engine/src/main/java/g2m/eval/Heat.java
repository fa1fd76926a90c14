package g2m.eval;

import g2m.image.Mats;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import static org.bytedeco.opencv.global.opencv_imgproc.INTER_CUBIC;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

/**
 * Step 4 of the protocol: the canvas clamped at 0, divided by (its max + 1e-8), ×255, truncated
 * to uint8 (numpy's float32 arithmetic: the divisor is the float32 max plus 1e-8 rounded to
 * float32), then resized to the picture's size with OpenCV's bicubic on 8 bits.
 */
public final class Heat {
    private Heat() {}

    /** The uint8 map at the canvas's own size (before the resize). */
    public static byte[] toUint8(float[] canvas) {
        float max = 0f;
        for (float v : canvas) {
            if (Float.isNaN(v)) throw new IllegalArgumentException("canvas holds NaN");
            if (v > max) max = v;
        }
        float div = (float) ((double) max + 1e-8);
        byte[] out = new byte[canvas.length];
        for (int i = 0; i < canvas.length; i++) {
            float v = Math.max(canvas[i], 0f) / div * 255f;
            out[i] = (byte) Math.min(255, (int) v);
        }
        return out;
    }

    /** Steps 4 whole: the {@code side × side} canvas as uint8 heat of {@code width × height}. */
    public static byte[] of(float[] canvas, int side, int width, int height) {
        if (canvas.length != side * side) throw new IllegalArgumentException("canvas is not " + side + "x" + side);
        byte[] small = toUint8(canvas);
        if (width == side && height == side) return small;
        try (Mat src = Mats.gray(small, side, side); Mat dst = new Mat()) {
            resize(src, dst, new Size(width, height), 0, 0, INTER_CUBIC);
            return Mats.bytes(dst);
        }
    }
}
