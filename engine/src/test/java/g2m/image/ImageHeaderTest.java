package g2m.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pixel limit holds for what each decoder would allocate, read from each format's own
 * header before OpenCV sees the file: hostile headers made here (a 43-byte GIF with a
 * 32767x32767 screen, Radiance HDR named .png, a 16383² WebP, a 100-megapixel PNG IHDR, TIFF
 * tiles, …) are refused in one line and never reach the decoder; real files of every supported
 * format (written here by OpenCV and javax.imageio) decode, and their header size is the decoded one.
 */
class ImageHeaderTest {
    @TempDir
    Path dir;

    /** Refused with one line naming the file, before OpenCV's decoder ran. */
    String refusedBeforeDecoding(String name, byte[] content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content);
        long decodes = ImageLoader.opencvDecodes.get();
        String m = ImageBadFilesTest.refused(p);
        assertEquals(decodes, ImageLoader.opencvDecodes.get(), "refused before OpenCV decoded anything: " + m);
        return m;
    }

    @Test
    void gifWithAHugeLogicalScreenAndATinyFrame() throws IOException {
        byte[] gif = gif(32767, 32767, 1, 1);
        assertTrue(gif.length < 50, "a few bytes: " + gif.length);
        String m = refusedBeforeDecoding("screen.gif", gif);
        assertTrue(m.contains("GIF header gives 32767x32767 pixels"), m);
        // the frame's extent counts too, where it reaches past the screen
        assertTrue(refusedBeforeDecoding("frame.gif", gif(1, 1, 20000, 20000)).contains("20000x20000"));
        assertArrayEquals(new long[] {40, 30}, ImageLoader.headerSize(gif(40, 30, 10, 10)));
    }

    @Test
    void radianceHdrNamedPngIsRefusedByName() throws IOException {
        byte[] hdr = concat("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n".getBytes(StandardCharsets.US_ASCII), new byte[4096]);
        String m = refusedBeforeDecoding("photo.png", hdr);
        assertTrue(m.contains("is in Radiance HDR format; supported: PNG, JPEG"), m);
    }

    /** A 64 MB Radiance HDR is refused from its first bytes: the thread allocates far less than the file's size. */
    @Test
    void anUnsupportedFormatIsRefusedBeforeTheFileIsRead() throws IOException {
        Path p = dir.resolve("big-hdr.png");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.write("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 32767 +X 32767\n".getBytes(StandardCharsets.US_ASCII));
            f.setLength(64L << 20);
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        String m = ImageBadFilesTest.refused(p);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(m.contains("Radiance HDR"), m);
        assertTrue(allocated < (8L << 20), "allocated " + allocated + " bytes for a 64 MB file it refuses");
    }

    @Test
    void otherFormatsOpenCvCouldDecodeAreRefusedByName() throws IOException {
        Object[][] cases = {
                {new byte[] {0x76, 0x2F, 0x31, 0x01, 2, 0, 0, 0}, "OpenEXR"},
                {new byte[] {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, (byte) 0x87, 0x0A}, "JPEG 2000"},
                {new byte[] {(byte) 0xFF, 0x4F, (byte) 0xFF, 0x51, 0, 0x2F}, "JPEG 2000"},
                {new byte[] {'I', 'I', 0x2B, 0, 8, 0, 0, 0}, "BigTIFF"},
                {new byte[] {0x59, (byte) 0xA6, 0x6A, (byte) 0x95, 0, 0, 0x7F, (byte) 0xFF}, "Sun raster"},
                {"PF\n30000 30000\n-1.0\n".getBytes(StandardCharsets.US_ASCII), "PFM"},
                {"P7\nWIDTH 30000\nHEIGHT 30000\n".getBytes(StandardCharsets.US_ASCII), "PAM"},
                {new byte[] {0, 0, 0, 0x1C, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f', 0, 0}, "AVIF"},
        };
        for (Object[] c : cases) {
            String m = refusedBeforeDecoding("x.jpg", (byte[]) c[0]);
            assertTrue(m.contains("is in " + c[1]), m);
        }
        byte[] noise = new byte[5000];
        new Random(3).nextBytes(noise);
        noise[0] = 0x11;
        assertTrue(refusedBeforeDecoding("noise.png", noise).contains("not in a picture format the engine reads"));
    }

    @Test
    void webpHeadersOfEveryKind() throws IOException {
        byte[] lossless = riff("VP8L", le(ByteBuffer.allocate(5).put((byte) 0x2F)).putInt(16382 | 16382 << 14).array());
        assertTrue(refusedBeforeDecoding("big.webp", lossless).contains("WebP header gives 16383x16383 pixels"));
        ByteBuffer x = le(ByteBuffer.allocate(10)).putInt(0);
        x.put((byte) 0xFF).put((byte) 0xFF).put((byte) 0);                      // canvas width - 1 = 65535
        x.put((byte) 0xFF).put((byte) 0x3F).put((byte) 0);                      // height - 1 = 16383
        assertTrue(refusedBeforeDecoding("canvas.webp", riff("VP8X", x.array())).contains("65536x16384"));
        ByteBuffer vp8 = le(ByteBuffer.allocate(10)).put(new byte[] {0, 0, 0, (byte) 0x9D, 0x01, 0x2A});
        vp8.putShort((short) 16383).putShort((short) 16383);
        assertTrue(refusedBeforeDecoding("lossy.webp", riff("VP8 ", vp8.array())).contains("16383x16383"));
    }

    @Test
    void pngTiffBmpJpegAndPnmHeadersOverTheLimit() throws IOException {
        // the 100-megapixel PNG: over the default 50 megapixels
        assertTrue(refusedBeforeDecoding("huge.png", ImageBadFilesTest.pngHeaderOnly(10_000, 10_000))
                .contains("PNG header gives 10000x10000 pixels (100.0 megapixels); pictures over 50.0 megapixels are refused"));
        assertTrue(refusedBeforeDecoding("huge.tif", tiff(40_000, 40_000, 0, 0, 8, 1)).contains("TIFF header gives 40000x40000"));
        // a 1x1 TIFF whose tiles are 16384x16384: libtiff's tile buffer would be a gigabyte
        assertTrue(refusedBeforeDecoding("tiles.tif", tiff(1, 1, 16384, 16384, 8, 1)).contains("tiles of 268435456 pixels"));
        assertTrue(refusedBeforeDecoding("float.tif", tiff(4, 4, 0, 0, 32, 3)).contains("32-bit floating-point samples"));
        assertTrue(refusedBeforeDecoding("signed.tif", tiff(4, 4, 0, 0, 16, 2)).contains("16-bit signed samples"));
        ByteBuffer bmp = le(ByteBuffer.allocate(54)).put((byte) 'B').put((byte) 'M').putInt(54).putInt(0).putInt(54).putInt(40)
                .putInt(30_000).putInt(-30_000).putShort((short) 1).putShort((short) 24);
        assertTrue(refusedBeforeDecoding("huge.bmp", bmp.array()).contains("BMP header gives 30000x30000"));
        byte[] jpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 4, 0, 0, (byte) 0xFF, (byte) 0xC2, 0, 11, 8,
                (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 1, 0x11, 0, (byte) 0xFF, (byte) 0xD9};
        assertTrue(refusedBeforeDecoding("huge.jpg", jpeg).contains("JPEG header gives 65535x65535"));
        byte[] pnm = "P6\n# a comment\n30000 30000\n255\n".getBytes(StandardCharsets.US_ASCII);
        assertTrue(refusedBeforeDecoding("huge.ppm", concat(pnm, new byte[64])).contains("PNM header gives 30000x30000"));
        assertTrue(refusedBeforeDecoding("cut.ppm", "P6\n300".getBytes(StandardCharsets.US_ASCII)).contains("truncated or corrupt PNM"));
    }

    /** Sides whose product overflows a long (or wraps to 0 or below) are still over the limit, never passed to the decoder. */
    @Test
    void sizesWhoseProductOverflowsAreRefused() throws IOException {
        for (String dims : new String[] {"4294967296 4294967296", "8589934592 2147483648", "9999999999 9999999999"}) {
            byte[] pnm = ("P6\n" + dims + "\n255\n").getBytes(StandardCharsets.US_ASCII);
            assertTrue(refusedBeforeDecoding("wrap.ppm", concat(pnm, new byte[64])).contains("pictures over 50.0 megapixels are refused"), dims);
        }
        // a 1x1 TIFF whose tile sides are 2^32 - 1 (written as -1, read unsigned): the tile's pixel count saturates instead of wrapping
        assertTrue(refusedBeforeDecoding("wraptiles.tif", tiff(1, 1, -1, -1, 8, 1)).contains("tiles of"));
        assertEquals(Long.MAX_VALUE, ImageHeader.pixels(1L << 32, 1L << 32));
        assertEquals(Long.MAX_VALUE, ImageHeader.pixels(3_037_000_500L, 3_037_000_500L));
        assertEquals(6, ImageHeader.pixels(2, 3));
    }

    @Test
    void theLimitIsTheCallersAndTheHeaderIsCheckedAgainstIt() throws IOException {
        // a real 10x10 GIF whose logical screen says 300x200
        byte[] small = imageIo(new LoadedImage(null, 10, 10, new byte[300]), "gif");
        ByteBuffer.wrap(small).order(ByteOrder.LITTLE_ENDIAN).putShort(6, (short) 300).putShort(8, (short) 200);
        Path p = dir.resolve("small.gif");
        Files.write(p, small);
        ImageException e = assertThrows(ImageException.class, () -> ImageLoader.load(p, 59_999));
        assertTrue(e.getMessage().contains("300x200"), e.getMessage());
        long decodes = ImageLoader.opencvDecodes.get();
        assertEquals(300, ImageLoader.load(p, 60_000).width());                 // the screen, as OpenCV decodes it
        assertEquals(decodes + 1, ImageLoader.opencvDecodes.get());
    }

    /** Real files of each format: decoded, and the header's size is the decoder's. */
    @ParameterizedTest
    @ValueSource(strings = {".bmp", ".tif", ".webp", ".ppm", ".pgm", ".pbm", ".gif", ".png", ".jpg"})
    void everySupportedFormatDecodesWithItsHeaderSize(String ext) throws IOException {
        int w = 37, h = 23;
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (i * 7 % 256 > 127 ? 255 : 0);   // two levels: GIF keeps them
        if (ext.equals(".pgm") || ext.equals(".pbm")) {                                        // gray: R = G = B
            for (int i = 0; i < w * h; i++) rgb[3 * i + 1] = rgb[3 * i + 2] = rgb[3 * i];
        }
        LoadedImage src = new LoadedImage(null, w, h, rgb);
        byte[] file = switch (ext) {
            case ".gif" -> imageIo(src, "gif");
            case ".pgm", ".pbm" -> grayPnm(src, ext.equals(".pbm"));
            default -> openCv(src, ext);
        };
        assertArrayEquals(new long[] {w, h}, ImageLoader.headerSize(file), ext);
        LoadedImage back = ImageLoader.decode(file, Path.of("x" + ext), ImageLoader.DEFAULT_MAX_PIXELS);
        assertEquals(w, back.width(), ext);
        assertEquals(h, back.height(), ext);
        if (!ext.equals(".jpg") && !ext.equals(".webp")) assertArrayEquals(rgb, back.rgb(), ext + " is lossless");
    }

    /** Binary PGM (P5) or PBM (P4, 1 = black) of a gray picture whose levels are 0 and 255. */
    static byte[] grayPnm(LoadedImage src, boolean bits) {
        int w = src.width(), h = src.height();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(((bits ? "P4\n# two levels\n" : "P5\n") + w + " " + h + "\n" + (bits ? "" : "255\n")).getBytes(StandardCharsets.US_ASCII));
        for (int y = 0; y < h; y++) {
            if (!bits) {
                for (int x = 0; x < w; x++) out.write(src.sample(x, y, 0));
                continue;
            }
            for (int x0 = 0; x0 < w; x0 += 8) {
                int v = 0;
                for (int k = 0; k < 8; k++) {
                    boolean black = x0 + k < w && src.sample(x0 + k, y, 0) == 0;
                    v |= (black ? 1 : 0) << (7 - k);
                }
                out.write(v);
            }
        }
        return out.toByteArray();
    }

    // ------------------------------------------------------------------ hostile files, made here

    /** A GIF89a: logical screen sw x sh, one fw x fh frame at (0, 0) with a 2-entry global table, 1 pixel of LZW data. */
    static byte[] gif(int sw, int sh, int fw, int fh) {
        ByteBuffer b = le(ByteBuffer.allocate(64));
        b.put("GIF89a".getBytes(StandardCharsets.US_ASCII)).putShort((short) sw).putShort((short) sh).put((byte) 0x80).put((byte) 0).put((byte) 0);
        b.put(new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});      // global colour table: 2 entries
        b.put((byte) 0x21).put((byte) 0xF9).put((byte) 4).put(new byte[4]).put((byte) 0);   // a graphic control extension
        b.put((byte) 0x2C).putShort((short) 0).putShort((short) 0).putShort((short) fw).putShort((short) fh).put((byte) 0);
        b.put((byte) 2).put((byte) 2).put((byte) 0x4C).put((byte) 0x01).put((byte) 0).put((byte) 0x3B);
        return Arrays.copyOf(b.array(), b.position());
    }

    static byte[] riff(String chunk, byte[] payload) {
        ByteBuffer b = le(ByteBuffer.allocate(20 + payload.length + 64));
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(12 + payload.length + 64).put("WEBP".getBytes(StandardCharsets.US_ASCII));
        b.put(chunk.getBytes(StandardCharsets.US_ASCII)).putInt(payload.length + 64).put(payload);
        return b.array();
    }

    /** A little-endian TIFF header and first directory: width, length, bits per sample, sample format, and tiles if tw != 0 (as unsigned 32-bit values). */
    static byte[] tiff(int w, int h, int tw, int th, int bits, int format) {
        int entries = tw != 0 ? 6 : 4;
        ByteBuffer b = le(ByteBuffer.allocate(8 + 2 + 12 * entries + 4 + 64));
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) entries);
        entry(b, 256, 4, w);
        entry(b, 257, 4, h);
        entry(b, 258, 3, bits);
        if (tw != 0) {
            entry(b, 322, 4, tw);
            entry(b, 323, 4, th);
        }
        entry(b, 339, 3, format);
        b.putInt(0);
        return b.array();
    }

    private static void entry(ByteBuffer b, int tag, int type, int value) {
        b.putShort((short) tag).putShort((short) type).putInt(1);
        if (type == 3) b.putShort((short) value).putShort((short) 0);
        else b.putInt(value);
    }

    static ByteBuffer le(ByteBuffer b) {
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] openCv(LoadedImage src, String ext) {
        return TestPictures.encode(src, ext);
    }

    static byte[] imageIo(LoadedImage src, String format) throws IOException {
        BufferedImage bi = new BufferedImage(src.width(), src.height(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < src.height(); y++) {
            for (int x = 0; x < src.width(); x++) {
                bi.setRGB(x, y, src.sample(x, y, 0) << 16 | src.sample(x, y, 1) << 8 | src.sample(x, y, 2));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(bi, format, out), "javax.imageio writes " + format);
        return out.toByteArray();
    }
}
