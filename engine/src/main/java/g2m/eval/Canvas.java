package g2m.eval;

/**
 * Step 3 of the protocol: each crop's map upsampled to 224×224 (bilinear, align-corners, float32
 * as PyTorch's CPU kernel computes it), placed into a 256×256 zero canvas at its crop's position
 * (a flipped crop's map flipped back), the ten canvases summed in crop order in float32.
 */
public final class Canvas {
    private Canvas() {}

    /**
     * {@code F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=True)} for one
     * {@code h × w} plane read from {@code src[offset…]}: source coordinate {@code scale·i} with
     * {@code scale = (in − 1)/(out − 1)} in float, the lower neighbour {@code (int)}, weights
     * {@code λ1 = coordinate − index} and {@code 1 − λ1}, and the value
     * {@code λ0ʸ·(λ0ˣ·v00 + λ1ˣ·v01) + λ1ʸ·(λ0ˣ·v10 + λ1ˣ·v11)}, all float32 like the reference.
     */
    public static float[] upsampleAlignCorners(float[] src, int offset, int h, int w, int oh, int ow) {
        if (h < 1 || w < 1 || oh < 1 || ow < 1) throw new IllegalArgumentException("sizes must be positive");
        java.util.Objects.checkFromIndexSize(offset, h * w, src.length);
        int[] y0 = new int[oh], y1 = new int[oh];
        float[] ly0 = new float[oh], ly1 = new float[oh];
        axis(h, oh, y0, y1, ly0, ly1);
        int[] x0 = new int[ow], x1 = new int[ow];
        float[] lx0 = new float[ow], lx1 = new float[ow];
        axis(w, ow, x0, x1, lx0, lx1);
        float[] out = new float[oh * ow];
        for (int y = 0; y < oh; y++) {
            int r0 = offset + y0[y] * w, r1 = offset + y1[y] * w;
            float a = ly0[y], b = ly1[y];
            for (int x = 0; x < ow; x++) {
                float top = src[r0 + x0[x]] * lx0[x] + src[r0 + x1[x]] * lx1[x];
                float bottom = src[r1 + x0[x]] * lx0[x] + src[r1 + x1[x]] * lx1[x];
                out[y * ow + x] = top * a + bottom * b;
            }
        }
        return out;
    }

    private static void axis(int in, int out, int[] i0, int[] i1, float[] l0, float[] l1) {
        float scale = out > 1 ? (float) (in - 1) / (float) (out - 1) : 0f;
        for (int i = 0; i < out; i++) {
            float real = scale * (float) i;
            int idx = (int) real;
            i0[i] = idx;
            i1[i] = idx + (idx < in - 1 ? 1 : 0);
            float lambda = Math.min(Math.max(real - idx, 0f), 1f);
            l1[i] = lambda;
            l0[i] = 1f - lambda;
        }
    }

    /**
     * The summed 256×256 canvas of ten crop maps, each {@code h × w}, read from
     * {@code maps[offset + i·h·w …]} in TenCrop order.
     */
    public static float[] assemble(float[] maps, int offset, int h, int w) {
        int side = TenCrop.RESIZE, crop = TenCrop.CROP;
        float[] canvas = new float[side * side];
        for (int i = 0; i < TenCrop.CROPS; i++) {
            float[] up = upsampleAlignCorners(maps, offset + i * h * w, h, w, crop, crop);
            TenCrop.Position p = TenCrop.POSITIONS.get(i);
            for (int y = 0; y < crop; y++) {
                int row = (p.y() + y) * side;
                for (int x = 0; x < crop; x++) {
                    // pad into the (flipped) picture's frame, then flip the padded canvas back
                    int cx = p.flipped() ? side - 1 - (p.x() + x) : p.x() + x;
                    canvas[row + cx] += up[y * crop + x];
                }
            }
        }
        return canvas;
    }
}
