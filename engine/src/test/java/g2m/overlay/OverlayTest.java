package g2m.overlay;

import g2m.image.Goldens;
import g2m.image.ImageException;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The overlay against the spec's recipe done in OpenCV-Python (tools/reference/image_reference.py). */
class OverlayTest {
    @TempDir
    Path dir;

    static final Goldens.Npy MAP = Goldens.npy("ov_map.npy");

    @Test
    void heatMatchesNumpy() {
        LoadedImage img = ImageLoader.load(Goldens.path("ov_image.png"));
        float[] map = MAP.float32();
        byte[] heat = Overlay.heat(map, 0, MAP.shape()[0], MAP.shape()[1], img.width(), img.height());
        Goldens.Npy exp = Goldens.npy("ov_heat.npy");
        assertArrayEquals(new int[] {img.height(), img.width()}, exp.shape());
        double[] d = Goldens.diff(exp.uint8(), heat);
        System.out.printf(Locale.ROOT, "heat vs numpy: mean %.4f max %.0f%n", d[0], d[1]);
        assertTrue(d[1] <= 1, "max " + d[1]);
        int max = 0;
        int min = 255;
        for (byte b : heat) {
            max = Math.max(max, b & 0xFF);
            min = Math.min(min, b & 0xFF);
        }
        assertEquals(0, min);
        assertEquals(255, max);
    }

    @Test
    void overlayMatchesTheRecipeWithinOneLevel() {
        LoadedImage img = ImageLoader.load(Goldens.path("ov_image.png"));
        float[] padded = new float[5 + MAP.float32().length];
        System.arraycopy(MAP.float32(), 0, padded, 5, MAP.float32().length);       // from an offset
        LoadedImage ov = Overlay.render(padded, 5, MAP.shape()[0], MAP.shape()[1], img);
        LoadedImage exp = ImageLoader.load(Goldens.path("ov_expected.png"));
        assertEquals(img.width(), ov.width());
        assertEquals(img.height(), ov.height());
        double[] d = Goldens.diff(exp.rgb(), ov.rgb());
        System.out.printf(Locale.ROOT, "overlay vs OpenCV-Python recipe: mean %.4f max %.0f%n", d[0], d[1]);
        assertTrue(d[1] <= 1, "max " + d[1]);
    }

    /** One colour order: a red photo under a constant map (heat 0 = JET dark blue) keeps its red in R. */
    @Test
    void blendsInOneColourOrder() {
        byte[] px = new byte[4 * 3 * 3];
        for (int i = 0; i < px.length; i += 3) px[i] = (byte) 255;
        LoadedImage red = new LoadedImage(null, 4, 3, px);
        LoadedImage ov = Overlay.render(new float[] {2f, 2f, 2f, 2f}, 0, 2, 2, red);
        // JET(0) = RGB (0, 0, 128): 0.3*255 = 76.5 -> 76 or 77 in R, 0.7*128 = 89.6 -> 90 in B
        int r = ov.sample(1, 1, 0);
        assertTrue(r == 76 || r == 77, "R " + r);
        assertEquals(0, ov.sample(1, 1, 1));
        assertEquals(90, ov.sample(1, 1, 2));
    }

    /**
     * A constant map gives heat 0. The reference's recipe does not: bicubic leaves float32 rounding
     * noise (a 7x7 map of 2.0 at 298x224 holds 2.0 and 1.9999999) and the min-max normalisation
     * stretches it to 0/244 stripes (checked with OpenCV-Python 4.6); the engine tests the map first.
     */
    @Test
    void constantMapsGiveZeroHeat() {
        assertArrayEquals(new byte[12], Overlay.heat(new float[] {-3f, -3f, -3f, -3f}, 0, 2, 2, 4, 3));
        assertArrayEquals(new byte[6], Overlay.heat(new float[] {-3f}, 0, 1, 1, 3, 2));
        float[] twos = new float[49];
        Arrays.fill(twos, 2f);
        assertArrayEquals(new byte[298 * 224], Overlay.heat(twos, 0, 7, 7, 298, 224));
        assertArrayEquals(new byte[298 * 224], Overlay.heat(new float[49], 0, 7, 7, 298, 224));
    }

    @Test
    void refusesNonFiniteAndMismatchedMaps() {
        LoadedImage img = new LoadedImage(null, 2, 2, new byte[12]);
        assertThrows(IllegalArgumentException.class, () -> Overlay.render(new float[] {1, Float.NaN, 0, 0}, 0, 2, 2, img));
        assertThrows(IllegalArgumentException.class, () -> Overlay.render(new float[] {1, Float.POSITIVE_INFINITY, 0, 0}, 0, 2, 2, img));
        assertThrows(IndexOutOfBoundsException.class, () -> Overlay.render(new float[3], 0, 2, 2, img));
    }

    @Test
    void writesPngAndJpegAtomicallyAndRefusesToOverwrite() throws IOException {
        LoadedImage img = ImageLoader.load(Goldens.path("ov_image.png"));
        float[] map = MAP.float32();
        LoadedImage ov = Overlay.render(map, 0, 7, 9, img);
        Path png = dir.resolve("out").resolve("ov.png");
        Overlay.writeOverlay(png, map, 0, 7, 9, img, false);
        assertArrayEquals(ov.rgb(), ImageLoader.load(png).rgb());               // PNG is lossless

        long before = Files.size(png);
        ImageException e = assertThrows(ImageException.class, () -> Overlay.writeOverlay(png, map, 0, 7, 9, img, false));
        assertTrue(e.getMessage().contains("exists"), e.getMessage());
        assertEquals(before, Files.size(png));
        Overlay.write(png, img, true);                                           // told to: overwrites
        assertArrayEquals(img.rgb(), ImageLoader.load(png).rgb());

        Path jpg = dir.resolve("ov.JPEG");
        Overlay.write(jpg, ov, false);
        byte[] head = Arrays.copyOf(Files.readAllBytes(jpg), 3);
        assertArrayEquals(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, head);
        double[] d = Goldens.diff(ov.rgb(), ImageLoader.load(jpg).rgb());
        assertTrue(d[0] < 6, "JPEG quality: mean " + d[0]);

        assertThrows(ImageException.class, () -> Overlay.write(dir.resolve("ov.gif"), ov, false));
        assertThrows(ImageException.class, () -> Overlay.write(dir, ov, true));     // a directory
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), "no temporary files left: out/ and ov.JPEG");
        }
        try (Stream<Path> s = Files.list(dir.resolve("out"))) {
            assertEquals(1, s.count());
        }
    }
}
