package g2m.image;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.opencv.opencv_core.Mat;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

import static org.bytedeco.opencv.global.opencv_core.CV_16U;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_UNCHANGED;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

/**
 * Reads a picture file into 8-bit RGB the way the reference's {@code PIL.Image.open(f).convert('RGB')}
 * does, decoding with OpenCV ({@code imdecode}, {@code IMREAD_UNCHANGED}):
 * <ul>
 * <li>grayscale: the gray value replicated to R, G and B; 1-, 2- and 4-bit gray scaled to 0–255;</li>
 * <li>RGBA and gray+alpha: alpha dropped, no compositing over a background (as PIL does);</li>
 * <li>palette: looked up; a tRNS transparency is ignored (as PIL's convert('RGB') does);</li>
 * <li>16 bits per sample: the high byte, {@code v >> 8}. PIL does exactly this for 16-bit RGB and
 *     RGBA PNGs; for 16-bit <em>grayscale</em> PIL (mode I) clips at 255 instead, turning nearly
 *     every pixel white, a quirk not copied;</li>
 * <li>CMYK JPEG: OpenCV's conversion (libjpeg's Adobe-inverted CMYK to BGR); it differs from PIL's
 *     by at most 2 levels (measured, tools/reference/image_reference.py);</li>
 * <li>EXIF orientation is ignored, as {@code Image.open} ignores it;</li>
 * <li>a multi-frame file (GIF, TIFF) gives its first frame.</li>
 * </ul>
 * Formats: PNG, JPEG, GIF, BMP, WebP, TIFF and PNM, recognized by their content (the file name
 * does not matter). Their size is read from each format's own header ({@link ImageHeader}) and
 * checked against {@code maxPixels} before OpenCV sees a byte, so the limit bounds what the decoder
 * allocates (a GIF's logical screen, a TIFF's tiles); any other format OpenCV could decode (Radiance
 * HDR, OpenEXR, JPEG 2000, …) is refused by name. Also refused: float or signed samples, truncated
 * JPEGs (no end-of-image marker; PIL refuses them too unless LOAD_TRUNCATED_IMAGES) and PNGs, empty
 * files, directories and non-images. Every failure is an {@link ImageException} with one line naming
 * the file. Memory: the file's bytes (twice: here and OpenCV's copy), the decoded picture and the RGB
 * result; the conversion goes a row at a time. Decoder warnings (libjpeg "Corrupt JPEG data …",
 * libpng "iCCP …") go to stderr as OpenCV prints them.
 */
public final class ImageLoader {
    private ImageLoader() {}

    /**
     * Pictures over this many pixels are refused unless a caller asks for more: 50 megapixels
     * (8660x5773; a 48-megapixel phone photo fits). The maps job's peak memory for a picture at
     * the limit, with its full-size overlays, was measured at 0.72 GB (README).
     */
    public static final long DEFAULT_MAX_PIXELS = 50_000_000L;
    /** The most {@code maxPixels} can be: the RGB pixels of one picture must fit in one Java array. */
    public static final long MAX_PIXELS_CEILING = 700_000_000L;
    /** Files over this many bytes are refused before reading. */
    public static final long MAX_FILE_BYTES = 1L << 30;

    public static LoadedImage load(Path file) {
        return load(file, DEFAULT_MAX_PIXELS);
    }

    public static LoadedImage load(Path file, long maxPixels) {
        if (Files.isDirectory(file)) throw new ImageException(file + " is a directory, not an image");
        byte[] bytes;
        try {
            if (!Files.isRegularFile(file) && Files.exists(file)) throw new ImageException(file + " is not a regular file");
            long size = Files.size(file);
            if (size == 0) throw new ImageException(file + " is empty");
            if (size > MAX_FILE_BYTES) throw new ImageException(file + " is " + size + " bytes; images over " + MAX_FILE_BYTES + " bytes are refused");
            try (java.io.InputStream in = Files.newInputStream(file)) {     // a format we do not read: refused before reading it all
                ImageHeader.sniff(in.readNBytes(ImageHeader.SNIFF_BYTES), file.toString());
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new ImageException(file + ": permission denied");
        } catch (IOException e) {
            throw new ImageException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return decode(bytes, file, maxPixels);
    }

    /** Decodes an encoded picture held in memory; {@code name} only serves messages and {@link LoadedImage#source()}. */
    public static LoadedImage decode(byte[] bytes, Path name, long maxPixels) {
        String who = name == null ? "image" : name.toString();
        if (bytes.length == 0) throw new ImageException(who + " is empty");
        ImageHeader header = checkHeader(bytes, who, maxPixels);
        if (header.format().equals("JPEG") && !jpegHasEnd(bytes)) {
            throw new ImageException(who + " is a truncated or corrupt JPEG (no end-of-image marker)");
        }
        if (header.format().equals("PNG") && !pngHasEnd(bytes)) {
            throw new ImageException(who + " is a truncated or corrupt PNG (its chunks do not reach IEND)");
        }
        opencvDecodes.incrementAndGet();
        Mat buf = new Mat(1, bytes.length, CV_8UC1);
        Mat m = null;
        try {
            buf.data().put(bytes, 0, bytes.length);
            try {
                m = imdecode(buf, IMREAD_UNCHANGED);
            } catch (RuntimeException e) {        // a cv::Exception from a decoder or its size limit
                throw new ImageException(who + " cannot be decoded: " + firstLine(e.getMessage()), e);
            }
            buf.close();                          // the encoded copy is no longer needed
            if (m == null || m.empty() || m.cols() < 1 || m.rows() < 1) {
                throw new ImageException(who + " is not a readable image (corrupt " + header.format() + ")");
            }
            if ((long) m.cols() * m.rows() > maxPixels) {     // a backstop: the header said otherwise
                throw new ImageException(who + " decodes to " + ImageHeader.describe(m.cols(), m.rows()) + ", more than its header said");
            }
            return LoadedImage.wrap(name, m.cols(), m.rows(), toRgb(m, who));
        } finally {
            buf.close();
            if (m != null) m.close();
        }
    }

    /**
     * The format and size from the file's own header, refused (one line) when the format is not one
     * the engine reads or the picture, or a TIFF's tile, is over {@code maxPixels}; nothing is decoded.
     */
    static ImageHeader checkHeader(byte[] bytes, String who, long maxPixels) {
        ImageHeader h = ImageHeader.read(bytes, who);
        if (h.width() < 1 || h.height() < 1) {
            throw new ImageException(who + ": its " + h.format() + " header gives an empty size " + h.width() + "x" + h.height());
        }
        if (ImageHeader.pixels(h.width(), h.height()) > maxPixels) {
            throw new ImageException(who + ": its " + h.format() + " header gives " + ImageHeader.describe(h.width(), h.height())
                    + "; pictures over " + pixelsInWords(maxPixels) + " are refused (--max-pixels raises the limit)");
        }
        if (h.tilePixels() > maxPixels) {
            throw new ImageException(who + ": its TIFF header gives tiles of " + h.tilePixels() + " pixels; over "
                    + pixelsInWords(maxPixels) + " are refused (--max-pixels raises the limit)");
        }
        return h;
    }

    /** Width and height from the file's own header (see {@link ImageHeader}); an ImageException when the format is not one the engine reads. */
    static long[] headerSize(byte[] bytes) {
        ImageHeader h = ImageHeader.read(bytes, "image");
        return new long[] {h.width(), h.height()};
    }

    /** Pictures handed to OpenCV's decoder so far (tests check that refusals come before it). */
    static final java.util.concurrent.atomic.AtomicLong opencvDecodes = new java.util.concurrent.atomic.AtomicLong();

    /** Loads OpenCV's native libraries now, so that start-up, not the first picture, pays for it. */
    public static void loadNatives() {
        org.bytedeco.javacpp.Loader.load(org.bytedeco.opencv.global.opencv_imgcodecs.class);
    }

    /** "50.0 megapixels", or "100 pixels" below a tenth of a megapixel (which would print as 0.0). */
    private static String pixelsInWords(long pixels) {
        return pixels < 100_000 ? pixels + " pixels" : String.format(Locale.ROOT, "%.1f megapixels", pixels / 1e6);
    }

    /**
     * OpenCV's decoded Mat (BGR/BGRA/gray, 8 or 16 bits) as interleaved RGB bytes, converted a row at
     * a time (no second full-size copy of the decoded samples).
     */
    private static byte[] toRgb(Mat m, String who) {
        int ch = m.channels();
        int depth = m.depth();
        if (depth != CV_8U && depth != CV_16U) {
            throw new ImageException(who + " has " + depthName(depth) + " samples; only 8- and 16-bit unsigned images are supported");
        }
        if (ch < 1 || ch > 4) throw new ImageException(who + " has " + ch + " channels; 1 to 4 are supported");
        int w = m.cols(), h = m.rows();
        int rowLen = Math.multiplyExact(w, ch);
        byte[] rgb = new byte[Math.toIntExact(3L * w * h)];
        byte[] row = new byte[rowLen];
        short[] row16 = depth == CV_16U ? new short[rowLen] : null;
        for (int y = 0; y < h; y++) {
            if (row16 == null) {
                BytePointer p = m.ptr(y);
                p.capacity(rowLen);
                p.get(row);
            } else {
                ShortPointer p = new ShortPointer(m.ptr(y));
                p.capacity(rowLen);
                p.get(row16);
                for (int i = 0; i < rowLen; i++) row[i] = (byte) ((row16[i] & 0xFFFF) >>> 8);
            }
            int o = 3 * y * w;
            switch (ch) {
                case 1 -> {
                    for (int x = 0; x < w; x++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = row[x];
                }
                case 2 -> {                       // gray + alpha (OpenCV gives BGRA, but be safe)
                    for (int x = 0; x < w; x++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = row[2 * x];
                }
                default -> {                      // BGR or BGRA: reorder, drop alpha
                    for (int x = 0, p = 0; x < w; x++, p += ch, o += 3) {
                        rgb[o] = row[p + 2];
                        rgb[o + 1] = row[p + 1];
                        rgb[o + 2] = row[p];
                    }
                }
            }
        }
        return rgb;
    }

    private static String depthName(int depth) {
        return switch (depth) {
            case 1 -> "signed 8-bit";
            case 3 -> "signed 16-bit";
            case 4 -> "32-bit integer";
            case 5 -> "32-bit float";
            case 6 -> "64-bit float";
            case 7 -> "16-bit float";
            default -> "type-" + depth;
        };
    }

    private static String firstLine(String s) {
        if (s == null) return "decoder error";
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    // ------------------------------------------------------------ end-of-file checks (nothing decoded)

    static boolean isJpeg(byte[] b) {
        return b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF;
    }

    /**
     * Whether a JPEG stream has its end-of-image marker after the first scan: the marker segments
     * before the first SOS are walked by their lengths (so that an EXIF thumbnail's EOI does not
     * count), then the rest is searched for FF D9, which entropy-coded data cannot contain (0xFF is
     * stuffed as FF 00 there). libjpeg decodes a truncated file with only a warning, filling the rest
     * with gray, so OpenCV would hand back a damaged picture: this refuses it, like PIL.
     */
    static boolean jpegHasEnd(byte[] b) {
        int i = 2;
        while (i + 1 < b.length) {
            if ((b[i] & 0xFF) != 0xFF) return false;
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) {                 // fill byte
                i++;
                continue;
            }
            if (marker == 0xD9) return true;
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                i += 2;
                continue;
            }
            if (i + 3 >= b.length) return false;
            int len = ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
            if (len < 2) return false;
            i += 2 + len;
            if (marker == 0xDA) {
                for (int k = Math.max(i, 2); k + 1 < b.length; k++) {
                    if ((b[k] & 0xFF) == 0xFF && (b[k + 1] & 0xFF) == 0xD9) return true;
                }
                return false;
            }
        }
        return false;
    }

    static boolean isPng(byte[] b) {
        return b.length >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G';
    }

    /**
     * Whether a PNG's chunks, walked by their lengths from the signature, reach a whole IEND chunk.
     * libpng reads a truncated file with only a warning (printed natively by OpenCV, past our one-line
     * errors) and PIL refuses it, so the engine refuses it before decoding.
     */
    static boolean pngHasEnd(byte[] b) {
        long i = 8;
        while (i + 12 <= b.length) {
            int at = (int) i;
            long len = ((b[at] & 0xFFL) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
            boolean iend = b[at + 4] == 'I' && b[at + 5] == 'E' && b[at + 6] == 'N' && b[at + 7] == 'D';
            i += 12 + len;                        // length, type, data, CRC
            if (iend) return i <= b.length;
        }
        return false;
    }
}
