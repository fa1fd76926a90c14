package g2m.weights.caffe;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.management.ThreadMXBean;
import g2m.weights.Checkpoint;
import g2m.weights.DType;
import g2m.weights.Tensor;
import g2m.weights.Vgg16;
import g2m.weights.WeightsException;
import g2m.weights.caffe.proto.CaffeMin.BlobProto;
import g2m.weights.caffe.proto.CaffeMin.BlobShape;
import g2m.weights.caffe.proto.CaffeMin.LayerParameter;
import g2m.weights.caffe.proto.CaffeMin.NetParameter;
import g2m.weights.caffe.proto.CaffeMin.V1LayerParameter;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The .caffemodel reader against fixtures written by tools/fixtures/make_caffe_fixtures.py
 * (Python protobuf, an independent writer), against protobuf-java's generated parser for the
 * same schema (as an oracle), and against hostile input.
 */
class CaffeModelReaderTest {

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            var url = CaffeModelReaderTest.class.getResource("/fixtures/" + name);
            if (url == null) throw new IllegalStateException("missing test fixture " + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The expected tensors (written by tools/fixtures/tiny_vgg.py, independently of the reader). */
    static List<Checkpoint> expected() {
        return List.of(Safetensors.read(fixture("tiny_vgg16_expected.safetensors")));
    }

    static byte[] bytes(Tensor t) {
        ByteBuffer b = t.data();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    // ---------------------------------------------------------------- valid files

    @ParameterizedTest
    @ValueSource(strings = {"tiny_vgg16_v2.caffemodel", "tiny_vgg16_v1.caffemodel", "tiny_vgg16_v1_unpacked.caffemodel"})
    void fixturesMatchExpectedBitForBit(String name) {
        LinkedHashMap<String, Tensor> raw = CaffeModelReader.read(fixture(name));
        // blob-less layers (data, relu, pool, dropout, prob) produce nothing; order is file order
        assertEquals(Vgg16.tensorNames(), new ArrayList<>(raw.keySet()));
        Map<String, Tensor> validated = Vgg16.validate(raw);
        for (Checkpoint exp : expected()) {
            assertEquals(new ArrayList<>(exp.tensors().keySet()), new ArrayList<>(validated.keySet()));
            for (Map.Entry<String, Tensor> e : exp.tensors().entrySet()) {
                Tensor got = validated.get(e.getKey());
                assertEquals(DType.F32, got.dtype(), e.getKey());
                assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                assertArrayEquals(bytes(e.getValue()), bytes(got), e.getKey() + " differs");
            }
        }
    }

    @Test
    void v1KeepsLegacyShapesV2UsesShapeDims() {
        Map<String, Tensor> v1 = CaffeModelReader.read(fixture("tiny_vgg16_v1.caffemodel"));
        assertArrayEquals(new long[] {4, 3, 3, 3}, v1.get("conv1_1.weight").shape());
        assertArrayEquals(new long[] {1, 1, 1, 4}, v1.get("conv1_1.bias").shape());
        assertArrayEquals(new long[] {1, 1, 16, 392}, v1.get("fc6.weight").shape());
        assertArrayEquals(new long[] {1, 1, 1, 16}, v1.get("fc6.bias").shape());
        Map<String, Tensor> v2 = CaffeModelReader.read(fixture("tiny_vgg16_v2.caffemodel"));
        assertArrayEquals(new long[] {4}, v2.get("conv1_1.bias").shape());
        assertArrayEquals(new long[] {16, 392}, v2.get("fc6.weight").shape());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny_vgg16_v2.caffemodel", "tiny_vgg16_v1.caffemodel", "tiny_vgg16_v1_unpacked.caffemodel"})
    void agreesWithGeneratedParser(String name) throws IOException {
        Path f = fixture(name);
        assertSame(oracle(Files.readAllBytes(f)), CaffeModelReader.read(f));
    }

    @Test
    void doubleDataBecomesF64() throws IOException {
        double[] w = {1.5, -2.25, Math.PI, 1e-300, -0.0, 7};
        BlobProto.Builder blob = BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(2).addDim(3));
        for (double d : w) blob.addDoubleData(d);
        Path f = write("double.caffemodel", NetParameter.newBuilder()
                .addLayer(LayerParameter.newBuilder().setName("ip").setType("InnerProduct").addBlobs(blob)).build());
        Tensor t = CaffeModelReader.read(f).get("ip.weight");
        assertEquals(DType.F64, t.dtype());
        assertArrayEquals(new long[] {2, 3}, t.shape());
        double[] got = new double[6];
        t.data().asDoubleBuffer().get(got);
        assertArrayEquals(w, got);
    }

    @Test
    void looksLike() throws IOException {
        for (String n : List.of("tiny_vgg16_v2.caffemodel", "tiny_vgg16_v1.caffemodel")) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(fixture(n)), 64);
            assertTrue(CaffeModelReader.looksLike(head, "weights.bin"), n);
        }
        byte[] v2NoName = NetParameter.newBuilder().addLayer(LayerParameter.newBuilder().setName("conv1_1")).build().toByteArray();
        assertEquals(0xa2, v2NoName[0] & 0xff);
        assertTrue(CaffeModelReader.looksLike(v2NoName, "x"));
        assertTrue(CaffeModelReader.looksLike(new byte[0], "VGG_ILSVRC_16_layers.CaffeModel"));
        byte[] st = Arrays.copyOf(Files.readAllBytes(fixture("tiny_vgg16_expected.safetensors")), 64);
        assertFalse(CaffeModelReader.looksLike(st, "model.safetensors"));
        assertFalse(CaffeModelReader.looksLike("PK\u0003\u0004 a zip".getBytes(), "model.pth"));
        assertFalse(CaffeModelReader.looksLike(new byte[] {0x0a, 0x01, 0x00, 0, 0, 0, 0, 0, '{'}, "x"));
        assertFalse(CaffeModelReader.looksLike(new byte[] {0x12}, "x"));
    }

    // ---------------------------------------------------------------- bad files

    WeightsException rejects(Path f) {
        WeightsException e = assertThrows(WeightsException.class, () -> CaffeModelReader.read(f));
        String m = e.getMessage();
        assertTrue(m.startsWith(f.toString()), "message must start with the file name: " + m);
        assertFalse(m.contains("\n") || m.contains("\r"), "message must be one line: " + m);
        return e;
    }

    void rejects(Path f, String... fragments) {
        String m = rejects(f).getMessage();
        for (String s : fragments) assertTrue(m.contains(s), "expected '" + s + "' in: " + m);
    }

    @Test
    void wrongCount() {
        rejects(fixture("caffe_wrong_count.caffemodel"), "'conv1_1'", "107", "108");
    }

    @Test
    void threeBlobs() {
        rejects(fixture("caffe_three_blobs.caffemodel"), "'conv1_1'", "3 blobs");
    }

    @Test
    void truncated() throws IOException {
        for (String n : List.of("tiny_vgg16_v2.caffemodel", "tiny_vgg16_v1.caffemodel", "tiny_vgg16_v1_unpacked.caffemodel")) {
            byte[] all = Files.readAllBytes(fixture(n));
            for (int len : new int[] {1, 2, 3, 7, 40, 200, 1000, all.length / 3, all.length / 2, all.length - 5, all.length - 1}) {
                rejects(write("cut" + len + "_" + n, Arrays.copyOf(all, len)));
            }
        }
    }

    @Test
    void randomBytes() throws IOException {
        Random r = new Random(42);
        for (int i = 0; i < 50; i++) {
            byte[] b = new byte[1 + r.nextInt(4096)];
            r.nextBytes(b);
            rejects(write("random" + i + ".caffemodel", b));
        }
    }

    @Test
    void emptyAndMissingFiles() throws IOException {
        rejects(write("empty.caffemodel", new byte[0]), "empty");
        rejects(tmp.resolve("absent.caffemodel"), "no such file");
        rejects(Files.createDirectory(tmp.resolve("dir.caffemodel")));
    }

    @Test
    void hugeDeclaredShape() throws IOException {
        BlobProto blob = BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(1L << 40).addDim(1L << 40))
                .addData(1).addData(2).build();
        rejects(write("huge_shape.caffemodel", net(layer("conv1_1", blob))), "'conv1_1'", "overflows");
        BlobProto big = BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(1L << 20).addDim(1L << 20))
                .addData(1).build();
        rejects(write("big_shape.caffemodel", net(layer("conv1_1", big))), "'conv1_1'", "1 values", "1099511627776");
        BlobProto negative = BlobProto.newBuilder().setNum(-1).setChannels(-1).setHeight(1).setWidth(1).addData(1).build();
        rejects(write("negative.caffemodel", net(layer("conv1_1", negative))), "negative");
    }

    @Test
    void hugeDeclaredLengths() throws IOException {
        // a layer, a blob and a packed data run that each claim ~2 GiB: refused before any allocation
        byte[] layerClaim = {(byte) 0xa2, 0x06, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x0a, 0x01, 'x'};
        rejects(write("layer_claim.caffemodel", layerClaim), "claims 2147483647 bytes");
        byte[] ok = net(layer("c", BlobProto.newBuilder().addData(1).build()));
        byte[] dataClaim = concat(Arrays.copyOf(ok, ok.length - 5), new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f});
        rejects(write("data_claim.caffemodel", dataClaim));
        byte[] negativeLength = {0x12, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
        rejects(write("negative_length.caffemodel", negativeLength));
    }

    /** One layer whose blob has shape [n] and holds 0, 1, ..., n-1 as n packed data runs of one float each. */
    static byte[] manyPackedRuns(int n) {
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        blob.writeBytes(tagged(BlobProto.SHAPE_FIELD_NUMBER << 3 | 2, BlobShape.newBuilder().addDim(n).build().toByteArray()));
        ByteBuffer one = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) blob.writeBytes(tagged(BlobProto.DATA_FIELD_NUMBER << 3 | 2, one.putFloat(0, i).array()));
        byte[] layer = concat(tagged(LayerParameter.NAME_FIELD_NUMBER << 3 | 2, "conv1_1".getBytes()),
                tagged(LayerParameter.BLOBS_FIELD_NUMBER << 3 | 2, blob.toByteArray()));
        return tagged(NetParameter.LAYER_FIELD_NUMBER << 3 | 2, layer);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard: each run used to copy every value before it
    void manyPackedRunsInOneBlobAreReadInLinearTime() throws IOException {
        byte[] file = manyPackedRuns(400_000); // 2.4 MB: 59 s when each run copied all values so far
        LinkedHashMap<String, Tensor> got = CaffeModelReader.read(write("runs.caffemodel", file));
        assertSame(oracle(file), got);
        float[] v = got.get("conv1_1.weight").toFloats();
        assertEquals(400_000, v.length);
        assertEquals(123_456f, v[123_456]);
        assertEquals(399_999f, v[399_999]);
    }

    @Test
    void tooManyDimensionsAreRefused() throws IOException {
        BlobShape.Builder shape = BlobShape.newBuilder();
        for (int i = 0; i < 33; i++) shape.addDim(1);
        rejects(write("axes.caffemodel", net(layer("conv1_1", BlobProto.newBuilder().setShape(shape).addData(1).build()))),
                "33 dimensions");
    }

    @Test
    void deeplyNestedGroups() throws IOException {
        byte[] b = new byte[200_000];
        Arrays.fill(b, (byte) 0x0b); // start-group of field 1, over and over
        rejects(write("groups.caffemodel", b));
        byte[] endGroup = {0x0c};
        rejects(write("endgroup.caffemodel", endGroup));
    }

    @Test
    void structuralErrors() throws IOException {
        BlobProto one = BlobProto.newBuilder().setShape(BlobShape.newBuilder().addDim(1)).addData(1).build();
        rejects(write("dup.caffemodel", net(layer("conv1_1", one), layer("relu", null), layer("conv1_1", one))),
                "'conv1_1'", "twice");
        rejects(write("noname.caffemodel", NetParameter.newBuilder()
                .addLayer(LayerParameter.newBuilder().setType("Convolution").addBlobs(one)).build().toByteArray()), "no name");
        rejects(write("noweights.caffemodel", net(layer("data", null), layer("relu", null))), "none has weights");
        rejects(write("mixed.caffemodel", NetParameter.newBuilder()
                .addLayer(LayerParameter.newBuilder().setName("a").addBlobs(one))
                .addLayers(V1LayerParameter.newBuilder().setName("b").addBlobs(one)).build().toByteArray()), "V1");
        BlobProto both = one.toBuilder().addDoubleData(1).build();
        rejects(write("both.caffemodel", net(layer("ip", both))), "'ip'", "both float");
        rejects(write("name_only.caffemodel", NetParameter.newBuilder().setName("net").build().toByteArray()), "no layers");
        // a pre-2014 file: V1 entries whose field 1 is a nested V0 layer holding the blobs
        ByteArrayOutputStream v0 = new ByteArrayOutputStream();
        CodedOutputStream o = CodedOutputStream.newInstance(v0);
        byte[] v0layer = concat(new byte[] {0x0a, 0x01, 'c'}, tagged(50 << 3 | 2, one.toByteArray()));
        o.writeByteArray(NetParameter.LAYERS_FIELD_NUMBER, tagged(1 << 3 | 2, v0layer));
        o.flush();
        rejects(write("v0.caffemodel", v0.toByteArray()), "V0");
        // a hostile name is printed escaped, on one line
        rejects(write("evil.caffemodel", net(layer("a\nb\u0000c", null), layer("a\nb\u0000c", one), layer("a\nb\u0000c", one))),
                "a\\u000ab\\u0000c");
    }

    @Test
    void over2GiBIsRefusedUnread() throws IOException {
        Path f = tmp.resolve("too_big.caffemodel");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength((1L << 31) + 1); // sparse: takes no disk space
        }
        rejects(f, "2 GiB");
    }

    // ---------------------------------------------------------------- fuzzing

    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();
    /** Allocation bound per parse: FACTOR x input bytes + SLACK. */
    private static final long FACTOR = 6;
    private static final long SLACK = 1 << 20;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard: speed belongs in benchmarks
    void fuzz() throws IOException {
        long start = System.nanoTime();
        int parsed = 0;
        double worstRatio = 0;
        // seeds: the fixtures, and a blob of many packed runs (once quadratic, see manyPackedRuns...)
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        for (String n : List.of("tiny_vgg16_v2.caffemodel", "tiny_vgg16_v1.caffemodel")) seeds.put(n, Files.readAllBytes(fixture(n)));
        seeds.put("many_runs.caffemodel", manyPackedRuns(20_000));
        for (Map.Entry<String, byte[]> s : seeds.entrySet()) {
            String n = s.getKey();
            byte[] seed = s.getValue();
            Random r = new Random(n.hashCode() * 31L + 20261125);
            Path f = tmp.resolve("mutant_" + n);
            for (int i = 0; i < (n.startsWith("many") ? 300 : 1000); i++) {
                byte[] m = mutate(seed, r);
                Files.write(f, m);
                long before = THREADS.getCurrentThreadAllocatedBytes();
                LinkedHashMap<String, Tensor> got = null;
                try {
                    got = CaffeModelReader.read(f);
                } catch (WeightsException e) {
                    String msg = e.getMessage();
                    if (!msg.startsWith(f.toString()) || msg.contains("\n")) fail("mutant " + i + " of " + n + ": bad message: " + msg);
                } catch (Throwable t) {
                    Path keep = tmp.resolve("crash_" + i + "_" + n);
                    Files.write(keep, m);
                    fail("mutant " + i + " of " + n + " (kept as " + keep + ") threw " + t, t);
                }
                long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                if (m.length >= 16 * 1024) worstRatio = Math.max(worstRatio, (double) allocated / m.length);
                assertTrue(allocated <= FACTOR * m.length + SLACK, "mutant " + i + " of " + n + " (" + m.length
                        + " bytes) made the reader allocate " + allocated + " bytes");
                if (got != null) { // whatever the reader accepts, protobuf-java's parser reads the same way
                    parsed++;
                    LinkedHashMap<String, Tensor> want;
                    try {
                        want = oracle(m);
                    } catch (InvalidProtocolBufferException e) {
                        fail("mutant " + i + " of " + n + ": reader accepted what protobuf-java rejects: " + e);
                        return;
                    }
                    assertSame(want, got);
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("caffe fuzz: 2300 mutants, %d parsed, worst allocation %.1f x input (inputs >= 16 KiB), %.1f s%n",
                parsed, worstRatio, seconds);
        assertTrue(parsed > 0, "no mutant parsed: the mutations are too destructive to test the happy path");
    }

    /** Byte flips, truncations, inserted varints (small, huge and malformed), deletions. */
    static byte[] mutate(byte[] seed, Random r) {
        byte[] b = seed;
        int ops = 1 + r.nextInt(3);
        for (int k = 0; k < ops && b.length > 0; k++) {
            switch (r.nextInt(5)) {
                case 0 -> {
                    b = b.clone();
                    for (int i = 1 + r.nextInt(4); i > 0; i--) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                }
                case 1 -> {
                    b = b.clone();
                    b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                }
                case 2 -> b = Arrays.copyOf(b, r.nextInt(b.length));
                case 3 -> {
                    long v = switch (r.nextInt(4)) {
                        case 0 -> r.nextInt(128);
                        case 1 -> r.nextInt(1 << 16);
                        case 2 -> 0x7fff_ffffL - r.nextInt(16);
                        default -> r.nextLong();
                    };
                    byte[] varint = varint(v);
                    if (r.nextInt(8) == 0) varint = Arrays.copyOf(varint, varint.length - 1 + (varint.length == 1 ? 1 : 0));
                    int at = r.nextInt(b.length + 1);
                    b = concat(Arrays.copyOf(b, at), varint, Arrays.copyOfRange(b, at, b.length));
                }
                default -> {
                    int from = r.nextInt(b.length);
                    int to = Math.min(b.length, from + 1 + r.nextInt(16));
                    b = concat(Arrays.copyOf(b, from), Arrays.copyOfRange(b, to, b.length));
                }
            }
        }
        return b;
    }

    // ---------------------------------------------------------------- helpers

    /** The same mapping done with protobuf-java's generated parser: the reference. */
    static LinkedHashMap<String, Tensor> oracle(byte[] file) throws InvalidProtocolBufferException {
        NetParameter net = NetParameter.parseFrom(file);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (LayerParameter l : net.getLayerList()) addOracle(out, l.getName(), l.getBlobsList());
        for (V1LayerParameter l : net.getLayersList()) addOracle(out, l.getName(), l.getBlobsList());
        return out;
    }

    private static void addOracle(Map<String, Tensor> out, String layer, List<BlobProto> blobs) {
        for (int i = 0; i < blobs.size(); i++) {
            BlobProto b = blobs.get(i);
            long[] shape = b.hasShape() ? b.getShape().getDimList().stream().mapToLong(Long::longValue).toArray()
                    : b.hasNum() || b.hasChannels() || b.hasHeight() || b.hasWidth()
                    ? new long[] {b.getNum(), b.getChannels(), b.getHeight(), b.getWidth()} : new long[0];
            String name = layer + (i == 0 ? ".weight" : ".bias");
            if (b.getDoubleDataCount() > 0) {
                ByteBuffer buf = ByteBuffer.allocate(8 * b.getDoubleDataCount()).order(ByteOrder.LITTLE_ENDIAN);
                b.getDoubleDataList().forEach(buf::putDouble);
                out.put(name, new Tensor(name, DType.F64, shape, buf.flip()));
            } else {
                float[] f = new float[b.getDataCount()];
                for (int k = 0; k < f.length; k++) f[k] = b.getData(k);
                out.put(name, Tensor.ofFloats(name, shape, f));
            }
        }
    }

    static void assertSame(Map<String, Tensor> want, Map<String, Tensor> got) {
        assertEquals(new ArrayList<>(want.keySet()), new ArrayList<>(got.keySet()));
        for (String k : want.keySet()) {
            Tensor w = want.get(k);
            Tensor g = got.get(k);
            assertEquals(w.dtype(), g.dtype(), k);
            assertArrayEquals(w.shape(), g.shape(), k);
            if (w.dtype() == DType.F32) {
                // compared as floats: equal bits, except that any NaN equals any NaN
                assertArrayEquals(w.toFloats(), g.toFloats(), k);
            } else {
                double[] a = new double[(int) w.numel()];
                double[] c = new double[(int) g.numel()];
                w.data().asDoubleBuffer().get(a);
                g.data().asDoubleBuffer().get(c);
                assertArrayEquals(a, c, k);
            }
        }
    }

    Path write(String name, byte[] content) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, content);
        return f;
    }

    Path write(String name, NetParameter net) throws IOException {
        return write(name, net.toByteArray());
    }

    static LayerParameter layer(String name, BlobProto blob) {
        LayerParameter.Builder l = LayerParameter.newBuilder().setName(name);
        if (blob != null) l.addBlobs(blob);
        return l.build();
    }

    static byte[] net(LayerParameter... layers) {
        NetParameter.Builder n = NetParameter.newBuilder();
        for (LayerParameter l : layers) n.addLayer(l);
        return n.build().toByteArray();
    }

    static byte[] tagged(int tag, byte[] payload) {
        return concat(varint(tag), varint(payload.length), payload);
    }

    static byte[] varint(long v) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            o.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        o.write((int) v);
        return o.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }
}
