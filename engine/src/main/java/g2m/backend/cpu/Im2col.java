package g2m.backend.cpu;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * im2col / col2im for a 3x3 kernel, stride 1, padding 1, for one channel of one image at a
 * time over a block of output rows [y0, y0+rows). The column matrix has 9 rows per channel,
 * ordered (ky, kx) as in the weights [K, C, 3, 3], and one column per output position of the
 * block ({@code (y - y0) * W + x}); its rows are {@code ld} floats apart, so the columns of
 * several images (or of a block) can sit side by side.
 *
 * <p>Both work on heap arrays (a {@link Scratch} per thread) and move data to and from the
 * direct buffers in a few bulk copies per channel, which matters at 14×14.
 */
final class Im2col {
    private Im2col() {}

    private static final float[] ZEROS = new float[4096];

    /** Per-thread heap arrays, grown on demand. */
    static final class Scratch {
        float[] a = new float[0], b = new float[0];

        float[] a(int n) {
            if (a.length < n) a = new float[n];
            return a;
        }

        float[] b(int n) {
            if (b.length < n) b = new float[n];
            return b;
        }
    }

    /**
     * col[colOff + (ky*3+kx)*ld + (y-y0)*W + x] = x[xOff + (y+ky-1)*W + x+kx-1], 0 outside the
     * image, for y in [y0, y0+rows).
     */
    static void im2col(FloatBuffer x, int xOff, int h, int w, int y0, int rows,
                       FloatBuffer col, int colOff, int ld, Scratch s) {
        int cols = rows * w;
        // src: input rows y0-1 … y0+rows (rows+2 of them), zero outside the image
        float[] src = s.a((rows + 2) * w), dst = s.b(cols);
        int lo = Math.max(0, y0 - 1), hi = Math.min(h, y0 + rows + 1);
        int first = (lo - (y0 - 1)) * w, count = (hi - lo) * w;
        Arrays.fill(src, 0, first, 0f);
        x.get(xOff + lo * w, src, first, count);
        Arrays.fill(src, first + count, (rows + 2) * w, 0f);
        for (int ky = 0; ky < 3; ky++) {
            int so = ky * w, row = colOff + ky * 3 * ld;
            // kx = 0: output x reads input x-1
            System.arraycopy(src, so, dst, 1, cols - 1);
            for (int r = 0; r < cols; r += w) dst[r] = 0f;
            col.put(row, dst, 0, cols);
            // kx = 1: the input rows themselves
            col.put(row + ld, src, so, cols);
            // kx = 2: output x reads input x+1
            System.arraycopy(src, so + 1, dst, 0, cols - 1);
            for (int r = w - 1; r < cols; r += w) dst[r] = 0f;
            col.put(row + 2 * ld, dst, 0, cols);
        }
    }

    /**
     * The block's columns back to the image: input row sy gets, from each output row
     * y = sy-ky+1 of the block and each kx, col[(ky*3+kx)*ld + (y-y0)*W + x] at input column
     * x+kx-1. Rows inside the block, [y0, y0+rows), are written (not added to: the block is
     * their only writer apart from its neighbours' halos); the two rows just outside it, when
     * inside the image, go to {@code halo} at {@code haloOff} (row y0-1) and
     * {@code haloOff + W} (row y0+rows), for the caller to add to dx afterwards.
     */
    static void col2im(FloatBuffer col, int colOff, int ld, FloatBuffer dx, int dxOff, int h, int w,
                       int y0, int rows, FloatBuffer halo, int haloOff, Scratch s) {
        int cols = rows * w;
        float[] c9 = s.a(9 * cols), acc = s.b((rows + 2) * w); // acc: input rows y0-1 … y0+rows
        for (int j = 0; j < 9; j++) col.get(colOff + j * ld, c9, j * cols, cols);
        Arrays.fill(acc, 0, (rows + 2) * w, 0f);
        for (int ky = 0; ky < 3; ky++) {
            int ao = ky * w; // output row r reads input row r+ky-1, which is acc row r+ky
            int c0 = ky * 3 * cols, c1 = c0 + cols, c2 = c1 + cols;
            for (int r = 0; r < cols; r += w) {
                int a = ao + r;
                for (int i = 1; i < w; i++) acc[a + i - 1] += c9[c0 + r + i];
                for (int i = 0; i < w; i++) acc[a + i] += c9[c1 + r + i];
                for (int i = 0; i < w - 1; i++) acc[a + i + 1] += c9[c2 + r + i];
            }
        }
        dx.put(dxOff + y0 * w, acc, w, cols);
        if (y0 > 0) halo.put(haloOff, acc, 0, w);
        if (y0 + rows < h) halo.put(haloOff + w, acc, (rows + 1) * w, w);
    }

    static void zero(FloatBuffer b, int off, int len) {
        while (len > 0) {
            int n = Math.min(len, ZEROS.length);
            b.put(off, ZEROS, 0, n);
            off += n;
            len -= n;
        }
    }
}
