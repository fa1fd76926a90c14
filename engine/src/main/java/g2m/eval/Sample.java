package g2m.eval;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One evaluation image: its name as listed (for reports and output names), its file, its
 * ground-truth class, and its ground truth: boxes, either given or read from a PASCAL-VOC XML file
 * when needed (in the decoding workers, so that 50,000 XML files are not parsed up front), or
 * object masks ({@link PixelMask#read}, also in the workers).
 */
record Sample(String name, Path image, int label, Path boxFile, List<Box> boxes, ObjectMasks masks) {
    public Sample {
        Objects.requireNonNull(name);
        Objects.requireNonNull(image);
        if ((boxFile != null ? 1 : 0) + (boxes != null ? 1 : 0) + (masks != null ? 1 : 0) != 1) {
            throw new IllegalArgumentException("give one of a box file, boxes or masks");
        }
        if (boxes != null) boxes = List.copyOf(boxes);
    }

    /** A picture with boxes (given, or in {@code boxFile}). */
    public Sample(String name, Path image, int label, Path boxFile, List<Box> boxes) {
        this(name, image, label, boxFile, boxes, null);
    }

    /** The ground-truth boxes (reads the XML file; an {@link EvalException} when it is unusable); not for a mask sample. */
    public List<Box> groundTruth() {
        if (masks != null) throw new IllegalStateException(name + " has masks: read them with PixelMask.read");
        List<Box> b = boxes != null ? boxes : VocXml.read(boxFile);
        if (b.isEmpty()) throw new EvalException((boxFile != null ? boxFile.toString() : name) + " has no ground-truth box");
        return b;
    }

    /** A file-name-safe stem: the name without its extension, folders joined with '_'. */
    public String stem() {
        String n = name.replace('\\', '/');
        int dot = n.lastIndexOf('.');
        if (dot > n.lastIndexOf('/') + 1) n = n.substring(0, dot);
        return n.replace('/', '_');
    }
}
