package g2m.eval;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A picture's mask annotation in wsolevaluation's OpenImages layout: one PNG per object and one
 * "ignore" PNG (null when there is none), read into a {@link PixelMask} when the picture is.
 */
record ObjectMasks(List<Path> objects, Path ignore) {
    public ObjectMasks {
        objects = List.copyOf(objects);
        if (objects.isEmpty()) throw new IllegalArgumentException("no object masks");
        objects.forEach(Objects::requireNonNull);
    }

    /** The files' names (without folders), the ignore mask's last: what identifies the annotation wherever the set lies. */
    public java.util.List<String> names() {
        java.util.List<String> n = new java.util.ArrayList<>();
        for (Path p : objects) n.add(String.valueOf(p.getFileName()));
        n.add(ignore == null ? "-" : String.valueOf(ignore.getFileName()));
        return n;
    }
}
