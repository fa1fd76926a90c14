package g2m.weights;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Vgg16Test {
    static final int[] WIDTHS = {2, 2, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6};

    /** A narrow VGG16 with canonical names; fc sizes 7, 5 and 3 classes. */
    static Map<String, Tensor> narrow() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        long in = 3;
        for (int i = 0; i < 13; i++) {
            String l = Vgg16.CONVS.get(i);
            m.put(l + ".weight", zeros(l + ".weight", WIDTHS[i], in, 3, 3));
            m.put(l + ".bias", zeros(l + ".bias", WIDTHS[i]));
            in = WIDTHS[i];
        }
        long f = in * 49;
        int[] fc = {7, 5, 3};
        for (int i = 0; i < 3; i++) {
            String l = Vgg16.FCS.get(i);
            m.put(l + ".weight", zeros(l + ".weight", fc[i], f));
            m.put(l + ".bias", zeros(l + ".bias", fc[i]));
            f = fc[i];
        }
        return m;
    }

    static Tensor zeros(String name, long... shape) {
        return Tensor.ofFloats(name, shape, new float[(int) Tensor.numel(shape)]);
    }

    @Test
    void readsWidthsFromTensors() {
        Vgg16.Topology t = Vgg16.topology(Vgg16.validate(narrow()));
        assertArrayEquals(WIDTHS, t.convWidths());
        assertEquals(7, t.fc6());
        assertEquals(5, t.fc7());
        assertEquals(3, t.classes());
    }

    @Test
    void mapsTorchvisionNames() {
        Map<String, Tensor> tv = new LinkedHashMap<>();
        tv.put("features.0.weight", zeros("features.0.weight", 1));
        tv.put("features.28.bias", zeros("features.28.bias", 1));
        tv.put("classifier.3.weight", zeros("classifier.3.weight", 1));
        tv.put("classifier.6.bias", zeros("classifier.6.bias", 1));
        tv.put("features.1.weight", zeros("features.1.weight", 1)); // a ReLU index: not a VGG16 conv
        assertEquals(List.of("conv1_1.weight", "conv5_3.bias", "fc7.weight", "fc8.bias", "features.1.weight"),
                List.copyOf(Vgg16.fromTorchvisionNames(tv).keySet()));
        Map<String, Tensor> bn = Map.of("features.1.running_mean", zeros("features.1.running_mean", 1));
        assertTrue(assertThrows(WeightsException.class, () -> Vgg16.fromTorchvisionNames(bn)).getMessage().contains("batch norm"));
    }

    @Test
    void squeezesCaffeLegacyShapes() {
        Map<String, Tensor> m = narrow();
        Tensor w = m.get("fc7.weight");
        m.put("fc7.weight", w.renamed("fc7.weight", new long[] {1, 1, 5, 7}));
        m.put("fc7.bias", m.get("fc7.bias").renamed("fc7.bias", new long[] {1, 1, 1, 5}));
        Map<String, Tensor> v = Vgg16.validate(m);
        assertArrayEquals(new long[] {5, 7}, v.get("fc7.weight").shape());
        assertArrayEquals(new long[] {5}, v.get("fc7.bias").shape());
    }

    @Test
    void rejectsWrongTopology() {
        Map<String, Tensor> missing = narrow();
        missing.remove("conv4_2.bias");
        assertTrue(msg(missing).contains("missing conv4_2.bias"));

        Map<String, Tensor> extra = narrow();
        extra.put("fc9.weight", zeros("fc9.weight", 1));
        assertTrue(msg(extra).contains("unexpected tensors fc9.weight"));

        Map<String, Tensor> chain = narrow(); // conv2_1 must take conv1_2's 2 channels
        chain.put("conv2_1.weight", zeros("conv2_1.weight", 3, 4, 3, 3));
        assertTrue(msg(chain).contains("conv2_1.weight has shape [3, 4, 3, 3], expected [out, 2, 3, 3]"), msg(chain));

        Map<String, Tensor> kernel = narrow();
        kernel.put("conv1_1.weight", zeros("conv1_1.weight", 2, 3, 5, 5));
        assertTrue(msg(kernel).contains("expected [out, 3, 3, 3]"));

        Map<String, Tensor> fc = narrow(); // fc6 must take 6 * 7 * 7 = 294 inputs
        fc.put("fc6.weight", zeros("fc6.weight", 7, 300));
        assertTrue(msg(fc).contains("expected [out, 294]"));

        Map<String, Tensor> bias = narrow();
        bias.put("fc8.bias", zeros("fc8.bias", 4));
        assertTrue(msg(bias).contains("fc8.bias has shape [4], expected [3]"));

        Map<String, Tensor> rank = narrow();
        rank.put("conv3_1.weight", zeros("conv3_1.weight", 2, 4, 3, 3, 3));
        assertTrue(msg(rank).contains("expected 4 dimensions"));

        assertTrue(msg(new LinkedHashMap<>()).contains("holds no tensors"));
    }

    private static String msg(Map<String, Tensor> m) {
        return assertThrows(WeightsException.class, () -> Vgg16.validate(m)).getMessage();
    }

    @Test
    void exceptionMessagesAreOneBoundedLine() {
        String m = new WeightsException("bad name 'a\nb\r\u0000' " + "x".repeat(5000)).getMessage();
        assertTrue(!m.contains("\n") && !m.contains("\r") && m.contains("a\\u000ab"), m);
        assertTrue(m.length() <= WeightsException.MAX_MESSAGE + 1, "length " + m.length());
    }

    @Test
    void preprocessingRoundTripsThroughMetadata() {
        Preprocessing p = Preprocessing.CAFFE.withMean(new double[] {104.00699, 116.66877, 122.6789});
        Preprocessing q = Preprocessing.fromMetadata(p.toMetadata());
        assertEquals(p.channelOrder(), q.channelOrder());
        assertEquals(p.inputScale(), q.inputScale());
        assertArrayEquals(p.mean(), q.mean());
        assertArrayEquals(p.std(), q.std());
        assertThrows(WeightsException.class, () -> Preprocessing.parseTriple("--mean", "1,2"));
        assertThrows(WeightsException.class, () -> Preprocessing.PYTORCH.withStd(new double[] {1, 0, 1}));
        Map<String, String> noOrder = new LinkedHashMap<>(p.toMetadata());
        noOrder.remove(Preprocessing.KEY_ORDER);
        assertTrue(assertThrows(WeightsException.class, () -> Preprocessing.fromMetadata(noOrder)).getMessage().contains("lacks"));
    }
}
