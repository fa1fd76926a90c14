package g2m.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * PilResize against Pillow 9.4's {@code Image.resize(size, BILINEAR)} (goldens by
 * tools/reference/image_reference.py and eval_reference.py): bit-exact, tolerance 0, on shrinking,
 * enlarging and mixed (one axis each way) resizes.
 */
class PilResizeTest {
    static Path eval(String name) {
        try {
            return Path.of(PilResizeTest.class.getResource("/eval/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource /eval/" + name, e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"down, 298, 224", "tall, 224, 336", "up, 336, 224"})
    void matchesPilOnTheResizeGoldens(String name, int w, int h) {
        LoadedImage src = ImageLoader.load(Goldens.path("rs_" + name + "_src.png"));
        LoadedImage pil = ImageLoader.load(Goldens.path("rs_" + name + "_pil.png"));
        LoadedImage ours = PilResize.bilinear(src, w, h);
        assertEquals(w, ours.width());
        assertEquals(h, ours.height());
        assertArrayEquals(pil.rgb(), ours.rgb());
    }

    @Test
    void matchesPilAt256x256() {
        // 300x200 -> 256x256: width shrinks, height grows
        assertArrayEquals(ImageLoader.load(eval("resized256.png")).rgb(),
                PilResize.bilinear(ImageLoader.load(eval("picture.png")), 256, 256).rgb());
        // 500x375 -> 256x256: both shrink (a typical ILSVRC picture)
        LoadedImage down = ImageLoader.load(Goldens.path("rs_down_src.png"));
        assertArrayEquals(ImageLoader.load(eval("resized256.rs_down.png")).rgb(), PilResize.bilinear(down, 256, 256).rgb());
        // its 180x375 left part -> 256x256: width grows, height shrinks
        byte[] px = down.rgb();
        byte[] left = new byte[180 * 375 * 3];
        for (int y = 0; y < 375; y++) System.arraycopy(px, y * 500 * 3, left, y * 180 * 3, 180 * 3);
        LoadedImage tall = new LoadedImage(null, 180, 375, left);
        assertArrayEquals(ImageLoader.load(eval("resized256.tall.png")).rgb(), PilResize.bilinear(tall, 256, 256).rgb());
    }

    @Test
    void sameSizeIsUntouchedAndBadSizesAreRefused() {
        LoadedImage img = new LoadedImage(null, 3, 2, new byte[18]);
        assertSame(img, PilResize.bilinear(img, 3, 2));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PilResize.bilinear(img, 0, 2));
    }
}
