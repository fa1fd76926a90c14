package g2m.image;

import g2m.weights.Preprocessing;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** x = (pixel * inputScale - mean[c]) / std[c], NCHW, channels in the network's order. */
class ImageInputTensorTest {
    static final int W = 5;
    static final int H = 3;

    static LoadedImage picture() {
        byte[] px = new byte[W * H * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 37 + 11);
        return new LoadedImage(null, W, H, px);
    }

    @Test
    void pytorchConventionRgbScaledNormalised() {
        LoadedImage img = picture();
        float[] x = InputTensor.toNchw(img, Preprocessing.PYTORCH);
        assertEquals(3 * W * H, x.length);
        double[] mean = {0.485, 0.456, 0.406};
        double[] std = {0.229, 0.224, 0.225};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < H; y++) {
                for (int xx = 0; xx < W; xx++) {
                    int v = img.sample(xx, y, c);                       // network channel c = R, G, B
                    float expect = (float) ((v * (1.0 / 255) - mean[c]) / std[c]);
                    assertEquals(expect, x[(c * H + y) * W + xx], 0f);
                    float torch = ((v / 255f) - (float) mean[c]) / (float) std[c];   // ToTensor + Normalize in float32
                    assertEquals(torch, x[(c * H + y) * W + xx], 1e-6f);
                }
            }
        }
    }

    @Test
    void caffeConventionBgrUnscaledMeanOnly() {
        LoadedImage img = picture();
        float[] x = InputTensor.toNchw(img, Preprocessing.CAFFE);
        double[] meanBgr = {103.939, 116.779, 123.68};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < H; y++) {
                for (int xx = 0; xx < W; xx++) {
                    int v = img.sample(xx, y, 2 - c);                   // network channel 0 = blue
                    assertEquals((float) (v - meanBgr[c]), x[(c * H + y) * W + xx], 0f);
                }
            }
        }
    }

    @Test
    void handComputedPixel() {
        LoadedImage red = new LoadedImage(null, 1, 1, new byte[] {(byte) 255, 0, (byte) 128});
        assertArrayEquals(new float[] {(float) ((1 - 0.485) / 0.229), (float) ((0 - 0.456) / 0.224), (float) ((128 / 255.0 - 0.406) / 0.225)},
                InputTensor.toNchw(red, Preprocessing.PYTORCH));
        assertArrayEquals(new float[] {(float) (128 - 103.939), (float) (0 - 116.779), (float) (255 - 123.68)},
                InputTensor.toNchw(red, Preprocessing.CAFFE));
        Preprocessing custom = new Preprocessing(Preprocessing.ChannelOrder.BGR, 2.0, new double[] {1, 2, 3}, new double[] {4, 5, 8});
        assertArrayEquals(new float[] {(float) ((256 - 1) / 4.0), (float) ((0 - 2) / 5.0), (float) ((510 - 3) / 8.0)},
                InputTensor.toNchw(red, custom));
    }

    @Test
    void intoABatchBufferAtAnOffset() {
        LoadedImage img = picture();
        float[] one = InputTensor.toNchw(img, Preprocessing.PYTORCH);
        float[] batch = new float[7 + 2 * one.length];
        java.util.Arrays.fill(batch, -99f);
        InputTensor.toNchw(img, Preprocessing.PYTORCH, batch, 7 + one.length);
        assertEquals(-99f, batch[7 + one.length - 1]);
        assertArrayEquals(one, java.util.Arrays.copyOfRange(batch, 7 + one.length, batch.length));
        assertThrows(IndexOutOfBoundsException.class, () -> InputTensor.toNchw(img, Preprocessing.PYTORCH, batch, 8 + one.length));
    }
}
