package g2m.api;

/** One map: row-major {@code height × width} values at the tap's resolution, exactly as the spec defines them. */
public record Map2D(int height, int width, float[] values) {
    public Map2D {
        if (height < 1 || width < 1 || values == null || values.length != (long) height * width) {
            throw new IllegalArgumentException("a " + height + "x" + width + " map needs " + (long) height * width + " values");
        }
    }

    public float at(int y, int x) {
        return values[y * width + x];
    }
}
