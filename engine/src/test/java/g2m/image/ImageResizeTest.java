package g2m.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Resize(224): the target size rule, and our OpenCV recipe against PIL's bilinear and OpenCV-Python. */
class ImageResizeTest {

    @ParameterizedTest
    @CsvSource({"500,375,298,224", "375,500,224,298", "333,500,224,336", "500,333,336,224", "250,400,224,358",
            "224,1000,224,1000", "1000,224,1000,224", "224,224,224,224", "100,100,224,224", "150,100,336,224",
            "640,480,298,224", "1,3,224,672", "225,226,224,224"})
    void targetSizeFollowsTorchvision(int w, int h, int tw, int th) {
        assertArrayEquals(new int[] {tw, th}, Resizer.targetSize(w, h, 224));
    }

    /** Python's int(224 * long / short) (float division, truncation) is the exact integer floor here. */
    @Test
    void targetSizeIsTheFloorOfTheExactRatio() {
        for (int s = 1; s <= 700; s += 3) {
            for (int l = s; l <= 3000; l += 7) {
                int[] t = Resizer.targetSize(s, l, 224);
                long expect = s == 224 ? l : 224L * l / s;
                assertEquals(expect, t[1], s + "x" + l);
                assertEquals(224, t[0]);
            }
        }
    }

    @Test
    void shortSideAlready224IsNotResampled() {
        byte[] px = new byte[224 * 300 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 31);
        LoadedImage img = new LoadedImage(null, 300, 224, px);
        assertSame(img, Resizer.resizeShorterSide(img));
    }

    @Test
    void extremeAspectRatioIsRefused() {
        LoadedImage img = new LoadedImage(null, 1, 500_000, new byte[500_000 * 3]);   // -> 224 x 112,000,000
        ImageException e = assertThrows(ImageException.class, () -> Resizer.resizeShorterSide(img));
        assertTrue(e.getMessage().contains("aspect ratio"), e.getMessage());
    }

    /**
     * Differences in 0–255 levels. vs PIL: the documented bound of RESIZE.md (mean ≤ 1.5, max ≤ 13
     * shrinking; max 1 enlarging). vs the same recipe in OpenCV-Python 4.6: ±1 (OpenCV versions).
     */
    @ParameterizedTest
    @CsvSource({"down,298,224,1.5,13", "tall,224,336,1.5,13", "up,336,224,0.3,1"})
    void againstPilAndOpenCvPython(String name, int tw, int th, double meanBound, int maxBound) {
        LoadedImage src = ImageLoader.load(Goldens.path("rs_" + name + "_src.png"));
        LoadedImage ours = Resizer.resizeShorterSide(src);
        assertEquals(tw, ours.width());
        assertEquals(th, ours.height());
        assertEquals(src.source(), ours.source());
        LoadedImage pil = ImageLoader.load(Goldens.path("rs_" + name + "_pil.png"));
        LoadedImage cv = ImageLoader.load(Goldens.path("rs_" + name + "_cv.png"));
        double[] dPil = Goldens.diff(pil.rgb(), ours.rgb());
        double[] dCv = Goldens.diff(cv.rgb(), ours.rgb());
        System.out.printf(Locale.ROOT, "resize %s %dx%d -> %dx%d: vs PIL bilinear mean %.3f max %.0f; vs OpenCV-Python mean %.4f max %.0f%n",
                name, src.width(), src.height(), tw, th, dPil[0], dPil[1], dCv[0], dCv[1]);
        assertTrue(dPil[0] <= meanBound && dPil[1] <= maxBound, "vs PIL: mean " + dPil[0] + " max " + dPil[1]);
        assertTrue(dCv[1] <= 1, "vs OpenCV-Python: max " + dCv[1]);
    }

    @Test
    void resizeToAnySizeKeepsAConstantPictureConstant() {
        byte[] px = new byte[37 * 23 * 3];
        for (int i = 0; i < px.length; i += 3) {
            px[i] = (byte) 200;
            px[i + 1] = 17;
            px[i + 2] = (byte) 129;
        }
        LoadedImage img = new LoadedImage(null, 37, 23, px);
        for (int[] t : new int[][] {{10, 5}, {80, 50}, {10, 50}, {80, 5}, {37, 5}}) {
            LoadedImage r = Resizer.resize(img, t[0], t[1]);
            assertEquals(t[0], r.width());
            assertEquals(t[1], r.height());
            for (int y = 0; y < t[1]; y++) {
                for (int x = 0; x < t[0]; x++) {
                    assertEquals(200, r.sample(x, y, 0));
                    assertEquals(17, r.sample(x, y, 1));
                    assertEquals(129, r.sample(x, y, 2));
                }
            }
        }
    }
}
