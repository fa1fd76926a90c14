package g2m.image;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.bytedeco.opencv.global.opencv_imgproc.COLOR_RGB2BGR;
import static org.bytedeco.opencv.global.opencv_imgproc.cvtColor;

/** Picture files made in tests (by OpenCV's encoders), for tests in any package. */
public final class TestPictures {
    private TestPictures() {}

    /** The picture encoded as {@code ext} (".png", ".bmp", ".tif", ".webp", ".ppm", ".jpg"). */
    public static byte[] encode(LoadedImage src, String ext) {
        try (Mat m = Mats.uint8(src); Mat bgr = new Mat(); BytePointer buf = new BytePointer()) {
            cvtColor(m, bgr, COLOR_RGB2BGR);
            if (!imencode(ext, bgr, buf)) throw new AssertionError("OpenCV does not write " + ext);
            byte[] out = new byte[(int) buf.limit()];
            buf.get(out);
            return out;
        }
    }

    /** A black PNG of w x h. */
    public static byte[] png(int w, int h) {
        return encode(new LoadedImage(null, w, h, new byte[Math.multiplyExact(3, Math.multiplyExact(w, h))]), ".png");
    }
}
