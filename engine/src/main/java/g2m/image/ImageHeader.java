package g2m.image;

import java.util.Locale;

/**
 * A picture's format and size as its own header states them, read from the bytes before any
 * decoder runs, so that the pixel limit holds for what the decoder would allocate: the format is
 * sniffed from the content (never the file name), and only formats whose header this class reads
 * are let through to OpenCV. For GIF that is the logical screen (OpenCV allocates the screen, not
 * the first frame); for TIFF also the tile size (libtiff's tile buffer) and the sample type.
 * Everything else OpenCV could decode (Radiance HDR, OpenEXR, JPEG 2000, PFM, PAM, Sun raster,
 * AVIF, …) is refused by name.
 *
 * @param format      the format's name, for messages
 * @param width       the width the decoder allocates
 * @param height      the height the decoder allocates
 * @param tilePixels  pixels of one TIFF tile (0 for other formats and untiled TIFFs)
 */
record ImageHeader(String format, long width, long height, long tilePixels) {
    static final String SUPPORTED = "PNG, JPEG, GIF, BMP, WebP, TIFF and PNM (PBM/PGM/PPM)";

    /** Bytes {@link #sniff} needs from the start of a file. */
    static final int SNIFF_BYTES = 12;

    /**
     * The supported format the file's first bytes announce, or an {@link ImageException} naming
     * the format (or saying it is none the engine reads): enough to refuse a file before reading all of it.
     */
    static String sniff(byte[] b, String who) {
        Bytes in = new Bytes(b, who);
        if (in.startsWith(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n')) return "PNG";
        if (in.startsWith(0xFF, 0xD8, 0xFF)) return "JPEG";
        if (in.startsWith('G', 'I', 'F', '8', '7', 'a') || in.startsWith('G', 'I', 'F', '8', '9', 'a')) return "GIF";
        if (in.startsWith('B', 'M')) return "BMP";
        if (in.startsWith('R', 'I', 'F', 'F') && in.has(12) && in.ascii(8, 4).equals("WEBP")) return "WebP";
        if (in.startsWith('I', 'I', 0x2A, 0) || in.startsWith('M', 'M', 0, 0x2A)) return "TIFF";
        if (in.has(3) && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && isSpace(b[2])) return "PNM";
        String other = otherFormat(in);
        throw new ImageException(who + (other != null ? " is in " + other + " format" : " is not in a picture format the engine reads")
                + "; supported: " + SUPPORTED + " (recognized by content, not by file name)");
    }

    /** The header of {@code b}; an {@link ImageException} naming {@code who} for an unsupported or malformed one. */
    static ImageHeader read(byte[] b, String who) {
        Bytes in = new Bytes(b, who);
        return switch (sniff(b, who)) {
            case "PNG" -> png(in);
            case "JPEG" -> jpeg(in);
            case "GIF" -> gif(in);
            case "BMP" -> bmp(in);
            case "WebP" -> webp(in);
            case "TIFF" -> tiff(in);
            default -> pnm(in);
        };
    }

    /** Names formats OpenCV (or a user) might expect to work, for the refusal message; null when unknown. */
    private static String otherFormat(Bytes in) {
        if (in.startsWith('#', '?', 'R', 'A', 'D', 'I', 'A', 'N', 'C', 'E') || in.startsWith('#', '?', 'R', 'G', 'B', 'E')) return "Radiance HDR";
        if (in.startsWith(0x76, 0x2F, 0x31, 0x01)) return "OpenEXR";
        if (in.startsWith(0, 0, 0, 0x0C, 'j', 'P', ' ', ' ') || in.startsWith(0xFF, 0x4F, 0xFF, 0x51)) return "JPEG 2000";
        if (in.startsWith(0, 0, 0, 0x0C, 'J', 'X', 'L', ' ') || in.startsWith(0xFF, 0x0A)) return "JPEG XL";
        if (in.startsWith('I', 'I', 0x2B, 0) || in.startsWith('M', 'M', 0, 0x2B)) return "BigTIFF";
        if (in.startsWith(0x59, 0xA6, 0x6A, 0x95)) return "Sun raster";
        if (in.startsWith('P', 'F') || in.startsWith('P', 'f')) return "PFM (floating-point)";
        if (in.startsWith('P', '7')) return "PAM";
        if (in.has(12) && in.ascii(4, 4).equals("ftyp")) {
            String brand = in.ascii(8, 4);
            if (brand.startsWith("avi")) return "AVIF";
            if (brand.startsWith("hei") || brand.startsWith("mif") || brand.startsWith("hev")) return "HEIF";
        }
        if (in.startsWith('B', 'A') || in.startsWith('C', 'I') || in.startsWith('I', 'C') || in.startsWith('P', 'T')) return "OS/2 bitmap array";
        return null;
    }

    // ------------------------------------------------------------------------------ the formats

    /** IHDR, which the PNG standard puts first: width and height as big-endian u32. */
    private static ImageHeader png(Bytes in) {
        if (!in.has(24) || in.be32(8) != 13 || !in.ascii(12, 4).equals("IHDR")) throw in.corrupt("PNG", "its first chunk is not IHDR");
        return new ImageHeader("PNG", in.be32(16), in.be32(20), 0);
    }

    /** The first start-of-frame segment, walking the marker segments by their lengths. */
    private static ImageHeader jpeg(Bytes in) {
        int i = 2;
        while (true) {
            if (!in.has(i + 2)) throw in.corrupt("JPEG", "no frame header before the end of the file");
            if (in.u8(i) != 0xFF) throw in.corrupt("JPEG", "a marker segment is out of place");
            int m = in.u8(i + 1);
            if (m == 0xFF) {                      // fill byte
                i++;
                continue;
            }
            if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { // stand-alone markers
                i += 2;
                continue;
            }
            if (m == 0xD9 || m == 0xDA) throw in.corrupt("JPEG", "no frame header before the scan");
            if (!in.has(i + 4)) throw in.corrupt("JPEG", "no frame header before the end of the file");
            int len = in.be16(i + 2);
            if (len < 2) throw in.corrupt("JPEG", "a marker segment has length " + len);
            boolean sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof) {
                if (len < 8 || !in.has(i + 9)) throw in.corrupt("JPEG", "its frame header is truncated");
                int height = in.be16(i + 5);
                int width = in.be16(i + 7);
                if (height == 0) throw new ImageException(in.who + " is a JPEG whose height is given later (a DNL marker), which is not supported");
                return new ImageHeader("JPEG", width, height, 0);
            }
            i += 2 + len;
        }
    }

    /**
     * The logical screen (what OpenCV's decoder allocates) and the first frame's extent,
     * whichever is larger along each axis.
     */
    private static ImageHeader gif(Bytes in) {
        if (!in.has(13)) throw in.corrupt("GIF", "its screen descriptor is truncated");
        long w = in.le16(6), h = in.le16(8);
        int flags = in.u8(10);
        long i = 13 + ((flags & 0x80) != 0 ? 3L << ((flags & 7) + 1) : 0);
        while (true) {
            if (!in.has(i + 1)) throw in.corrupt("GIF", "no image before the end of the file");
            int block = in.u8(i);
            if (block == 0x2C) {                  // image descriptor: left, top, width, height
                if (!in.has(i + 10)) throw in.corrupt("GIF", "its image descriptor is truncated");
                long right = in.le16(i + 1) + in.le16(i + 5), bottom = in.le16(i + 3) + in.le16(i + 7);
                return new ImageHeader("GIF", Math.max(w, right), Math.max(h, bottom), 0);
            }
            if (block != 0x21) throw in.corrupt("GIF", block == 0x3B ? "it holds no image" : "an unknown block type " + block);
            i += 2;                               // extension introducer and label, then sub-blocks
            while (true) {
                if (!in.has(i + 1)) throw in.corrupt("GIF", "an extension runs past the end of the file");
                int n = in.u8(i);
                i += 1 + n;
                if (n == 0) break;
            }
        }
    }

    /** BITMAPCOREHEADER (16-bit sizes) or any later info header (signed 32-bit; negative height = top-down). */
    private static ImageHeader bmp(Bytes in) {
        if (!in.has(26)) throw in.corrupt("BMP", "its header is truncated");
        long size = in.le32(14);
        if (size == 12) return new ImageHeader("BMP", in.le16(18), in.le16(20), 0);
        if (size < 16 || !in.has(26)) throw in.corrupt("BMP", "its info header has size " + size);
        long w = (int) in.le32(18);
        long h = Math.abs((long) (int) in.le32(22));
        return new ImageHeader("BMP", w, h, 0);
    }

    /** The first chunk: VP8X's canvas, VP8L's 14-bit sizes, or VP8's key-frame header. */
    private static ImageHeader webp(Bytes in) {
        if (!in.has(30)) throw in.corrupt("WebP", "its header is truncated");
        String chunk = in.ascii(12, 4);
        switch (chunk) {
            case "VP8X" -> {
                return new ImageHeader("WebP", in.le24(24) + 1, in.le24(27) + 1, 0);
            }
            case "VP8L" -> {
                if (in.u8(20) != 0x2F) throw in.corrupt("WebP", "its lossless signature is missing");
                long bits = in.le32(21);
                return new ImageHeader("WebP", (bits & 0x3FFF) + 1, ((bits >>> 14) & 0x3FFF) + 1, 0);
            }
            case "VP8 " -> {
                if (in.u8(23) != 0x9D || in.u8(24) != 0x01 || in.u8(25) != 0x2A) throw in.corrupt("WebP", "its key-frame start code is missing");
                return new ImageHeader("WebP", in.le16(26) & 0x3FFF, in.le16(28) & 0x3FFF, 0);
            }
            default -> throw in.corrupt("WebP", "its first chunk is '" + chunk + "', not VP8, VP8L or VP8X");
        }
    }

    private static final int TIFF_WIDTH = 256, TIFF_LENGTH = 257, TIFF_BITS = 258, TIFF_SAMPLES = 277,
            TIFF_TILE_WIDTH = 322, TIFF_TILE_LENGTH = 323, TIFF_SAMPLE_FORMAT = 339;

    /**
     * The first image file directory (the page OpenCV decodes): width, length, tile size, and the
     * sample type, refused here when it is not 1–16-bit unsigned (floats and wide integers would be
     * refused after decoding anyway, at up to 32 bytes a pixel).
     */
    private static ImageHeader tiff(Bytes in) {
        boolean le = in.u8(0) == 'I';
        if (!in.has(8)) throw in.corrupt("TIFF", "its header is truncated");
        long ifd = in.u32(4, le);
        if (!in.has(ifd + 2)) throw in.corrupt("TIFF", "its first directory is past the end of the file");
        int count = in.u16(ifd, le);
        if (!in.has(ifd + 2 + 12L * count)) throw in.corrupt("TIFF", "its first directory is truncated");
        long w = -1, h = -1, tw = 0, th = 0, bits = 1, format = 1;
        for (int k = 0; k < count; k++) {
            long e = ifd + 2 + 12L * k;
            int tag = in.u16(e, le);
            int type = in.u16(e + 2, le);
            long n = in.u32(e + 4, le);
            if (n < 1 || (type != 3 && type != 4)) continue;      // the tags read here are SHORT or LONG
            long at = e + 8;
            if (n * (type == 3 ? 2 : 4) > 4) at = in.u32(e + 8, le); // several values: an offset to them
            if (!in.has(at + (type == 3 ? 2 : 4))) throw in.corrupt("TIFF", "tag " + tag + " points past the end of the file");
            long v = type == 3 ? in.u16(at, le) : in.u32(at, le);
            switch (tag) {
                case TIFF_WIDTH -> w = v;
                case TIFF_LENGTH -> h = v;
                case TIFF_TILE_WIDTH -> tw = v;
                case TIFF_TILE_LENGTH -> th = v;
                case TIFF_BITS -> bits = v;
                case TIFF_SAMPLE_FORMAT -> format = v;
                default -> { }
            }
        }
        if (w < 0 || h < 0) throw in.corrupt("TIFF", "its first directory gives no width or length");
        if (format != 1 || (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)) {
            String kind = format == 3 ? bits + "-bit floating-point" : format == 2 ? bits + "-bit signed" : bits + "-bit";
            throw new ImageException(in.who + " is a TIFF with " + kind + " samples; only 1- to 16-bit unsigned samples are supported");
        }
        return new ImageHeader("TIFF", w, h, pixels(tw, th));
    }

    /** P1–P6: width and height as decimal tokens after the magic, with '#' comments allowed between tokens. */
    private static ImageHeader pnm(Bytes in) {
        int[] at = {2};
        long w = pnmNumber(in, at);
        long h = pnmNumber(in, at);
        return new ImageHeader("PNM", w, h, 0);
    }

    private static long pnmNumber(Bytes in, int[] at) {
        int i = at[0];
        while (true) {
            if (!in.has(i + 1)) throw in.corrupt("PNM", "its header is truncated");
            byte c = in.b[i];
            if (c == '#') {
                while (in.has(i + 1) && in.b[i] != '\n' && in.b[i] != '\r') i++;
            } else if (isSpace(c)) {
                i++;
            } else {
                break;
            }
        }
        long v = 0;
        int start = i;
        while (in.has(i + 1) && in.b[i] >= '0' && in.b[i] <= '9') {
            if (i - start >= 10) throw in.corrupt("PNM", "a size in its header has more than 10 digits");
            v = v * 10 + (in.b[i] - '0');
            i++;
        }
        if (i == start) throw in.corrupt("PNM", "its header holds no size");
        at[0] = i;
        return v;
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0B || c == 0x0C;
    }

    /** Bounds-checked little- and big-endian reads over the file's bytes. */
    private record Bytes(byte[] b, String who) {
        boolean has(long n) {
            return n <= b.length;
        }

        boolean startsWith(int... sig) {
            if (b.length < sig.length) return false;
            for (int i = 0; i < sig.length; i++) if ((b[i] & 0xFF) != (sig[i] & 0xFF)) return false;
            return true;
        }

        int u8(long i) {
            return b[(int) i] & 0xFF;
        }

        int le16(long i) {
            return u8(i) | u8(i + 1) << 8;
        }

        int be16(long i) {
            return u8(i) << 8 | u8(i + 1);
        }

        long le24(long i) {
            return u8(i) | u8(i + 1) << 8 | (long) u8(i + 2) << 16;
        }

        long le32(long i) {
            return le24(i) | (long) u8(i + 3) << 24;
        }

        long be32(long i) {
            return (long) u8(i) << 24 | u8(i + 1) << 16 | u8(i + 2) << 8 | u8(i + 3);
        }

        int u16(long i, boolean le) {
            return le ? le16(i) : be16(i);
        }

        long u32(long i, boolean le) {
            return le ? le32(i) : be32(i);
        }

        String ascii(int from, int n) {
            StringBuilder s = new StringBuilder(n);
            for (int i = from; i < from + n && i < b.length; i++) {
                char c = (char) (b[i] & 0xFF);
                s.append(c >= 0x20 && c < 0x7F ? c : '?');
            }
            return s.toString();
        }

        ImageException corrupt(String format, String why) {
            return new ImageException(who + " is a truncated or corrupt " + format + " (" + why + ")");
        }
    }

    /**
     * w·h for sizes read from a header, saturating at Long.MAX_VALUE: two 32-bit (or, for PNM,
     * longer) sides can overflow a long, which would let a huge declared size pass a limit check.
     */
    static long pixels(long w, long h) {
        if (w <= 0 || h <= 0) return 0;
        return Math.multiplyHigh(w, h) != 0 || w * h < 0 ? Long.MAX_VALUE : w * h;
    }

    /** "W x H pixels (M megapixels)" for messages. */
    static String describe(long w, long h) {
        return w + "x" + h + " pixels (" + String.format(Locale.ROOT, "%.1f", (double) w * h / 1e6) + " megapixels)";
    }
}
