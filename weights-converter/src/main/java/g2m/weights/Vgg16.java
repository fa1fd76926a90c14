package g2m.weights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * VGG16 ("configuration D") as the engine names it: 13 convolutions conv1_1 ... conv5_3 and
 * three fully connected layers fc6, fc7, fc8. Widths are not fixed: they are read from the
 * tensors, so narrower networks of the same topology are valid.
 */
public final class Vgg16 {
    private Vgg16() {}

    public static final List<String> CONVS = List.of(
            "conv1_1", "conv1_2", "conv2_1", "conv2_2",
            "conv3_1", "conv3_2", "conv3_3",
            "conv4_1", "conv4_2", "conv4_3",
            "conv5_1", "conv5_2", "conv5_3");
    public static final List<String> FCS = List.of("fc6", "fc7", "fc8");

    /** torchvision's {@code features.N} index of each convolution, in order. */
    private static final int[] TORCHVISION_FEATURE_INDEX = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};
    /** torchvision's {@code classifier.N} index of fc6, fc7, fc8. */
    private static final int[] TORCHVISION_CLASSIFIER_INDEX = {0, 3, 6};

    /** The adaptive average pool's output side; fc6 takes C5 * 7 * 7 inputs. */
    public static final int POOL5_SIDE = 7;

    /** Every canonical tensor name, in network order. */
    public static List<String> tensorNames() {
        List<String> names = new ArrayList<>();
        for (String l : CONVS) {
            names.add(l + ".weight");
            names.add(l + ".bias");
        }
        for (String l : FCS) {
            names.add(l + ".weight");
            names.add(l + ".bias");
        }
        return names;
    }

    /** Widths read from a validated set of tensors. */
    public record Topology(int[] convWidths, int fc6, int fc7, int classes) {
        @Override
        public String toString() {
            return "conv widths " + Arrays.toString(convWidths) + ", fc " + fc6 + "/" + fc7 + ", " + classes + " classes";
        }
    }

    /**
     * Maps torchvision names ({@code features.N.weight}, {@code classifier.N.bias}) to the
     * engine's, leaving other names alone; a torchvision VGG with batch norm is refused.
     */
    public static Map<String, Tensor> fromTorchvisionNames(Map<String, Tensor> in) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : in.entrySet()) {
            String name = e.getKey();
            String mapped = torchvisionToCanonical(name);
            if (name.endsWith(".running_mean") || name.endsWith(".running_var")) {
                throw new WeightsException("'" + name + "' is a batch-norm buffer: VGG16 with batch norm (vgg16_bn) is not supported");
            }
            if (out.put(mapped, e.getValue().renamed(mapped, e.getValue().shape())) != null) {
                throw new WeightsException("tensor '" + mapped + "' appears twice");
            }
        }
        return out;
    }

    static String torchvisionToCanonical(String name) {
        String[] p = name.split("\\.");
        if (p.length != 3 || !(p[2].equals("weight") || p[2].equals("bias"))) return name;
        int idx;
        try {
            idx = Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            return name;
        }
        int[] table = switch (p[0]) {
            case "features" -> TORCHVISION_FEATURE_INDEX;
            case "classifier" -> TORCHVISION_CLASSIFIER_INDEX;
            default -> null;
        };
        if (table == null) return name;
        List<String> layers = p[0].equals("features") ? CONVS : FCS;
        for (int i = 0; i < table.length; i++) {
            if (table[i] == idx) return layers.get(i) + "." + p[2];
        }
        return name;
    }

    /**
     * Checks a set of canonical tensors for VGG16 topology and returns exactly the 32 VGG16
     * tensors, in network order, with leading unit dimensions squeezed away (Caffe's legacy
     * blobs store an inner-product weight as 1 x 1 x out x in and a bias as 1 x 1 x 1 x out).
     * Extra tensors are an error (they are a sign of a different network).
     */
    public static Map<String, Tensor> validate(Map<String, Tensor> in) {
        List<String> expected = tensorNames();
        List<String> missing = new ArrayList<>();
        for (String n : expected) if (!in.containsKey(n)) missing.add(n);
        if (!missing.isEmpty()) {
            throw new WeightsException("not a VGG16 checkpoint: missing " + summarize(missing)
                    + (in.isEmpty() ? " (the file holds no tensors)" : " (found " + summarize(new ArrayList<>(in.keySet())) + ")"));
        }
        List<String> extra = new ArrayList<>();
        for (String n : in.keySet()) if (!expected.contains(n)) extra.add(n);
        if (!extra.isEmpty()) {
            throw new WeightsException("not a plain VGG16 checkpoint: unexpected tensors " + summarize(extra));
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        long inChannels = 3;
        for (String l : CONVS) {
            Tensor w = squeeze(in.get(l + ".weight"), 4);
            long[] s = w.shape();
            if (s[1] != inChannels || s[2] != 3 || s[3] != 3 || s[0] < 1) {
                throw new WeightsException(l + ".weight has shape " + Arrays.toString(s) + ", expected [out, "
                        + inChannels + ", 3, 3]");
            }
            Tensor b = checkBias(in.get(l + ".bias"), s[0]);
            out.put(w.name(), w);
            out.put(b.name(), b);
            inChannels = s[0];
        }
        long inFeatures = inChannels * POOL5_SIDE * POOL5_SIDE;
        for (String l : FCS) {
            Tensor w = squeeze(in.get(l + ".weight"), 2);
            long[] s = w.shape();
            if (s[1] != inFeatures || s[0] < 1) {
                throw new WeightsException(l + ".weight has shape " + Arrays.toString(s) + ", expected [out, " + inFeatures + "]");
            }
            Tensor b = checkBias(in.get(l + ".bias"), s[0]);
            out.put(w.name(), w);
            out.put(b.name(), b);
            inFeatures = s[0];
        }
        return out;
    }

    /** Reads the widths of an already validated set. */
    public static Topology topology(Map<String, Tensor> validated) {
        int[] widths = new int[CONVS.size()];
        for (int i = 0; i < widths.length; i++) widths[i] = (int) validated.get(CONVS.get(i) + ".weight").shape()[0];
        return new Topology(widths, (int) validated.get("fc6.weight").shape()[0],
                (int) validated.get("fc7.weight").shape()[0], (int) validated.get("fc8.weight").shape()[0]);
    }

    private static Tensor checkBias(Tensor b, long out) {
        Tensor s = squeeze(b, 1);
        if (s.shape()[0] != out) {
            throw new WeightsException(b.name() + " has shape " + Arrays.toString(b.shape()) + ", expected [" + out + "]");
        }
        return s;
    }

    private static Tensor squeeze(Tensor t, int rank) {
        long[] s = t.shape();
        int lead = 0;
        while (s.length - lead > rank && s[lead] == 1) lead++;
        if (s.length - lead != rank) {
            throw new WeightsException(t.name() + " has shape " + Arrays.toString(s) + ", expected " + rank + " dimensions");
        }
        return lead == 0 ? t : t.renamed(t.name(), Arrays.copyOfRange(s, lead, s.length));
    }

    private static String summarize(List<String> names) {
        if (names.size() <= 6) return String.join(", ", names);
        return String.join(", ", names.subList(0, 6)) + " and " + (names.size() - 6) + " more";
    }
}
