package g2m.image;

import java.nio.file.Path;
import java.util.Objects;

/**
 * An 8-bit RGB picture: {@code width × height} pixels, row-major, 3 interleaved bytes per pixel
 * in R, G, B order (what PIL's {@code Image.convert('RGB')} holds), and the file it came from
 * (kept through resizing, for messages and output names; null for a picture made in memory).
 * Immutable: the pixels are copied in and out.
 */
public final class LoadedImage {
    private final Path source;
    private final int width;
    private final int height;
    private final byte[] rgb;

    public LoadedImage(Path source, int width, int height, byte[] rgb) {
        this(source, width, height, Objects.requireNonNull(rgb, "rgb").clone(), true);
    }

    private LoadedImage(Path source, int width, int height, byte[] rgb, boolean owned) {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException(width + "x" + height + " RGB needs " + (long) width * height * 3 + " bytes, got " + rgb.length);
        }
        this.source = source;
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** Takes ownership of {@code rgb} (no copy): for this package's decoder and resizer. */
    static LoadedImage wrap(Path source, int width, int height, byte[] rgb) {
        return new LoadedImage(source, width, height, rgb, true);
    }

    /** The file the pixels were decoded from, or null. */
    public Path source() {
        return source;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** A copy of the pixels: {@code [(y * width + x) * 3 + c]}, c = 0 red, 1 green, 2 blue. */
    public byte[] rgb() {
        return rgb.clone();
    }

    /** One sample, 0–255; c = 0 red, 1 green, 2 blue. */
    public int sample(int x, int y, int c) {
        Objects.checkIndex(x, width);
        Objects.checkIndex(y, height);
        Objects.checkIndex(c, 3);
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** The pixels without a copy, for this package only. */
    byte[] pixels() {
        return rgb;
    }

    /** The source's name for messages ("image" when there is none). */
    String name() {
        return source == null ? "image" : source.toString();
    }

    @Override
    public String toString() {
        return (source == null ? "image" : source.getFileName()) + " " + width + "x" + height;
    }
}
