package g2m.eval;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The images of an evaluation, in order, with labels and boxes, from one of the two standard WSOL layouts. */
public record Dataset(String kind, List<Sample> samples, String source) {
    public Dataset {
        samples = List.copyOf(samples);
    }

    /**
     * ILSVRC2012 validation as distributed: a labels file with one {@code <file name> <class index>}
     * line per image (Caffe's val.txt), the pictures in {@code images}, and one PASCAL-VOC XML per
     * picture in {@code boxes} ({@code <stem>.xml}). Every listed picture and XML file must exist
     * (checked now, so a long run does not stop at image 40,000); the XML files are parsed later.
     * {@code boxes} may instead be layercam_loc's {@code val_box.mat} ({@link MatBoxes}), whose
     * entry i belongs to the labels file's i-th picture.
     */
    public static Dataset ilsvrc(Path labels, Path images, Path boxes) {
        requireDir(images, "--images");
        List<List<Box>> matBoxes = Files.isRegularFile(boxes) ? MatBoxes.read(boxes) : null;
        if (matBoxes == null) requireDir(boxes, "--boxes");
        List<String> lines = readLines(labels, "labels file");
        if (matBoxes != null) {
            long listed = lines.stream().filter(l -> !l.isBlank()).count();
            if (listed != matBoxes.size()) {
                throw new EvalException(boxes + " has " + matBoxes.size() + " entries but " + labels + " lists " + listed
                        + " pictures; entry i belongs to line i, so they must match (--limit N evaluates the first N)");
            }
        }
        List<Sample> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        List<String> missingImages = new ArrayList<>();
        List<String> missingBoxes = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String[] f = line.split("\\s+");
            if (f.length != 2) {
                throw new EvalException(labels + " line " + (i + 1) + ": expected '<file name> <class index>', got '" + abbreviate(line) + "'");
            }
            int label = parseLabel(labels, i + 1, f[1], 0);
            if (!seen.add(f[0])) throw new EvalException(labels + " line " + (i + 1) + ": " + f[0] + " is listed twice");
            Path img = resolve(images, f[0], labels + " line " + (i + 1), "--images");
            if (!Files.isRegularFile(img)) missingImages.add(f[0]);
            if (matBoxes != null) {
                out.add(new Sample(f[0], img, label, null, matBoxes.get(out.size())));
                continue;
            }
            Path xml = boxFile(boxes, f[0]);
            if (xml == null) missingBoxes.add(f[0]);
            out.add(new Sample(f[0], img, label, xml == null ? boxes.resolve(stem(f[0]) + ".xml") : xml, null));
        }
        if (out.isEmpty()) throw new EvalException(labels + " lists no images");
        if (!missingImages.isEmpty()) {
            throw new EvalException(missingImages.size() + " of the " + out.size() + " images listed in " + labels + " are not in " + images
                    + " (first: " + missingImages.get(0) + ")");
        }
        if (!missingBoxes.isEmpty()) {
            throw new EvalException(missingBoxes.size() + " of the " + out.size() + " images have no box file in " + boxes
                    + " (first: " + missingBoxes.get(0) + ", expected " + stem(missingBoxes.get(0)) + ".xml)");
        }
        return new Dataset("ilsvrc", out, "labels " + labels + ", images " + images + ", boxes " + boxes);
    }

    /**
     * {@code dir/name}, or an error naming {@code where} when the name cannot be a file name here (a
     * NUL byte, say) or would reach outside {@code dir} (an absolute path, a {@code ..} folder).
     */
    static Path resolve(Path dir, String name, String where, String option) {
        Path p;
        try {
            p = Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            throw new EvalException(where + ": '" + abbreviate(name) + "' is not a usable file name (" + e.getReason() + ")");
        }
        boolean outside = p.isAbsolute() || p.getRoot() != null || name.startsWith("/") || name.startsWith("\\");
        for (Path part : p) outside |= part.toString().equals("..");
        if (outside) {
            throw new EvalException(where + ": '" + abbreviate(name) + "' points outside " + option
                    + " (an absolute path or '..'); list names relative to that folder");
        }
        return dir.resolve(p);
    }

    /** {@code boxes/<name without extension>.xml}, else {@code boxes/<file stem>.xml}; null when neither exists. */
    private static Path boxFile(Path boxes, String name) {
        String noExt = name;
        int dot = name.lastIndexOf('.');
        if (dot > Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1) noExt = name.substring(0, dot);
        Path a = boxes.resolve(noExt + ".xml");
        if (Files.isRegularFile(a)) return a;
        Path b = boxes.resolve(stem(name) + ".xml");
        return Files.isRegularFile(b) ? b : null;
    }

    private static String stem(String name) {
        String n = Path.of(name).getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /**
     * CUB-200-2011 as distributed: {@code images.txt} ({@code <id> <path>}),
     * {@code image_class_labels.txt} ({@code <id> <class 1…200>}, made 0-based),
     * {@code bounding_boxes.txt} ({@code <id> <x> <y> <width> <height>}, one box per image, taken as
     * {@code [x, y, x + width, y + height]} truncated to integers as wsolevaluation's metadata has
     * it), pictures under {@code images/}; with {@code train_test_split.txt} ({@code <id> <1 = train>})
     * the split asked for, else every image.
     */
    public static Dataset cub(Path root, String split) {
        requireDir(root, "--cub");
        if (!split.equals("test") && !split.equals("train") && !split.equals("all")) {
            throw new EvalException("--split must be test, train or all, got '" + split + "'");
        }
        Map<String, String> paths = table(root.resolve("images.txt"), 2);
        Map<String, String> labels = table(root.resolve("image_class_labels.txt"), 2);
        Map<String, String> boxes = table(root.resolve("bounding_boxes.txt"), 5);
        Path splitFile = root.resolve("train_test_split.txt");
        Map<String, String> trainTest = Files.exists(splitFile) ? table(splitFile, 2) : null;
        if (trainTest == null && !split.equals("all")) {
            throw new EvalException(root + " has no train_test_split.txt; pass --split all to evaluate every image");
        }
        List<Sample> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, String> e : paths.entrySet()) {
            String id = e.getKey();
            if (trainTest != null && !split.equals("all")) {
                String t = trainTest.get(id);
                if (t == null) throw new EvalException(splitFile + " has no line for image id " + id);
                boolean train = t.strip().equals("1");
                if (train != split.equals("train")) continue;
            }
            String l = labels.get(id);
            if (l == null) throw new EvalException(root.resolve("image_class_labels.txt") + " has no line for image id " + id);
            int label = parseLabel(root.resolve("image_class_labels.txt"), -1, l.strip(), 1) - 1;
            String b = boxes.get(id);
            if (b == null) throw new EvalException(root.resolve("bounding_boxes.txt") + " has no line for image id " + id);
            String[] v = b.strip().split("\\s+");
            double[] d = new double[4];
            for (int k = 0; k < 4; k++) {
                try {
                    d[k] = Double.parseDouble(v[k]);
                } catch (NumberFormatException x) {
                    d[k] = Double.NaN;
                }
                if (!(d[k] >= 0) || d[k] > Integer.MAX_VALUE) {
                    throw new EvalException(root.resolve("bounding_boxes.txt") + ", image id " + id + ": '" + v[k] + "' is not a non-negative number");
                }
            }
            Box box = new Box((int) d[0], (int) d[1], (int) (d[0] + d[2]), (int) (d[1] + d[3]));
            Path img = resolve(root.resolve("images"), e.getValue(), root.resolve("images.txt") + ", image id " + id, root.resolve("images").toString());
            if (!Files.isRegularFile(img)) missing.add(e.getValue());
            out.add(new Sample(e.getValue(), img, label, null, List.of(box)));
        }
        if (out.isEmpty()) throw new EvalException(root + ": no images in the " + split + " split");
        if (!missing.isEmpty()) {
            throw new EvalException(missing.size() + " of the " + out.size() + " images are not in " + root.resolve("images") + " (first: " + missing.get(0) + ")");
        }
        return new Dataset("cub", out, "CUB-200-2011 " + root + " (" + split + " split)");
    }

    /** Lines {@code <id> <rest…>} keyed by id, in file order; exactly {@code fields} fields each. */
    private static Map<String, String> table(Path file, int fields) {
        List<String> lines = readLines(file, "CUB file");
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            String[] f = line.split("\\s+", fields);
            if (f.length != fields || f[fields - 1].isBlank() || (fields > 2 && f[fields - 1].strip().split("\\s+").length != 1)) {
                throw new EvalException(file + " line " + (i + 1) + ": expected " + fields + " fields, got '" + abbreviate(line) + "'");
            }
            if (m.put(f[0], line.substring(f[0].length()).strip()) != null) {
                throw new EvalException(file + " line " + (i + 1) + ": id " + f[0] + " appears twice");
            }
        }
        return m;
    }

    /** Checks every label against the network's class count. */
    public void checkClasses(int classes) {
        for (Sample s : samples) {
            if (s.label() >= classes) {
                throw new EvalException(s.name() + ": class " + s.label() + " is outside 0.." + (classes - 1)
                        + " (the weights have " + classes + " classes)");
            }
        }
    }

    /** SHA-256 over names and labels (and given boxes), to tell a checkpoint's dataset from another. */
    public String fingerprint() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(kind.getBytes(StandardCharsets.UTF_8));
            for (Sample s : samples) {
                String truth = s.masks() != null ? "masks " + s.masks().names() : s.boxes() == null ? "xml" : s.boxes().toString();
                md.update(("\n" + s.name() + "\t" + s.label() + "\t" + truth).getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int parseLabel(Path file, int line, String s, int min) {
        String where = file + (line > 0 ? " line " + line : "");
        try {
            int v = Integer.parseInt(s);
            if (v < min) throw new EvalException(where + ": class index " + v + " is below " + min);
            return v;
        } catch (NumberFormatException e) {
            throw new EvalException(where + ": '" + abbreviate(s) + "' is not a class index");
        }
    }

    /** Lists beyond this are not a labels file (ILSVRC2012's val.txt is 1.5 MB, its 1.28 M training pictures 45 MB). */
    static final long MAX_LIST_BYTES = 128L << 20;

    static List<String> readLines(Path file, String what) {
        try {
            if (Files.exists(file) && !Files.isRegularFile(file)) {       // a folder, a FIFO, a device: would fail or block
                throw new EvalException(what + " " + file + " is not a regular file");
            }
            if (Files.exists(file) && Files.size(file) > MAX_LIST_BYTES) {
                throw new EvalException(what + " " + file + " is over " + (MAX_LIST_BYTES >> 20) + " MB; not a list of pictures");
            }
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (!lines.isEmpty() && lines.get(0).startsWith("\uFEFF")) lines.set(0, lines.get(0).substring(1));   // a byte-order mark (Windows editors)
            return lines;
        } catch (NoSuchFileException e) {
            throw new EvalException(what + " " + file + ": no such file");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new EvalException(what + " " + file + " is not UTF-8 text");
        } catch (IOException e) {
            throw new EvalException("cannot read " + what + " " + file + ": " + g2m.weights.AtomicFiles.describe(e), e);
        }
    }

    static void requireDir(Path dir, String option) {
        if (!Files.isDirectory(dir)) throw new EvalException(option + " " + dir + " is not a folder");
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
