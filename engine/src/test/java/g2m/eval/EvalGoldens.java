package g2m.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.weights.Checkpoint;
import g2m.weights.Tensor;
import g2m.weights.safetensors.Safetensors;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The files of tools/reference/eval_reference.py (test resources under /eval/). */
final class EvalGoldens {
    private EvalGoldens() {}

    static Path path(String name) {
        try {
            return Path.of(EvalGoldens.class.getResource("/eval/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing test resource /eval/" + name + " (run tools/reference/eval_reference.py)", e);
        }
    }

    static JsonNode boxes() {
        try {
            return new ObjectMapper().readTree(path("boxes.json").toFile());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static Checkpoint tensors(String file) {
        return Safetensors.read(path(file));
    }

    static float[] floats(String file, String tensor) {
        Tensor t = tensors(file).tensors().get(tensor);
        if (t == null) throw new AssertionError(file + " has no tensor " + tensor);
        return t.toFloats();
    }

    static LoadedImage image(String name) {
        return ImageLoader.load(path(name));
    }

    /** An 8-bit gray PNG as bytes (the loader gives RGB with R = G = B). */
    static byte[] gray(String name) {
        LoadedImage im = image(name);
        byte[] rgb = im.rgb();
        byte[] g = new byte[im.width() * im.height()];
        for (int i = 0; i < g.length; i++) g[i] = rgb[3 * i];
        return g;
    }

    static int[] ints(JsonNode a) {
        int[] v = new int[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).intValue();
        return v;
    }

    static Box box(JsonNode a) {
        return new Box(a.get(0).intValue(), a.get(1).intValue(), a.get(2).intValue(), a.get(3).intValue());
    }

    static float maxAbs(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
