package g2m.eval;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.Mat;

import static org.bytedeco.opencv.global.opencv_core.CV_32FC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;

/** Copies between Java arrays and OpenCV Mats (row-major, continuous). */
final class Mats {
    private Mats() {}

    static Mat gray(byte[] px, int w, int h) {
        Mat m = new Mat(h, w, CV_8UC1);
        BytePointer p = m.data();
        p.capacity(px.length);
        p.put(px, 0, px.length);
        return m;
    }

    static Mat floats(float[] v, int w, int h) {
        Mat m = new Mat(h, w, CV_32FC1);
        FloatPointer p = new FloatPointer(m.data());
        p.capacity(v.length);
        p.put(v, 0, v.length);
        return m;
    }

    static byte[] bytes(Mat m) {
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

    static float[] floats(Mat m) {
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
