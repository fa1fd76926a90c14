package g2m.backend;

/**
 * {@code F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=True)} on one plane, in
 * float32 as PyTorch's CPU kernel computes it: the source coordinate of output index i is
 * {@code scale·i} with {@code scale = (in − 1)/(out − 1)} (0 when out = 1), its lower neighbour
 * {@code (int)}, the weights {@code λ = coordinate − index} (clamped to [0, 1]) and {@code 1 − λ},
 * and the value {@code λ0ʸ·(λ0ˣ·v00 + λ1ˣ·v01) + λ1ʸ·(λ0ˣ·v10 + λ1ˣ·v11)}. The CUDA kernel's
 * {@code upsample_bilinear_ac} (g2m_math.cuh) does the same operations in the same order, so the
 * two agree to the bit. Used by the evaluation's canvas and by layercam_loc's gradient source.
 */
public final class BilinearAlignCorners {
    private BilinearAlignCorners() {}

    /** Upsamples (or downsamples) the {@code h × w} plane at {@code src[srcOffset…]} into {@code dst[dstOffset…]}, {@code oh × ow}. */
    public static void plane(float[] src, int srcOffset, int h, int w, float[] dst, int dstOffset, int oh, int ow) {
        if (h < 1 || w < 1 || oh < 1 || ow < 1) throw new IllegalArgumentException("sizes must be positive");
        java.util.Objects.checkFromIndexSize(srcOffset, h * w, src.length);
        java.util.Objects.checkFromIndexSize(dstOffset, oh * ow, dst.length);
        int[] y0 = new int[oh], y1 = new int[oh];
        float[] ly0 = new float[oh], ly1 = new float[oh];
        axis(h, oh, y0, y1, ly0, ly1);
        int[] x0 = new int[ow], x1 = new int[ow];
        float[] lx0 = new float[ow], lx1 = new float[ow];
        axis(w, ow, x0, x1, lx0, lx1);
        for (int y = 0; y < oh; y++) {
            int r0 = srcOffset + y0[y] * w, r1 = srcOffset + y1[y] * w;
            float a = ly0[y], b = ly1[y];
            for (int x = 0; x < ow; x++) {
                float top = src[r0 + x0[x]] * lx0[x] + src[r0 + x1[x]] * lx1[x];
                float bottom = src[r1 + x0[x]] * lx0[x] + src[r1 + x1[x]] * lx1[x];
                dst[dstOffset + y * ow + x] = top * a + bottom * b;
            }
        }
    }

    /** Per output index along one axis: the two source indices and their weights. */
    private static void axis(int in, int out, int[] i0, int[] i1, float[] l0, float[] l1) {
        float scale = out > 1 ? (float) (in - 1) / (float) (out - 1) : 0f;
        for (int i = 0; i < out; i++) {
            float real = scale * (float) i;
            int idx = (int) real;
            i0[i] = idx;
            i1[i] = idx + (idx < in - 1 ? 1 : 0);
            float lambda = real - idx;
            lambda = lambda < 0f ? 0f : (lambda > 1f ? 1f : lambda);
            l1[i] = lambda;
            l0[i] = 1f - lambda;
        }
    }
}
