package g2m.weights;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * How pixels become the network's input, as stored in a weights file's metadata:
 * {@code x[c] = (pixel[c] * inputScale - mean[c]) / std[c]}, channels in {@code channelOrder}
 * (mean and std listed in that same order).
 */
public record Preprocessing(ChannelOrder channelOrder, double inputScale, double[] mean, double[] std) {

    public enum ChannelOrder { RGB, BGR }

    /** torchvision: RGB, /255, ImageNet mean and std. */
    public static final Preprocessing PYTORCH = new Preprocessing(ChannelOrder.RGB, 1.0 / 255,
            new double[] {0.485, 0.456, 0.406}, new double[] {0.229, 0.224, 0.225});

    /** Caffe VGG_ILSVRC_16_layers: BGR, 0-255, per-channel mean (B, G, R), no std. */
    public static final Preprocessing CAFFE = new Preprocessing(ChannelOrder.BGR, 1.0,
            new double[] {103.939, 116.779, 123.68}, new double[] {1, 1, 1});

    public Preprocessing {
        if (mean.length != 3 || std.length != 3) {
            throw new WeightsException("mean and std need 3 values each, got " + mean.length + " and " + std.length);
        }
        for (double s : std) {
            if (!(s > 0) || Double.isInfinite(s)) throw new WeightsException("std values must be positive, got " + Arrays.toString(std));
        }
        for (double m : mean) {
            if (!Double.isFinite(m)) throw new WeightsException("mean values must be finite, got " + Arrays.toString(mean));
        }
        if (!(inputScale > 0) || Double.isInfinite(inputScale)) {
            throw new WeightsException("input scale must be positive, got " + inputScale);
        }
        mean = mean.clone();
        std = std.clone();
    }

    public Preprocessing withMean(double[] m) {
        return new Preprocessing(channelOrder, inputScale, m, std);
    }

    public Preprocessing withStd(double[] s) {
        return new Preprocessing(channelOrder, inputScale, mean, s);
    }

    @Override
    public double[] mean() {
        return mean.clone();
    }

    @Override
    public double[] std() {
        return std.clone();
    }

    public static final String KEY_ORDER = "input_channel_order";
    public static final String KEY_SCALE = "input_scale";
    public static final String KEY_MEAN = "input_mean";
    public static final String KEY_STD = "input_std";

    /** The metadata entries ({@code __metadata__} values are strings in safetensors). */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(KEY_ORDER, channelOrder.name());
        m.put(KEY_SCALE, Double.toString(inputScale));
        m.put(KEY_MEAN, join(mean));
        m.put(KEY_STD, join(std));
        return m;
    }

    /** Reads the entries written by {@link #toMetadata()}; a missing or malformed one is an error. */
    public static Preprocessing fromMetadata(Map<String, String> m) {
        String order = require(m, KEY_ORDER).toUpperCase(Locale.ROOT);
        ChannelOrder co;
        try {
            co = ChannelOrder.valueOf(order);
        } catch (IllegalArgumentException e) {
            throw new WeightsException("metadata " + KEY_ORDER + " must be RGB or BGR, got '" + order + "'");
        }
        return new Preprocessing(co, parseDouble(KEY_SCALE, require(m, KEY_SCALE)),
                parseTriple(KEY_MEAN, require(m, KEY_MEAN)), parseTriple(KEY_STD, require(m, KEY_STD)));
    }

    /** Parses "a,b,c" (as given on the command line or in metadata). */
    public static double[] parseTriple(String what, String s) {
        String[] parts = s.split(",");
        if (parts.length != 3) throw new WeightsException(what + " needs three comma-separated numbers, got '" + s + "'");
        double[] v = new double[3];
        for (int i = 0; i < 3; i++) v[i] = parseDouble(what, parts[i].trim());
        return v;
    }

    private static double parseDouble(String what, String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new WeightsException(what + ": '" + s + "' is not a number");
        }
    }

    private static String require(Map<String, String> m, String key) {
        String v = m.get(key);
        if (v == null) throw new WeightsException("weights metadata lacks '" + key + "' (convert the file again with 'convert')");
        return v;
    }

    private static String join(double[] v) {
        return v[0] + "," + v[1] + "," + v[2];
    }

    @Override
    public String toString() {
        return channelOrder + " scale=" + inputScale + " mean=" + Arrays.toString(mean) + " std=" + Arrays.toString(std);
    }
}
