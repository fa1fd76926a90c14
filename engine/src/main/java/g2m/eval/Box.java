package g2m.eval;

/**
 * A box in pixel coordinates, corners inclusive as PASCAL VOC counts them: it covers columns
 * {@code x1 … x2} and rows {@code y1 … y2}, so its area is {@code (x2 − x1 + 1)·(y2 − y1 + 1)}.
 */
public record Box(int x1, int y1, int x2, int y2) {
    public Box {
        if (x2 < x1 || y2 < y1) throw new IllegalArgumentException("box corners out of order: " + x1 + "," + y1 + "," + x2 + "," + y2);
    }

    /** The protocol's box when no contour is found. */
    public static final Box NONE = new Box(0, 0, 1, 1);

    @Override
    public String toString() {
        return "[" + x1 + "," + y1 + "," + x2 + "," + y2 + "]";
    }
}
