package g2m.demo;

import g2m.weights.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo the jar carries (made by tools/demo/): a narrow VGG16-topology network trained on
 * generated shapes, and held-out sample pictures with their labels and boxes in the ILSVRC2012
 * validation layout, so the maps CLI and {@code eval} read them like any dataset. They live in the
 * jar under {@value #ROOT}; {@link #extract} copies them into a folder of the user's, where they
 * stay, so every number the demo prints can be reproduced from them.
 */
public final class DemoAssets {
    public static final String ROOT = "g2m/demo/";

    /** The folder holding everything below. */
    public final Path dir;
    /** The network, in the engine's format. */
    public final Path model;
    /** The sample pictures. */
    public final Path images;
    /** One PASCAL-VOC XML per picture. */
    public final Path boxes;
    /** {@code <file name> <class index>} per picture. */
    public final Path labels;
    /** Class names, one per line in index order. */
    public final Path classes;
    /** The picture names, in the labels file's order. */
    public final List<String> pictures;

    private DemoAssets(Path dir, List<String> pictures) {
        this.dir = dir;
        this.model = dir.resolve("model.safetensors");
        this.images = dir.resolve("images");
        this.boxes = dir.resolve("boxes");
        this.labels = dir.resolve("val.txt");
        this.classes = dir.resolve("classes.txt");
        this.pictures = List.copyOf(pictures);
    }

    /** Whether this build carries the demo. */
    public static boolean bundled() {
        return DemoAssets.class.getClassLoader().getResource(ROOT + "model.safetensors") != null;
    }

    /**
     * Copies the demo out of the jar into {@code dir} (created if absent). Files already there are
     * replaced only when {@code replace}; otherwise the first one met is an error.
     */
    public static DemoAssets extract(Path dir, boolean replace) throws IOException {
        Files.createDirectories(dir.resolve("images"));
        Files.createDirectories(dir.resolve("boxes"));
        for (String f : List.of("model.safetensors", "val.txt", "classes.txt")) copy(f, dir, replace);
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("val.txt"), StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            String name = line.strip().split("\\s+")[0];
            names.add(name);
            copy("images/" + name, dir, replace);
            copy("boxes/" + name.substring(0, name.lastIndexOf('.')) + ".xml", dir, replace);
        }
        return new DemoAssets(dir, names);
    }

    /** Through the engine's atomic writer, so an interrupted unpacking leaves no half-written file. */
    private static void copy(String resource, Path dir, boolean replace) throws IOException {
        Path target = dir.resolve(resource);
        if (!replace && Files.exists(target)) throw new java.nio.file.FileAlreadyExistsException(target.toString());
        try (InputStream in = DemoAssets.class.getClassLoader().getResourceAsStream(ROOT + resource)) {
            if (in == null) throw new IOException(ROOT + resource + " is missing from this build");
            AtomicFiles.write(target, true, ch -> in.transferTo(java.nio.channels.Channels.newOutputStream(ch)));
        }
    }
}
