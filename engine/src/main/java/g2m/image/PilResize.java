package g2m.image;

/**
 * PIL's {@code Image.resize(size, BILINEAR)} on 8-bit RGB, bit for bit (Pillow's Resample.c as of
 * Pillow 7–10, read, not copied): a triangle filter whose support widens with the scale factor when
 * an axis shrinks (antialiasing) and is plain bilinear when it grows; coefficients in double,
 * normalised per output pixel, then fixed point with 22 fractional bits; a horizontal pass into
 * an 8-bit intermediate (only the rows the vertical pass reads), then a vertical pass, each
 * rounding half up and clamping to 0–255. torchvision's {@code Resize((256, 256))} on a PIL picture
 * is exactly this, which is why the WSOL protocol (step 1) uses it rather than {@link Resizer}.
 */
public final class PilResize {
    private PilResize() {}

    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double ONE = 1 << PRECISION_BITS;

    /** Resamples to {@code width × height}; the same instance when the size is unchanged (PIL copies). */
    public static LoadedImage bilinear(LoadedImage image, int width, int height) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("target size must be positive, got " + width + "x" + height);
        int w = image.width();
        int h = image.height();
        if (w == width && h == height) return image;
        Coefficients horiz = Coefficients.of(w, width);
        Coefficients vert = Coefficients.of(h, height);
        byte[] src = image.pixels();
        int rowsFirst = 0;
        int rows = h;
        if (width != w) {
            // only the source rows the vertical pass will read (PIL's ybox_first … ybox_last)
            rowsFirst = vert.bounds[0];
            int rowsLast = vert.bounds[2 * (height - 1)] + vert.bounds[2 * (height - 1) + 1];
            rows = rowsLast - rowsFirst;
            src = horizontal(src, w, rowsFirst, rows, width, horiz);
        }
        if (height != h) src = vertical(src, width, rowsFirst, height, vert);
        return LoadedImage.wrap(image.source(), width, height, src);
    }

    /** Rows {@code first … first+rows-1} of a {@code w}-wide picture, resampled to {@code width} columns. */
    private static byte[] horizontal(byte[] in, int w, int first, int rows, int width, Coefficients c) {
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(rows, width), 3)];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < rows; y++) {
            int inRow = (first + y) * w * 3;
            int outRow = y * width * 3;
            for (int x = 0; x < width; x++) {
                int xmin = c.bounds[2 * x];
                int n = c.bounds[2 * x + 1];
                int k0 = x * c.ksize;
                int s0 = half, s1 = half, s2 = half;
                for (int i = 0; i < n; i++) {
                    int p = inRow + (xmin + i) * 3;
                    int k = c.kk[k0 + i];
                    s0 += (in[p] & 0xFF) * k;
                    s1 += (in[p + 1] & 0xFF) * k;
                    s2 += (in[p + 2] & 0xFF) * k;
                }
                int o = outRow + x * 3;
                out[o] = clip8(s0);
                out[o + 1] = clip8(s1);
                out[o + 2] = clip8(s2);
            }
        }
        return out;
    }

    /** Resamples columns: output row y reads input rows {@code bounds − shift …}. */
    private static byte[] vertical(byte[] in, int width, int shift, int height, Coefficients c) {
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(height, width), 3)];
        int half = 1 << (PRECISION_BITS - 1);
        int stride = width * 3;
        for (int y = 0; y < height; y++) {
            int ymin = c.bounds[2 * y] - shift;
            int n = c.bounds[2 * y + 1];
            int k0 = y * c.ksize;
            int outRow = y * stride;
            for (int x = 0; x < stride; x++) {
                int s = half;
                for (int i = 0; i < n; i++) s += (in[(ymin + i) * stride + x] & 0xFF) * c.kk[k0 + i];
                out[outRow + x] = clip8(s);
            }
        }
        return out;
    }

    private static byte clip8(int v) {
        int q = v >> PRECISION_BITS;
        return (byte) (q < 0 ? 0 : Math.min(q, 255));
    }

    /** Per output pixel: first input index, tap count, and fixed-point weights ({@code ksize} slots each). */
    private record Coefficients(int ksize, int[] bounds, int[] kk) {
        static Coefficients of(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterscale = Math.max(scale, 1.0);
            double support = 1.0 * filterscale;             // the bilinear (triangle) filter's support is 1
            int ksize = (int) Math.ceil(support) * 2 + 1;
            int[] bounds = new int[2 * outSize];
            int[] kk = new int[Math.multiplyExact(outSize, ksize)];
            double[] k = new double[ksize];
            double ss = 1.0 / filterscale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) xmin = 0;
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                double ww = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double t = Math.abs((x + xmin - center + 0.5) * ss);
                    double wgt = t < 1.0 ? 1.0 - t : 0.0;
                    k[x] = wgt;
                    ww += wgt;
                }
                for (int x = 0; x < xmax; x++) {
                    double v = ww != 0.0 ? k[x] / ww : k[x];
                    kk[xx * ksize + x] = v < 0 ? (int) (-0.5 + v * ONE) : (int) (0.5 + v * ONE);
                }
                bounds[2 * xx] = xmin;
                bounds[2 * xx + 1] = xmax;
            }
            return new Coefficients(ksize, bounds, kk);
        }
    }
}
