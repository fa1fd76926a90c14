package g2m.image;

import g2m.weights.Preprocessing;

import java.util.Objects;

/**
 * An RGB picture as the network's input: float32, NCHW, channels in the weights' order
 * ({@link Preprocessing#channelOrder()}), each value
 * {@code x = (pixel * inputScale - mean[c]) / std[c]} with mean and std listed in that same
 * network channel order (PyTorch: RGB, 1/255, ImageNet mean/std; Caffe: BGR, 1, BGR mean, std 1).
 * Computed in double and rounded once to float; the reference computes in float32 step by step
 * ({@code ToTensor} then {@code Normalize}), at most about one float ulp away.
 */
public final class InputTensor {
    private InputTensor() {}

    /** A new {@code [1, 3, H, W]} array. */
    public static float[] toNchw(LoadedImage image, Preprocessing p) {
        long values = 3L * image.width() * image.height();
        if (values > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(image + ": " + values + " input values do not fit in one array");
        float[] out = new float[(int) values];
        toNchw(image, p, out, 0);
        return out;
    }

    /** Writes {@code 3 × H × W} values into {@code dst} from {@code offset} (one image of a batch). */
    public static void toNchw(LoadedImage image, Preprocessing p, float[] dst, int offset) {
        Objects.requireNonNull(p, "preprocessing");
        long hw3 = 3L * image.width() * image.height();
        if (hw3 > dst.length) throw new IndexOutOfBoundsException(image + ": " + hw3 + " input values do not fit in " + dst.length);
        int hw = image.width() * image.height();
        Objects.checkFromIndexSize(offset, 3 * hw, dst.length);
        float[][] lut = lookupTables(p);
        byte[] px = image.pixels();
        boolean bgr = p.channelOrder() == Preprocessing.ChannelOrder.BGR;
        for (int k = 0; k < 3; k++) {
            int src = bgr ? 2 - k : k;
            float[] t = lut[k];
            int o = offset + k * hw;
            for (int i = 0, q = src; i < hw; i++, q += 3) dst[o + i] = t[px[q] & 0xFF];
        }
    }

    /** lut[k][v]: the input value of network channel k for pixel value v. */
    static float[][] lookupTables(Preprocessing p) {
        double[] mean = p.mean();
        double[] std = p.std();
        float[][] lut = new float[3][256];
        for (int k = 0; k < 3; k++) {
            for (int v = 0; v < 256; v++) lut[k][v] = (float) ((v * p.inputScale() - mean[k]) / std[k]);
        }
        return lut;
    }
}
