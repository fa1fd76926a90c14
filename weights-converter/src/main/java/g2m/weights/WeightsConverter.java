package g2m.weights;

import g2m.weights.caffe.CaffeModelReader;
import g2m.weights.pytorch.PthReader;
import g2m.weights.safetensors.Safetensors;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Reads VGG16 weights from any supported file (PyTorch .pth zip or legacy, Caffe .caffemodel
 * V1 or V2, safetensors), validates the topology, names tensors the engine's way and attaches
 * preprocessing metadata; writes the engine's format (safetensors, float32).
 */
public final class WeightsConverter {
    private WeightsConverter() {}

    public enum Format {
        PYTORCH("PyTorch .pth"), CAFFE("Caffe .caffemodel"), SAFETENSORS("safetensors");

        public final String label;

        Format(String label) {
            this.label = label;
        }

        public static Format parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new WeightsException("unknown format '" + s + "' (valid: pytorch, caffe, safetensors)");
            }
        }
    }

    /** Which preprocessing a file's weights expect (the spec's two conventions). */
    public enum Convention {
        PYTORCH(Preprocessing.PYTORCH), CAFFE(Preprocessing.CAFFE);

        public final Preprocessing preprocessing;

        Convention(Preprocessing p) {
            this.preprocessing = p;
        }

        public static Convention parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new WeightsException("unknown preprocessing '" + s + "' (valid: pytorch, caffe)");
            }
        }
    }

    /**
     * What a conversion may override. Null fields mean: detect the format, take the
     * convention from the file (metadata, else its naming), keep the convention's mean/std.
     */
    public record Options(Format format, Convention convention, double[] mean, double[] std) {
        public static final Options DEFAULT = new Options(null, null, null, null);
    }

    // Metadata keys written besides Preprocessing's (see docs/FORMAT.md).
    public static final String KEY_FORMAT = "format";
    public static final String FORMAT_NAME = "g2m-vgg16";
    public static final String KEY_FORMAT_VERSION = "format_version";
    public static final String KEY_ARCHITECTURE = "architecture";
    public static final String KEY_SOURCE_FORMAT = "source_format";
    public static final String KEY_SOURCE_FILE = "source_file";
    public static final String KEY_CONVENTION = "convention";
    public static final String KEY_NUM_CLASSES = "num_classes";

    /** The format of a file, from its first bytes (and, for Caffe, its name). */
    public static Format detect(Path file) {
        InputFiles.requireRegularFile(file);
        byte[] head = new byte[16];
        int n = 0;
        long size;
        try (InputStream in = Files.newInputStream(file)) {
            size = Files.size(file);
            while (n < head.length) {
                int r = in.read(head, n, head.length - n);
                if (r < 0) break;
                n += r;
            }
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + ": no such file");
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        }
        byte[] h = java.util.Arrays.copyOf(head, n);
        if (size == 0) throw new WeightsException(file + ": empty file");
        if (Safetensors.looksLike(h, size)) return Format.SAFETENSORS;
        if (PthReader.looksLike(h)) return Format.PYTORCH;
        if (CaffeModelReader.looksLike(h, file.getFileName().toString())) return Format.CAFFE;
        throw new WeightsException(file + ": unrecognised weights format (expected a PyTorch .pth, a Caffe .caffemodel "
                + "or a .safetensors file; use --format to force one)");
    }

    /** The file's tensors as stored (names unchanged) and its metadata (safetensors only). */
    public static Checkpoint readRaw(Path in, Format format) {
        InputFiles.requireRegularFile(in);
        return switch (format) {
            case PYTORCH -> new Checkpoint(PthReader.read(in), Map.of());
            case CAFFE -> new Checkpoint(CaffeModelReader.read(in), Map.of());
            case SAFETENSORS -> Safetensors.read(in);
        };
    }

    /** Reads, validates and annotates; the result is what {@link #convert} writes. */
    public static Checkpoint load(Path in, Options opt) {
        Format format = opt.format() != null ? opt.format() : detect(in);
        Checkpoint source = readRaw(in, format);
        Map<String, Tensor> raw = source.tensors();
        Map<String, String> sourceMeta = source.metadata();
        String sourceFormat = format == Format.SAFETENSORS
                ? sourceMeta.getOrDefault(KEY_SOURCE_FORMAT, "safetensors") : format.name().toLowerCase(Locale.ROOT);
        boolean torchvisionNames = raw.keySet().stream().anyMatch(k -> k.startsWith("features.") || k.startsWith("classifier."));
        Map<String, Tensor> tensors;
        try {
            tensors = Vgg16.validate(Vgg16.fromTorchvisionNames(raw));
        } catch (WeightsException e) {
            throw new WeightsException(in + ": " + e.getMessage(), e);
        }

        Preprocessing pre;
        Convention convention;
        if (opt.convention() != null) {
            convention = opt.convention();
            pre = convention.preprocessing;
        } else if (sourceMeta.containsKey(Preprocessing.KEY_ORDER)) {
            pre = Preprocessing.fromMetadata(sourceMeta);
            convention = sourceMeta.containsKey(KEY_CONVENTION) ? Convention.parse(sourceMeta.get(KEY_CONVENTION))
                    : pre.channelOrder() == Preprocessing.ChannelOrder.BGR ? Convention.CAFFE : Convention.PYTORCH;
        } else {
            // The spec ties the convention to the naming: torchvision names are PyTorch-trained,
            // conv1_1 ... fc8 names are Caffe's VGG_ILSVRC_16_layers.
            convention = format == Format.CAFFE || !torchvisionNames ? Convention.CAFFE : Convention.PYTORCH;
            pre = convention.preprocessing;
        }
        if (opt.mean() != null) pre = pre.withMean(opt.mean());
        if (opt.std() != null) pre = pre.withStd(opt.std());

        Map<String, Tensor> f32 = new LinkedHashMap<>();
        tensors.forEach((k, t) -> f32.put(k, t.asF32()));
        Vgg16.Topology topo = Vgg16.topology(tensors);

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(KEY_FORMAT, FORMAT_NAME);
        meta.put(KEY_FORMAT_VERSION, "1");
        meta.put(KEY_ARCHITECTURE, "vgg16");
        meta.put(KEY_SOURCE_FORMAT, sourceFormat);
        meta.put(KEY_SOURCE_FILE, sourceMeta.getOrDefault(KEY_SOURCE_FILE, String.valueOf(in.getFileName())));
        meta.put(KEY_CONVENTION, convention.name().toLowerCase(Locale.ROOT));
        meta.putAll(pre.toMetadata());
        meta.put(KEY_NUM_CLASSES, Integer.toString(topo.classes()));
        return new Checkpoint(f32, meta);
    }

    /** Converts {@code in} to the engine's format at {@code out} (atomically; no overwrite unless asked). */
    public static Checkpoint convert(Path in, Path out, Options opt, boolean overwrite) {
        if (!overwrite && Files.exists(out)) throw new WeightsException(out + " already exists (use --force to overwrite it)");
        if (Files.exists(out) && Files.exists(in)) {
            try {
                if (Files.isSameFile(in, out)) throw new WeightsException("input and output are the same file: " + in);
            } catch (IOException e) {
                throw new WeightsException("cannot read " + in + ": " + AtomicFiles.describe(e), e);
            }
        }
        Checkpoint c = load(in, opt);
        Safetensors.write(out, c, overwrite);
        return c;
    }
}
