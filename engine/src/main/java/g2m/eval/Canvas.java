package g2m.eval;

import g2m.backend.BilinearAlignCorners;

/**
 * Step 3 of the protocol: each crop's map upsampled to 224×224 (bilinear, align-corners, float32
 * as PyTorch's CPU kernel computes it), placed into a 256×256 zero canvas at its crop's position
 * (a flipped crop's map flipped back), the ten canvases summed in crop order in float32.
 */
final class Canvas {
    private Canvas() {}

    /**
     * {@code F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=True)} for one
     * {@code h × w} plane read from {@code src[offset…]}, float32 as the reference computes it
     * (see {@link BilinearAlignCorners}).
     */
    public static float[] upsampleAlignCorners(float[] src, int offset, int h, int w, int oh, int ow) {
        float[] out = new float[oh * ow];
        BilinearAlignCorners.plane(src, offset, h, w, out, 0, oh, ow);
        return out;
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
