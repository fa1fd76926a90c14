package g2m.weights.safetensors;

import g2m.weights.Checkpoint;
import g2m.weights.DType;
import g2m.weights.FuzzSupport;
import g2m.weights.Tensor;
import g2m.weights.WeightsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static Checkpoint sample() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("a.weight", Tensor.ofFloats("a.weight", new long[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, -0f, 6e30f}));
        t.put("a.bias", Tensor.ofFloats("a.bias", new long[] {3}, new float[] {0.25f, 1e-7f, -9}));
        t.put("empty", Tensor.ofFloats("empty", new long[] {0, 4}, new float[0]));
        return new Checkpoint(t, Map.of("architecture", "vgg16", "note", "ünïcode ✓"));
    }

    @Test
    void roundTripIsBitExactAndKeepsOrderAndMetadata() {
        Path f = dir.resolve("x.safetensors");
        Checkpoint c = sample();
        Safetensors.write(f, c, false);
        Checkpoint r = Safetensors.read(f);
        assertEquals(c.metadata(), r.metadata());
        assertEquals(c.tensors().keySet().stream().toList(), r.tensors().keySet().stream().toList());
        for (Tensor t : c.tensors().values()) {
            Tensor u = r.tensors().get(t.name());
            assertEquals(t.dtype(), u.dtype());
            assertArrayEquals(t.shape(), u.shape());
            assertEquals(t.data(), u.data(), t.name());
        }
    }

    @Test
    void headerIsPaddedToEightBytesAndDataIsLittleEndian() throws IOException {
        Path f = dir.resolve("x.safetensors");
        Safetensors.write(f, sample(), false);
        byte[] b = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        // first tensor value (1.0f) right after the header, little-endian
        assertEquals(1.0f, ByteBuffer.wrap(b, (int) (8 + n), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
    }

    @Test
    void existingOutputIsNotOverwrittenWithoutForce() throws IOException {
        Path f = dir.resolve("x.safetensors");
        Files.writeString(f, "precious");
        WeightsException e = assertThrows(WeightsException.class, () -> Safetensors.write(f, sample(), false));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals("precious", Files.readString(f));
        Safetensors.write(f, sample(), true);
        assertEquals(3, Safetensors.read(f).tensors().size());
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file is left behind");
        }
    }

    @Test
    void readsHalfAndBfloat16() {
        // 1.5 in F16 is 0x3E00; 1.5 in BF16 is 0x3FC0; -2 in BF16 is 0xC000
        ByteBuffer h = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3E00).putShort((short) 0xC000).flip();
        ByteBuffer bf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3FC0).putShort((short) 0xC000).flip();
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("h", new Tensor("h", DType.F16, new long[] {2}, h));
        t.put("b", new Tensor("b", DType.BF16, new long[] {2}, bf));
        Path f = dir.resolve("h.safetensors");
        Safetensors.write(f, new Checkpoint(t, Map.of()), false);
        Checkpoint r = Safetensors.read(f);
        assertArrayEquals(new float[] {1.5f, -2f}, r.tensors().get("h").toFloats());
        assertArrayEquals(new float[] {1.5f, -2f}, r.tensors().get("b").toFloats());
    }

    /** A file with the given JSON header and {@code dataBytes} zero bytes of data. */
    private Path raw(String header, int dataBytes) throws IOException {
        return raw(header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private Path raw(long declaredLen, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLen).put(h);
        Path f = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(f, b.array());
        return f;
    }

    private String rejected(Path f) {
        WeightsException e = assertThrows(WeightsException.class, () -> Safetensors.read(f));
        assertFalse(e.getMessage().contains("\n"));
        return e.getMessage();
    }

    @Test
    void rejectsHostileHeaders() throws IOException {
        String ok = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertEquals(1, Safetensors.read(raw(ok, 8)).tensors().size());

        assertTrue(rejected(raw(1L << 60, ok, 8)).contains("header length"));
        assertTrue(rejected(raw(-1L, ok, 8)).contains("header length"));
        assertTrue(rejected(raw(ok.length() + 100L, ok, 8)).contains("exceeds the file"));
        assertTrue(rejected(raw(ok, 4)).contains("truncated"));
        assertTrue(rejected(raw(ok, 12)).contains("trailing"));
        assertTrue(rejected(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)).contains("shape needs 12 bytes"));
        assertTrue(rejected(raw("{\"t\":{\"dtype\":\"I8\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8)).contains("unsupported tensor dtype"));
        assertTrue(rejected(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[1152921504606846976,16],\"data_offsets\":[0,8]}}", 8)).contains("impossible shape"));
        assertTrue(rejected(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8)).contains("non-negative"));
        assertTrue(rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("overlap"));
        assertTrue(rejected(raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)).contains("gap"));
        assertTrue(rejected(raw("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8)).contains("before it begins"));
        assertTrue(rejected(raw("{\"t\":1,\"t\":2}", 0)).contains("JSON"));
        assertTrue(rejected(raw("[1,2,3]", 0)).contains("not a JSON object"));
        assertTrue(rejected(raw("{\"__metadata__\":{\"k\":5}}", 0)).contains("not a string"));
        assertTrue(rejected(raw("{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0)).contains("JSON"));
        assertTrue(rejected(raw("not json at all", 0)).contains("JSON"));
        String longName = rejected(raw("{\"" + "n".repeat(60_000) + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        assertTrue(longName.contains("Name length (60000) exceeds the maximum allowed (50000)"), longName);
        assertFalse(longName.contains("StreamReadConstraints"), longName);
        String nl = rejected(raw("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
        assertTrue(nl.contains("a\\u000ab"), nl);
        Files.write(dir.resolve("short"), new byte[] {1, 2, 3});
        assertTrue(rejected(dir.resolve("short")).contains("too short"));
        assertTrue(rejected(dir.resolve("missing")).contains("no such file"));
    }

    @Test
    void fuzzedFilesFailCleanlyWithBoundedMemory() throws IOException {
        Path f = dir.resolve("seed.safetensors");
        Safetensors.write(f, sample(), false);
        byte[] seed = Files.readAllBytes(f);
        int rejected = FuzzSupport.fuzz(seed, dir, "m.safetensors", 42, 3000, 64, 4 << 20, p -> {
            Checkpoint c = Safetensors.read(p);
            c.tensors().values().forEach(Tensor::toFloats);
        });
        assertTrue(rejected > 1500, "most mutants of a tightly validated format are rejected, got " + rejected);
    }

    @Test
    void pythonWrittenFileReadsAsWritten() throws Exception {
        Path f = Path.of(getClass().getResource("/fixtures/tiny_vgg16_expected.safetensors").toURI());
        Checkpoint c = Safetensors.read(f);
        assertEquals(32, c.tensors().size());
        assertEquals(Arrays.toString(new long[] {4, 3, 3, 3}), Arrays.toString(c.tensors().get("conv1_1.weight").shape()));
    }

    /** A valid file of {@code n} one-element F32 tensors named t0, t1, ... holding 0, 1, ... */
    static Path manyTinyTensors(Path f, int n) throws IOException {
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < n; i++) {
            if (i > 0) h.append(',');
            h.append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(4L * i).append(',').append(4L * i + 4).append("]}");
        }
        byte[] json = h.append('}').toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        for (int i = 0; i < n; i++) b.putFloat(i);
        Files.write(f, b.array());
        return f;
    }

    static long mappingCount() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    @Test
    void tensorsShareOneMappingOfTheFile() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "needs Linux's /proc/self/maps to count mappings");
        Path f = manyTinyTensors(dir.resolve("many.safetensors"), 5_000);
        long before = mappingCount();
        Checkpoint c = Safetensors.read(f);
        long added = mappingCount() - before;
        assertEquals(5_000, c.tensors().size());
        assertTrue(added < 10, "reading 5,000 tensors added " + added + " memory mappings (one per tensor would exhaust"
                + " the kernel's 65,530 on larger files)");
        assertEquals(4_321f, c.tensors().get("t4321").toFloats()[0]);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard
    void moreTensorsThanTheKernelAllowsMappingsAreRead() throws IOException {
        // 100,000 tensors (6.6 MB): one mapping per tensor passed vm.max_map_count (65,530) and crashed the JVM
        Checkpoint c = Safetensors.read(manyTinyTensors(dir.resolve("100k.safetensors"), 100_000));
        assertEquals(100_000, c.tensors().size());
        float sum = 0;
        for (Tensor t : c.tensors().values()) sum += t.toFloats()[0];
        assertEquals(99_999f * 100_000f / 2, sum, 1e6f);
        assertEquals(99_999f, c.tensors().get("t99999").toFloats()[0]);
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard
    void namesWhoseHashesCollideAreReadNotRefusedAsAnAttack() throws IOException {
        // "aB" and "b!" collide under Jackson's symbol-table hash (h * 33 + c) whatever its seed:
        // 2^12 names from 12 such pairs share one hash chain
        StringBuilder h = new StringBuilder("{");
        int n = 1 << 12;
        for (int i = 0; i < n; i++) {
            StringBuilder name = new StringBuilder();
            for (int bit = 0; bit < 12; bit++) name.append((i >> bit & 1) == 0 ? "aB" : "b!");
            if (i > 0) h.append(',');
            h.append('"').append(name).append("\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[")
                    .append(4L * i).append(',').append(4L * i + 4).append("]}");
        }
        Checkpoint c = Safetensors.read(raw(h.append('}').toString(), 4 * n));
        assertEquals(n, c.tensors().size());
    }
}
