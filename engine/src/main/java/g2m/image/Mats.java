package g2m.image;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

import static org.bytedeco.opencv.global.opencv_core.CV_32FC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC;

/** Copies between Java arrays and OpenCV Mats (row-major, continuous, channels interleaved). */
public final class Mats {
    private Mats() {}

    /** A new 8-bit Mat of {@code h} rows and {@code w} columns with {@code channels} channels, holding {@code px}. */
    public static Mat uint8(byte[] px, int w, int h, int channels) {
        Mat m = new Mat(h, w, CV_8UC(channels));
        BytePointer p = m.data();
        p.capacity(px.length);
        p.put(px, 0, px.length);
        return m;
    }

    /** A new three-channel 8-bit Mat (RGB order) holding the picture's pixels, copied straight from it. */
    public static Mat uint8(LoadedImage image) {
        return uint8(image.pixels(), image.width(), image.height(), 3);
    }

    /** A new one-channel 8-bit Mat holding {@code px}. */
    public static Mat gray(byte[] px, int w, int h) {
        return uint8(px, w, h, 1);
    }

    /** A new one-channel float32 Mat holding {@code v}. */
    public static Mat floats(float[] v, int w, int h) {
        return floats(v, 0, w, h);
    }

    /** A new one-channel float32 Mat of {@code h × w} holding {@code v[offset …]}. */
    public static Mat floats(float[] v, int offset, int w, int h) {
        int n = Math.multiplyExact(w, h);
        java.util.Objects.checkFromIndexSize(offset, n, v.length);
        Mat m = new Mat(h, w, CV_32FC1);
        FloatPointer p = new FloatPointer(m.data());
        p.capacity(n);
        p.put(v, offset, n);
        return m;
    }

    /** An 8-bit Mat's values (a copy of it first if it is not continuous). */
    public static byte[] bytes(Mat m) {
        Mat c = m.isContinuous() ? m : m.clone();
        try {
            byte[] out = new byte[Math.toIntExact(c.total() * c.elemSize())];
            BytePointer p = c.data();
            p.capacity(out.length);
            p.get(out);
            return out;
        } finally {
            if (c != m) c.close();
        }
    }

    /** A one-channel float32 Mat's values (a copy of it first if it is not continuous). */
    public static float[] floats(Mat m) {
        Mat c = m.isContinuous() ? m : m.clone();
        try {
            float[] out = new float[Math.toIntExact(c.total())];
            FloatPointer p = new FloatPointer(c.data());
            p.capacity(out.length);
            p.get(out);
            return out;
        } finally {
            if (c != m) c.close();
        }
    }
}
