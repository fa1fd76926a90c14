package g2m.eval;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A split of wsolevaluation's metadata ({@code metadata/<ILSVRC|CUB|OpenImages>/<split>/}), with
 * the pictures under {@code images} (their ids are paths relative to it, e.g.
 * {@code val/ILSVRC2012_val_00000001.JPEG}):
 * <ul>
 * <li>{@code image_ids.txt}: one id per line, the evaluation order;</li>
 * <li>{@code class_labels.txt}: {@code <id>,<class>} (0-based);</li>
 * <li>{@code localization.txt}: for boxes {@code <id>,<x0>,<y0>,<x1>,<y1>}, one line per box,
 *     corners inclusive, taken as written; for masks (OpenImages)
 *     {@code <id>,<mask file>,<ignore file>}, one line per object, the ignore file on the image's
 *     first line only (empty on the others), paths relative to {@code masks}.</li>
 * </ul>
 * {@code image_sizes.txt} is not needed: sizes come from the pictures (wsolevaluation uses it to
 * rescale boxes to 224×224). Lines are split at commas as wsolevaluation splits them; every
 * listed picture, mask and ignore file must exist (checked now).
 */
public final class WsolMetadata {
    private WsolMetadata() {}

    private static final String WHAT = "wsolevaluation metadata";

    public static Dataset read(Path dir, Path images, Path masks) {
        Dataset.requireDir(dir, "--wsol-metadata");
        Dataset.requireDir(images, "--images");
        if (masks == null) masks = images;
        else Dataset.requireDir(masks, "--masks");
        Path idsFile = dir.resolve("image_ids.txt"), labelsFile = dir.resolve("class_labels.txt"), locFile = dir.resolve("localization.txt");

        List<String> ids = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        List<String> idLines = Dataset.readLines(idsFile, WHAT);
        for (int i = 0; i < idLines.size(); i++) {
            String id = idLines.get(i).strip();
            if (id.isEmpty()) continue;
            if (index.putIfAbsent(id, ids.size()) != null) throw new EvalException(idsFile + " line " + (i + 1) + ": " + abbreviate(id) + " is listed twice");
            ids.add(id);
        }
        if (ids.isEmpty()) throw new EvalException(idsFile + " lists no images");

        Integer[] labels = new Integer[ids.size()];
        List<String> labelLines = Dataset.readLines(labelsFile, WHAT);
        for (int i = 0; i < labelLines.size(); i++) {
            String line = labelLines.get(i).strip();
            if (line.isEmpty()) continue;
            String[] f = line.split(",", -1);
            String where = labelsFile + " line " + (i + 1);
            if (f.length != 2) throw new EvalException(where + ": expected '<image id>,<class index>', got '" + abbreviate(line) + "'");
            int k = known(index, f[0], where, idsFile);
            labels[k] = integer(f[1], where, "class index");
        }

        List<List<Box>> boxes = new ArrayList<>();
        List<List<Path>> maskFiles = new ArrayList<>();
        Path[] ignore = new Path[ids.size()];
        for (int k = 0; k < ids.size(); k++) {
            boxes.add(new ArrayList<>());
            maskFiles.add(new ArrayList<>());
        }
        Boolean maskLayout = null;
        List<String> locLines = Dataset.readLines(locFile, WHAT);
        for (int i = 0; i < locLines.size(); i++) {
            String line = locLines.get(i).strip();
            if (line.isEmpty()) continue;
            String[] f = line.split(",", -1);
            String where = locFile + " line " + (i + 1);
            if (f.length != 5 && f.length != 3) {
                throw new EvalException(where + ": expected '<id>,<x0>,<y0>,<x1>,<y1>' or '<id>,<mask>,<ignore mask>', got '" + abbreviate(line) + "'");
            }
            boolean isMask = f.length == 3;
            if (maskLayout != null && maskLayout != isMask) throw new EvalException(where + ": mixes box and mask lines");
            maskLayout = isMask;
            int k = known(index, f[0], where, idsFile);
            if (!isMask) {
                int[] v = new int[4];
                for (int c = 0; c < 4; c++) v[c] = integer(f[1 + c], where, "coordinate");
                if (v[2] < v[0] || v[3] < v[1]) throw new EvalException(where + ": x1 < x0 or y1 < y0 (" + v[0] + "," + v[1] + "," + v[2] + "," + v[3] + ")");
                boxes.get(k).add(new Box(v[0], v[1], v[2], v[3]));
                continue;
            }
            if (f[1].isBlank()) throw new EvalException(where + ": no mask file");
            boolean first = maskFiles.get(k).isEmpty();
            maskFiles.get(k).add(Dataset.resolve(masks, f[1], where, "--masks"));
            if (!f[2].isEmpty()) {
                if (!first) throw new EvalException(where + ": an image's ignore mask belongs on its first line only");
                ignore[k] = Dataset.resolve(masks, f[2], where, "--masks");
            }
        }
        if (maskLayout == null) throw new EvalException(locFile + " holds no boxes or masks");

        List<Sample> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (int k = 0; k < ids.size(); k++) {
            String id = ids.get(k);
            if (labels[k] == null) throw new EvalException(labelsFile + " has no line for " + abbreviate(id));
            Path img = Dataset.resolve(images, id, idsFile.toString(), "--images");
            if (!Files.isRegularFile(img)) missing.add(id);
            if (maskLayout) {
                if (maskFiles.get(k).isEmpty()) throw new EvalException(locFile + " has no mask for " + abbreviate(id));
                for (Path m : maskFiles.get(k)) if (!Files.isRegularFile(m)) missing.add(masks.relativize(m).toString());
                if (ignore[k] != null && !Files.isRegularFile(ignore[k])) missing.add(masks.relativize(ignore[k]).toString());
                out.add(new Sample(id, img, labels[k], null, null, new ObjectMasks(maskFiles.get(k), ignore[k])));
            } else {
                if (boxes.get(k).isEmpty()) throw new EvalException(locFile + " has no box for " + abbreviate(id));
                out.add(new Sample(id, img, labels[k], null, boxes.get(k)));
            }
        }
        if (!missing.isEmpty()) {
            throw new EvalException(missing.size() + " of the files listed in " + dir + " are not there (first: " + abbreviate(missing.get(0))
                    + "); --images is the folder the image ids are relative to" + (maskLayout ? ", --masks the masks' (default: --images)" : ""));
        }
        String source = "wsolevaluation metadata " + dir + ", images " + images + (maskLayout ? ", masks " + masks : "");
        return new Dataset(maskLayout ? "wsol-masks" : "wsol-boxes", out, source);
    }

    private static int known(Map<String, Integer> index, String id, String where, Path idsFile) {
        Integer k = index.get(id);
        if (k == null) throw new EvalException(where + ": " + abbreviate(id) + " is not in " + idsFile);
        return k;
    }

    private static int integer(String s, String where, String what) {
        try {
            int v = Integer.parseInt(s.strip());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new EvalException(where + ": '" + abbreviate(s) + "' is not a non-negative " + what);
        }
    }

    private static String abbreviate(String s) {
        String t = s.replaceAll("\\p{Cntrl}", "?");
        return t.length() > 80 ? t.substring(0, 77) + "..." : t;
    }
}
