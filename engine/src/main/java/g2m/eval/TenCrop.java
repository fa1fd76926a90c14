package g2m.eval;

import g2m.api.ImageMaps;
import g2m.api.Map2D;
import g2m.image.InputTensor;
import g2m.image.LoadedImage;
import g2m.image.PilResize;
import g2m.maps.MapMethod;
import g2m.net.Tap;
import g2m.weights.Preprocessing;

import java.util.List;

/**
 * Step 1 of the protocol: the picture resized to 256×256 (PIL bilinear, as torchvision's
 * {@code Resize((256, 256))}), then torchvision's {@code TenCrop(224)}: the four corners and the
 * centre, then the same five of the horizontally flipped picture.
 */
public final class TenCrop {
    private TenCrop() {}

    public static final int RESIZE = 256;
    public static final int CROP = 224;
    public static final int CROPS = 10;

    /**
     * Where crop i lies: its top-left corner (x, y) in the 256×256 picture, or, when
     * {@code flipped}, in the horizontally flipped picture.
     */
    public record Position(int x, int y, boolean flipped) {}

    /** In TenCrop order: tl, tr, bl, br, centre, then the same on the flipped picture. */
    public static final List<Position> POSITIONS;

    static {
        int d = RESIZE - CROP;
        int c = (int) Math.round(d / 2.0);    // torchvision center_crop: int(round((256 - 224) / 2.0)) = 16
        int[][] five = {{0, 0}, {d, 0}, {0, d}, {d, d}, {c, c}};
        Position[] p = new Position[CROPS];
        for (int i = 0; i < 5; i++) {
            p[i] = new Position(five[i][0], five[i][1], false);
            p[i + 5] = new Position(five[i][0], five[i][1], true);
        }
        POSITIONS = List.of(p);
    }

    /** The logits of a picture's ten crops, summed (in crop order, as the reference sums them). */
    public static float[] sumLogits(List<ImageMaps> crops) {
        int classes = crops.get(0).logits().length;
        float[] all = new float[crops.size() * classes];
        for (int i = 0; i < crops.size(); i++) System.arraycopy(crops.get(i).logits(), 0, all, i * classes, classes);
        return Localizer.sumLogits(all, 0, crops.size(), classes);
    }

    /** One map of each crop, stacked: {@code [crops, h, w]} as {@link Canvas} takes them. */
    public static float[] stack(List<ImageMaps> crops, Tap tap, MapMethod method) {
        Map2D first = crops.get(0).map(tap, method);
        int hw = first.height() * first.width();
        float[] out = new float[crops.size() * hw];
        for (int i = 0; i < crops.size(); i++) System.arraycopy(crops.get(i).map(tap, method).values(), 0, out, i * hw, hw);
        return out;
    }

    /** The 256×256 picture of step 1. */
    public static LoadedImage resize(LoadedImage picture) {
        return PilResize.bilinear(picture, RESIZE, RESIZE);
    }

    /**
     * The ten crops of a 256×256 picture as network input, {@code [10, 3, 224, 224]} written into
     * {@code dst} from {@code offset}, preprocessed as the weights ask.
     */
    public static void input(LoadedImage resized, Preprocessing p, float[] dst, int offset) {
        if (resized.width() != RESIZE || resized.height() != RESIZE) {
            throw new IllegalArgumentException("ten-crop needs a " + RESIZE + "x" + RESIZE + " picture, got " + resized.width() + "x" + resized.height());
        }
        byte[] px = resized.rgb();
        int per = 3 * CROP * CROP;
        byte[] crop = new byte[CROP * CROP * 3];
        for (int i = 0; i < CROPS; i++) {
            Position pos = POSITIONS.get(i);
            for (int y = 0; y < CROP; y++) {
                int srcRow = (pos.y() + y) * RESIZE * 3;
                for (int x = 0; x < CROP; x++) {
                    // column x of a crop of the flipped picture is column 255 - (pos.x + x) of the original
                    int sx = pos.flipped() ? RESIZE - 1 - (pos.x() + x) : pos.x() + x;
                    int s = srcRow + sx * 3;
                    int o = (y * CROP + x) * 3;
                    crop[o] = px[s];
                    crop[o + 1] = px[s + 1];
                    crop[o + 2] = px[s + 2];
                }
            }
            InputTensor.toNchw(new LoadedImage(null, CROP, CROP, crop), p, dst, offset + i * per);
        }
    }
}
