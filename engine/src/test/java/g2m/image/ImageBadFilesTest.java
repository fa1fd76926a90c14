package g2m.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files that are not usable pictures: one ImageException each, one line naming the file, never a crash. */
class ImageBadFilesTest {
    @TempDir
    Path dir;

    static String refused(Path p) {
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.load(p));
        String m = e.getMessage();
        assertFalse(m.contains("\n") || m.contains("\r"), "one line: " + m);
        assertTrue(m.contains(p.toString()), "names the file: " + m);
        System.out.println("refused: " + m);
        return m;
    }

    Path write(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        return p;
    }

    @Test
    void truncatedJpeg() throws IOException {
        byte[] jpg = Files.readAllBytes(Goldens.path("dec_photo.jpg"));
        assertTrue(refused(write("half.jpg", Arrays.copyOf(jpg, jpg.length / 2))).contains("truncated"));
        // only the end-of-image marker missing: libjpeg would decode it with a warning; refused all the same
        refused(write("noeoi.jpg", Arrays.copyOf(jpg, jpg.length - 2)));
        refused(write("header-only.jpg", Arrays.copyOf(jpg, 40)));
    }

    @Test
    void truncatedJpegWithAThumbnailsEndMarkerInItsHeader() throws IOException {
        byte[] jpg = Files.readAllBytes(Goldens.path("dec_photo.jpg"));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(jpg, 0, 2);                                        // SOI
        byte[] payload = {'E', 'x', 'i', 'f', 0, 0, (byte) 0xFF, (byte) 0xD8, 1, 2, (byte) 0xFF, (byte) 0xD9};
        b.write(0xFF);
        b.write(0xE1);
        b.write(0);
        b.write(payload.length + 2);
        b.write(payload, 0, payload.length);
        b.write(jpg, 2, jpg.length - 2);
        byte[] withApp1 = b.toByteArray();
        assertTrue(ImageLoader.jpegHasEnd(withApp1));
        assertEquals(48, ImageLoader.load(write("app1.jpg", withApp1)).width());
        byte[] cut = Arrays.copyOf(withApp1, withApp1.length * 2 / 3);
        assertFalse(ImageLoader.jpegHasEnd(cut));
        refused(write("app1-cut.jpg", cut));
    }

    @Test
    void trailingBytesAfterAJpegAreFine() throws IOException {
        byte[] jpg = Files.readAllBytes(Goldens.path("dec_photo.jpg"));
        byte[] longer = Arrays.copyOf(jpg, jpg.length + 100);
        Arrays.fill(longer, jpg.length, longer.length, (byte) 0x5A);
        LoadedImage img = ImageLoader.load(write("trailing.jpg", longer));
        assertEquals(48, img.width());
        assertEquals(32, img.height());
    }

    @Test
    void truncatedPng() throws IOException {
        byte[] png = Files.readAllBytes(Goldens.path("rs_up_src.png"));
        // refused before OpenCV decodes them: libpng would print a native warning past the one-line error
        assertTrue(refused(write("half.png", Arrays.copyOf(png, png.length / 2))).contains("truncated or corrupt PNG"));
        assertTrue(refused(write("header-only.png", Arrays.copyOf(png, 40))).contains("truncated or corrupt PNG"));
        assertTrue(refused(write("no-crc.png", Arrays.copyOf(png, png.length - 4))).contains("truncated or corrupt PNG"));
        byte[] longer = Arrays.copyOf(png, png.length + 50); // bytes after IEND are ignored, as by PIL and libpng
        assertEquals(150, ImageLoader.load(write("trailing.png", longer)).width());
    }

    @Test
    void randomBytesTextEmptyDirectoryMissing() throws IOException {
        byte[] noise = new byte[5000];
        new Random(1).nextBytes(noise);
        refused(write("noise.jpg", noise));
        refused(write("noise.bin", noise));
        refused(write("notes.png", "just some text, not a picture\n".getBytes(StandardCharsets.UTF_8)));
        assertTrue(refused(write("empty.png", new byte[0])).contains("empty"));
        Path sub = Files.createDirectory(dir.resolve("a-directory.jpg"));
        assertTrue(refused(sub).contains("directory"));
        assertTrue(refused(dir.resolve("missing.png")).contains("no such file"));
    }

    /** A PNG header claiming 20000x20000 is refused from the header, before OpenCV allocates 1.2 GB. */
    @Test
    void hugeImageRefusedFromItsHeader() throws IOException {
        String m = refused(write("huge.png", pngHeaderOnly(20_000, 20_000)));
        assertTrue(m.contains("megapixels"), m);
        assertTrue(m.contains("20000x20000"), m);
        assertArrayEqualsLong(new long[] {20_000, 20_000}, ImageLoader.headerSize(pngHeaderOnly(20_000, 20_000)));
    }

    /** The pre-decode size check covers PNG and JPEG (CMYK too) and agrees with the decoder. */
    @Test
    void headerSizeAgreesWithTheDecoder() throws IOException {
        for (String f : new String[] {"dec_rgb.png", "dec_palette.png", "dec_gray16.png", "dec_1bit.png", "dec_photo.jpg",
                "dec_cmyk.jpg", "dec_exif6.jpg", "rs_tall_src.png"}) {
            LoadedImage img = ImageLoader.load(Goldens.path(f));
            assertArrayEqualsLong(new long[] {img.width(), img.height()}, ImageLoader.headerSize(Files.readAllBytes(Goldens.path(f))));
        }
        byte[] noise = new byte[100];
        new Random(2).nextBytes(noise);
        noise[0] = 0x11;
        assertThrows(ImageException.class, () -> ImageLoader.headerSize(noise));
    }

    @Test
    void pixelLimitIsAParameter() {
        Path p = Goldens.path("dec_rgb.png");                     // 48 x 32 = 1536 pixels
        assertEquals(48, ImageLoader.load(p, 1536).width());
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.load(p, 1535));
        assertTrue(e.getMessage().contains("48x32"), e.getMessage());
    }

    @Test
    void messagesEscapeControlCharactersInNames() throws IOException {
        Path p = write("bad\u0007name.png", new byte[] {1, 2, 3});
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.load(p));
        assertFalse(e.getMessage().contains("\u0007"));
        assertTrue(e.getMessage().contains("\\u0007"), e.getMessage());
    }

    static void assertArrayEqualsLong(long[] a, long[] b) {
        assertTrue(Arrays.equals(a, b), Arrays.toString(a) + " vs " + Arrays.toString(b));
    }

    /** Signature + a valid IHDR (8-bit RGB) + an IDAT of a few bytes + IEND. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
