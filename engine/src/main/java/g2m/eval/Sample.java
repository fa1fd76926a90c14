package g2m.eval;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One evaluation image: its name as listed (for reports and output names), its file, its
 * ground-truth class, and its ground-truth boxes, either given or read from a PASCAL-VOC XML file
 * when needed (in the decoding workers, so that 50,000 XML files are not parsed up front).
 */
public record Sample(String name, Path image, int label, Path boxFile, List<Box> boxes) {
    public Sample {
        Objects.requireNonNull(name);
        Objects.requireNonNull(image);
        if ((boxFile == null) == (boxes == null)) throw new IllegalArgumentException("give either a box file or boxes");
        if (boxes != null) boxes = List.copyOf(boxes);
    }

    /** The ground-truth boxes (reads the XML file; an {@link EvalException} when it is unusable). */
    public List<Box> groundTruth() {
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
