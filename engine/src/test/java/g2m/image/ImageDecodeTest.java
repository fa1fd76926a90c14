package g2m.image;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decoding + convert('RGB') against PIL's pixels (goldens from tools/reference/image_reference.py). */
class ImageDecodeTest {

    static LoadedImage loadAndCheckShape(String file) {
        Path p = Goldens.path(file);
        LoadedImage img = ImageLoader.load(p);
        Goldens.Npy exp = Goldens.npy(file + ".npy");
        assertArrayEquals(new int[] {img.height(), img.width(), 3}, exp.shape(), file);
        assertEquals(p, img.source());
        return img;
    }

    /** Lossless formats: exactly PIL's pixels. dec_gray16: the high byte (PIL clips instead; see ImageLoader). */
    @ParameterizedTest
    @ValueSource(strings = {"dec_rgb.png", "dec_gray.png", "dec_rgba.png", "dec_la.png", "dec_palette.png", "dec_1bit.png",
            "dec_rgb16.png", "dec_rgba16.png", "dec_gray16.png"})
    void losslessMatchesPilExactly(String file) {
        LoadedImage img = loadAndCheckShape(file);
        byte[] exp = Goldens.npy(file + ".npy").uint8();
        assertArrayEquals(exp, img.rgb(), file);
    }

    /**
     * JPEG: both sides use libjpeg(-turbo) with the same IDCT and upsampling, but versions differ
     * (PIL's system libjpeg vs the one bundled with OpenCV), so ±1 is allowed; CMYK: OpenCV's
     * CMYK→RGB rounds differently from PIL's (measured max 2 with OpenCV-Python 4.6), ±2 allowed.
     * dec_exif6 carries EXIF orientation 6, which PIL's Image.open ignores: so must we (same shape).
     */
    @ParameterizedTest
    @CsvSource({"dec_photo.jpg,1", "dec_gray.jpg,1", "dec_exif6.jpg,1", "dec_cmyk.jpg,2"})
    void jpegMatchesPilWithinTolerance(String file, int tolerance) {
        LoadedImage img = loadAndCheckShape(file);
        byte[] exp = Goldens.npy(file + ".npy").uint8();
        double[] d = Goldens.diff(exp, img.rgb());
        System.out.printf(Locale.ROOT, "%s vs PIL: mean %.3f max %.0f%n", file, d[0], d[1]);
        assertTrue(d[1] <= tolerance, file + ": max diff " + d[1] + " > " + tolerance);
    }
}
