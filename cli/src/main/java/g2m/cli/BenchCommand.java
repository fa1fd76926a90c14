package g2m.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import g2m.cli.ProcessMemory;
import g2m.backend.Backend;
import g2m.backend.Backends;
import g2m.backend.Precision;
import g2m.maps.MapMethod;
import g2m.net.RandomVgg16;
import g2m.net.Tap;
import g2m.net.Vgg16Net;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsCache;
import g2m.weights.fetch.WeightsFetcher;
import g2m.weights.safetensors.Safetensors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure map throughput: warm-up, then repeated timed runs of one forward + one backward pass "
                + "on random 224x224 inputs; prints ONE JSON line on stdout.",
                "Without --weights: full-size VGG16 with seeded random weights (no download)."})
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--layer", defaultValue = "conv5_1", paramLabel = "TAP[,TAP…]", description = "tap(s) (default: ${DEFAULT-VALUE})")
    String layer;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "N", description = "images per pass (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--methods", defaultValue = "layercam,sgl-g1,sgl-g2,dgl", paramLabel = "M[,M…]", description = "(default: ${DEFAULT-VALUE})")
    String methods;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "cpu|cuda|auto", description = "(default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|tf32|fp16|bf16",
            description = "arithmetic of the products (default: ${DEFAULT-VALUE}; fast modes: tf32, fp16, bf16 on CUDA, bf16 on the CPU)")
    String precision;

    @Option(names = "--threads", defaultValue = "0", paramLabel = "N", description = "CPU threads, 0 = all cores, at most 1024 (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--weights", paramLabel = "FILE", description = "weights to use instead of random ones")
    Path weights;

    @Option(names = "--size", defaultValue = "224", paramLabel = "PIXELS", description = "input side (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "untimed runs first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--seconds", defaultValue = "10", paramLabel = "S", description = "time budget for timed runs (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--min-runs", defaultValue = "5", paramLabel = "N", description = "at least this many timed runs (default: ${DEFAULT-VALUE})")
    int minRuns;

    @Option(names = "--input-file", paramLabel = "FILE.npy",
            description = {"network input instead of random values: a float32 ('<f4') C-order .npy of shape [N,3,H,W], "
                    + "already preprocessed; N and H x W are taken from it (--batch / --size, if given, must match)"})
    Path inputFile;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        List<Tap> taps;
        List<MapMethod> ms;
        Precision prec;
        try {
            taps = Tap.parseList(layer);
            ms = MapMethod.parseList(methods);
            prec = Precision.parse(precision);
            MapsJob.checkPrecision(Backends.normalize(device), prec);
        } catch (IllegalArgumentException e) {
            throw new Main.UserException(e.getMessage());
        }
        if (batch < 1 || size < Vgg16Net.MIN_SIDE || minRuns < 1 || warmup < 0) {
            throw new Main.UserException("--batch must be >= 1, --size >= " + Vgg16Net.MIN_SIDE + ", --min-runs >= 1, --warmup >= 0");
        }
        if (!(seconds >= 0 && seconds <= 1e6)) throw new Main.UserException("--seconds must be 0 to 1000000, got " + seconds);
        OptionChecks.threads(threads);
        int h = size, wd = size;
        float[] x = null;
        if (inputFile != null) {
            NpyInput in = NpyInput.read(inputFile);
            var pr = spec.commandLine().getParseResult();
            if (pr != null && pr.hasMatchedOption("--batch") && batch != in.n()) {
                throw new Main.UserException(inputFile + " holds " + in.n() + " images but --batch is " + batch);
            }
            if (pr != null && pr.hasMatchedOption("--size") && (size != in.h() || size != in.w())) {
                throw new Main.UserException(inputFile + " holds " + in.h() + "x" + in.w() + " inputs but --size is " + size);
            }
            if (in.h() < Vgg16Net.MIN_SIDE || in.w() < Vgg16Net.MIN_SIDE) {
                throw new Main.UserException(inputFile + ": inputs are " + in.h() + "x" + in.w()
                        + ", height and width must be at least " + Vgg16Net.MIN_SIDE);
            }
            batch = in.n();
            h = in.h();
            wd = in.w();
            x = in.data();
        }
        try (Backend b = Backends.open(device, threads, prec); Vgg16Net net = new Vgg16Net(b, openWeights())) {
            long fits = net.maxBatch(h, wd, taps.stream().min(Enum::compareTo).orElseThrow());
            if (fits < 1) {
                throw new Main.UserException("inputs of " + h + "x" + wd + " are too large: one needs arrays over the " + b.name()
                        + " backend's limit of " + b.maxArrayElements() + " elements (use a smaller --size)");
            }
            if (batch > fits) {
                throw new Main.UserException("--batch " + batch + " is too large at " + h + "x" + wd + ": at most " + fits
                        + " input(s) fit in one pass on the " + b.name() + " backend");
            }
            if (x == null) {                      // random input, made once the size is known to fit
                x = new float[batch * 3 * h * wd];
                SplittableRandom r = new SplittableRandom(1);
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 4 - 2);
            }
            for (int i = 0; i < warmup; i++) net.run(x, batch, h, wd, null, taps, ms);
            List<Double> ms1 = new ArrayList<>();
            long end = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() < end || ms1.size() < minRuns) {
                long t0 = System.nanoTime();
                net.run(x, batch, h, wd, null, taps, ms);
                ms1.add((System.nanoTime() - t0) / 1e6);
            }
            double[] lat = ms1.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            double mean = Arrays.stream(lat).average().orElseThrow();
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("device", b.description());
            o.put("layer", layer);
            o.put("batch", batch);
            o.put("methods", methods);
            o.put("weights", weights == null ? "random full-size VGG16 (seed 7)" : weights.toString());
            o.put("input", h + "x" + wd);
            if (inputFile != null) o.put("input_file", inputFile.toString());
            o.put("runs", lat.length);
            double p50 = percentile(lat, 0.50); // rates from the median run, as the PyTorch peer reports
            o.put("images_per_s", round(batch * 1000.0 / p50));
            o.put("maps_per_s", round(batch * ms.size() * taps.size() * 1000.0 / p50));
            o.put("mean_ms", round(mean));
            o.put("p50_ms", round(p50));
            o.put("p99_ms", round(percentile(lat, 0.99)));
            o.put("peak_rss_mb", peakRssMb());
            if (b.peakDeviceBytes() >= 0) o.put("peak_device_mb", round(b.peakDeviceBytes() / 1048576.0));
            spec.commandLine().getOut().println(o.toString());
        }
        return 0;
    }

    /** Opened after the backend, so a missing GPU is reported before a large weights file is read. */
    private Checkpoint openWeights() {
        return weights == null ? RandomVgg16.create(7) : Safetensors.read(WeightsCache.resolve(weights, WeightsFetcher.defaultCache()));
    }

    static double percentile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    /** VmHWM of this process in MiB (Linux), or -1 where /proc is absent. */
    static double peakRssMb() {
        long kib = ProcessMemory.peakRssKib();
        return kib < 0 ? -1 : round(kib / 1024.0);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    /**
     * A network input read from a NumPy {@code .npy} file: format 1.0, 2.0 or 3.0, dtype {@code '<f4'}
     * (float32 little-endian), C order, shape {@code (N, 3, H, W)}, nothing after the data. The
     * header is checked strictly; every problem is a {@link Main.UserException} naming the file.
     */
    record NpyInput(int n, int h, int w, float[] data) {
        static final int MAX_HEADER = 1 << 16;

        static NpyInput read(Path file) {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
                long fileSize = ch.size();
                java.nio.ByteBuffer pre = java.nio.ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                readFully(ch, pre, file);
                pre.flip();
                byte[] magic = new byte[6];
                pre.get(magic);
                if (magic[0] != (byte) 0x93 || !"NUMPY".equals(new String(magic, 1, 5, java.nio.charset.StandardCharsets.ISO_8859_1))) {
                    throw bad(file, "not a .npy file (no \\x93NUMPY magic)");
                }
                int major = pre.get() & 0xff, minor = pre.get() & 0xff;
                long headerLen;
                int prefix;
                if (major == 1 && minor == 0) {
                    headerLen = pre.getShort() & 0xffff;
                    prefix = 10;
                } else if ((major == 2 || major == 3) && minor == 0) {
                    headerLen = pre.getInt() & 0xffffffffL;
                    prefix = 12;
                } else {
                    throw bad(file, "unsupported .npy format version " + major + "." + minor + " (1.0, 2.0 or 3.0)");
                }
                if (headerLen > MAX_HEADER || prefix + headerLen > fileSize) {
                    throw bad(file, "header length " + headerLen + " is past the end of the file or too long");
                }
                java.nio.ByteBuffer hb = java.nio.ByteBuffer.allocate((int) headerLen);
                ch.position(prefix);
                readFully(ch, hb, file);
                String header = new String(hb.array(), major == 3 ? java.nio.charset.StandardCharsets.UTF_8
                        : java.nio.charset.StandardCharsets.ISO_8859_1);
                long[] shape = parseHeader(file, header);
                if (shape.length != 4 || shape[1] != 3) {
                    throw bad(file, "shape is " + Arrays.toString(shape) + ", expected [N, 3, H, W]");
                }
                if (shape[0] < 1 || shape[2] < 1 || shape[3] < 1) throw bad(file, "shape " + Arrays.toString(shape) + " is empty");
                long count = shape[0] * 3;
                for (int i = 2; i < 4; i++) {
                    if (shape[i] > Integer.MAX_VALUE || (count = count * shape[i]) > Integer.MAX_VALUE - 16) {
                        throw bad(file, "shape " + Arrays.toString(shape) + " is too large (more than 2^31 values)");
                    }
                }
                long dataBytes = fileSize - prefix - headerLen;
                if (dataBytes != count * 4) {
                    throw bad(file, "holds " + dataBytes + " data bytes, shape " + Arrays.toString(shape) + " needs " + count * 4);
                }
                java.nio.ByteBuffer db = java.nio.ByteBuffer.allocate((int) dataBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                readFully(ch, db, file);
                db.flip();
                float[] v = new float[(int) count];
                db.asFloatBuffer().get(v);
                return new NpyInput((int) shape[0], (int) shape[2], (int) shape[3], v);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new Main.UserException("no such file: " + file);
            } catch (IOException e) {
                throw new Main.UserException("cannot read " + file + ": " + e.getMessage());
            }
        }

        private static void readFully(java.nio.channels.FileChannel ch, java.nio.ByteBuffer b, Path file) throws IOException {
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) throw bad(file, "truncated");
            }
        }

        /** Header text fit for a one-line message: whitespace collapsed, at most 120 characters. */
        static String clip(String t) {
            String v = t.strip().replaceAll("\\s+", " ");
            return v.length() <= 120 ? v : v.substring(0, 117) + "...";
        }

        private static Main.UserException bad(Path file, String why) {
            return new Main.UserException(file + ": " + why);
        }

        /**
         * The header dict, as numpy writes it: {'descr': '<f4', 'fortran_order': False, 'shape': (N, 3, H, W), }
         * (any key order, either quote, trailing commas, padding spaces, one final newline).
         */
        static long[] parseHeader(Path file, String header) {
            if (!header.endsWith("\n")) throw bad(file, "header does not end with a newline");
            HeaderParser p = new HeaderParser(file, header.substring(0, header.length() - 1));
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            p.expect('{');
            while (!p.peek('}')) {
                String key = p.string();
                p.expect(':');
                switch (key) {
                    case "descr" -> {
                        if (descr != null) throw bad(file, "header repeats 'descr'");
                        descr = p.string();
                    }
                    case "fortran_order" -> {
                        if (fortran != null) throw bad(file, "header repeats 'fortran_order'");
                        fortran = p.bool();
                    }
                    case "shape" -> {
                        if (shape != null) throw bad(file, "header repeats 'shape'");
                        shape = p.tuple();
                    }
                    default -> throw bad(file, "unexpected header key '" + clip(key) + "' (expected descr, fortran_order, shape)");
                }
                if (!p.peek('}')) p.expect(',');
            }
            p.expect('}');
            p.end();
            if (descr == null || fortran == null || shape == null) {
                throw bad(file, "header lacks " + (descr == null ? "'descr'" : fortran == null ? "'fortran_order'" : "'shape'"));
            }
            if (!descr.equals("<f4")) {
                throw bad(file, "dtype is '" + clip(descr) + "', expected float32 little-endian '<f4' (numpy: x.astype('<f4'))");
            }
            if (fortran) throw bad(file, "array is in Fortran order, expected C order (numpy: np.ascontiguousarray(x))");
            return shape;
        }

        /** A tokenizer for the tiny Python-literal subset .npy headers use. */
        private static final class HeaderParser {
            final Path file;
            final String s;
            int i;

            HeaderParser(Path file, String s) {
                this.file = file;
                this.s = s;
            }

            void skip() {
                while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) i++;
            }

            boolean peek(char c) {
                skip();
                return i < s.length() && s.charAt(i) == c;
            }

            void expect(char c) {
                if (!peek(c)) throw error("'" + c + "'");
                i++;
            }

            void end() {
                skip();
                if (i != s.length()) throw error("the end of the header");
            }

            String string() {
                skip();
                char q = i < s.length() ? s.charAt(i) : 0;
                if (q != '\'' && q != '"') throw error("a quoted string");
                int close = s.indexOf(q, i + 1);
                if (close < 0) throw error("a closing quote");
                String v = s.substring(i + 1, close);
                i = close + 1;
                return v;
            }

            boolean bool() {
                skip();
                if (s.startsWith("True", i)) {
                    i += 4;
                    return true;
                }
                if (s.startsWith("False", i)) {
                    i += 5;
                    return false;
                }
                throw error("True or False");
            }

            long[] tuple() {
                expect('(');
                List<Long> v = new ArrayList<>();
                while (!peek(')')) {
                    int start = i;
                    while (i < s.length() && Character.isDigit(s.charAt(i)) && i - start < 12) i++;
                    if (i == start || (i < s.length() && Character.isDigit(s.charAt(i)))) throw error("a dimension (0 .. 10^12)");
                    v.add(Long.parseLong(s.substring(start, i)));
                    if (!peek(')')) expect(',');
                }
                expect(')');
                return v.stream().mapToLong(Long::longValue).toArray();
            }

            Main.UserException error(String expected) {
                return bad(file, "bad .npy header at character " + i + ": expected " + expected + " in " + clip(s));
            }
        }
    }
}
