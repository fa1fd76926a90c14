package g2m.weights.pytorch;

import g2m.weights.Checkpoint;
import g2m.weights.DType;
import g2m.weights.Tensor;
import g2m.weights.Vgg16;
import g2m.weights.WeightsException;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The .pth reader against fixtures written by tools/fixtures/make_pth_fixtures.py, and hostile input. */
class PthReaderTest {

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        try {
            var url = PthReaderTest.class.getResource("/fixtures/" + name);
            if (url == null) throw new IllegalStateException("missing test fixture " + name);
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytes(Tensor t) {
        ByteBuffer b = t.data();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> got) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(got.keySet()));
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor g = got.get(e.getKey());
            assertEquals(e.getValue().dtype(), g.dtype(), e.getKey());
            assertArrayEquals(e.getValue().shape(), g.shape(), e.getKey());
            assertArrayEquals(bytes(e.getValue()), bytes(g), e.getKey() + " differs");
        }
    }

    /** Asserts a WeightsException whose one-line message starts with the file name. */
    static WeightsException refused(Path file) {
        WeightsException e = assertThrows(WeightsException.class, () -> PthReader.read(file));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    Path write(String name, byte[] data) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, data);
        return p;
    }

    // ---------------------------------------------------------------- valid files

    @ParameterizedTest
    @ValueSource(strings = {"tiny_vgg16_zip.pth", "tiny_vgg16_legacy.pth", "tiny_vgg16_nested_module.pth",
            "tiny_vgg16_views.pth", "tiny_vgg16_views_legacy.pth"})
    void float32FixturesMatchExpectedBitForBit(String name) {
        LinkedHashMap<String, Tensor> raw = PthReader.read(fixture(name));
        assertTrue(raw.containsKey("features.0.weight"), raw.keySet().toString()); // raw names, module. stripped
        Checkpoint expected = Safetensors.read(fixture("tiny_vgg16_expected.safetensors"));
        assertSameTensors(expected.tensors(), Vgg16.fromTorchvisionNames(raw));
        Vgg16.validate(Vgg16.fromTorchvisionNames(raw));
    }

    @Test
    void halfFixtureMatchesExpectedBitForBit() {
        LinkedHashMap<String, Tensor> raw = PthReader.read(fixture("tiny_vgg16_half.pth"));
        assertEquals(DType.F16, raw.get("features.0.weight").dtype());
        Checkpoint expected = Safetensors.read(fixture("tiny_vgg16_half_expected.safetensors"));
        assertSameTensors(expected.tensors(), Vgg16.fromTorchvisionNames(raw));
    }

    @Test
    void bfloat16AndFloat64StoragesKeepTheirType() {
        LinkedHashMap<String, Tensor> raw = PthReader.read(fixture("tiny_mixed_dtypes.pth"));
        assertEquals(DType.BF16, raw.get("a.bf16").dtype());
        assertEquals(DType.F64, raw.get("b.f64").dtype()); // saved as a transposed view
        assertSameTensors(Safetensors.read(fixture("tiny_mixed_dtypes_expected.safetensors")).tensors(), raw);
    }

    @Test
    void viewsShareTheirStorage() {
        LinkedHashMap<String, Tensor> raw = PthReader.read(fixture("tiny_vgg16_views.pth"));
        // the non-tensor entries extra.note and extra.nested are skipped
        assertEquals(32, raw.size());
        assertFalse(raw.containsKey("extra.note"));
    }

    @Test
    void unsupportedStorageTypeIsNamed() {
        Path f = fixture("tiny_long_tensor.pth");
        WeightsException e = refused(f);
        assertTrue(e.getMessage().contains("LongStorage"), e.getMessage());
    }

    @Test
    void looksLike() {
        assertTrue(PthReader.looksLike(new byte[] {'P', 'K', 3, 4, 0}));
        assertTrue(PthReader.looksLike(new byte[] {(byte) 0x80, 2, (byte) 0x8a}));
        assertFalse(PthReader.looksLike(new byte[] {'P', 'K', 5, 6}));
        assertFalse(PthReader.looksLike(new byte[] {'{', '"'}));
        assertFalse(PthReader.looksLike(new byte[0]));
    }

    // ---------------------------------------------------------------- hostile globals

    @ParameterizedTest
    @ValueSource(strings = {"evil_global.pth", "evil_global_legacy.pth"})
    void hostileGlobalFixturesAreRefusedByName(String name) {
        WeightsException e = refused(fixture(name));
        assertTrue(e.getMessage().contains("refusing to load global 'os.system'"), e.getMessage());
    }

    @Test
    void everyOtherWayToReachAGlobalIsRefusedByName() throws IOException {
        // GLOBAL, INST, STACK_GLOBAL, and a disallowed global where a storage class belongs
        byte[][] pickles = {
                new Pkl().proto(2).global("posix", "system").str("id").tuple1().op('R').stop(),
                new Pkl().proto(2).op('(').str("id").inst("subprocess", "check_output").stop(),
                new Pkl().proto(4).str("builtins").str("eval").op(0x93).str("1").tuple1().op('R').stop(),
                tensorPickle("torch", "LoadStorage", 1, 0, new long[] {1}, new long[] {1}),
                new Pkl().proto(2).global("torch", "load").stop(),
        };
        String[] names = {"posix.system", "subprocess.check_output", "builtins.eval", "torch.LoadStorage", "torch.load"};
        for (int i = 0; i < pickles.length; i++) {
            Path f = write("g" + i + ".pth", zip(pickles[i], Map.of()));
            WeightsException e = refused(f);
            assertTrue(e.getMessage().contains("refusing to load global '" + names[i] + "'"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- crafted tensors

    static byte[] floats(int n) {
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(i);
        return b.array();
    }

    @Test
    void stridesAndOffsetsAreHonoured() throws IOException {
        // a 2x3 view, transposed, of elements 2.. of a 10-element storage: [[2,5],[3,6],[4,7]]
        byte[] pkl = tensorPickle("torch", "FloatStorage", 10, 2, new long[] {3, 2}, new long[] {1, 3});
        Tensor t = PthReader.read(write("t.pth", zip(pkl, Map.of("0", floats(10))))).get("w");
        assertArrayEquals(new long[] {3, 2}, t.shape());
        assertArrayEquals(new float[] {2, 5, 3, 6, 4, 7}, t.toFloats());
    }

    @Test
    void hostileStridesOffsetsAndSizesAreRefused() throws IOException {
        long big = 1L << 62;
        Object[][] cases = {
                {10L, 11L, new long[] {1}, new long[] {1}},              // offset past the end
                {10L, 0L, new long[] {11}, new long[] {1}},              // too many elements
                {10L, 0L, new long[] {2, 2}, new long[] {big, 1}},       // stride overflows
                {10L, 0L, new long[] {3}, new long[] {5}},               // strided past the end
                {10L, 0L, new long[] {1_000_000_000}, new long[] {0}},   // broadcast: 4 GB from 40 bytes
                {1L << 60, 0L, new long[] {1}, new long[] {1}},          // storage numel 2^60
                {10L, 0L, new long[] {1 << 20, 1 << 20}, new long[] {0, 0}}, // numel 2^40
        };
        for (int i = 0; i < cases.length; i++) {
            Object[] c = cases[i];
            byte[] pkl = tensorPickle("torch", "FloatStorage", (Long) c[0], (Long) c[1], (long[]) c[2], (long[]) c[3]);
            Path f = write("s" + i + ".pth", zip(pkl, Map.of("0", floats(10))));
            refused(f);
        }
    }

    @Test
    void missingStorageEntryAndBigEndianAreRefused() throws IOException {
        byte[] pkl = tensorPickle("torch", "FloatStorage", 10, 0, new long[] {10}, new long[] {1});
        assertTrue(refused(write("m.pth", zip(pkl, Map.of()))).getMessage().contains("missing"));
        Path big = write("b.pth", zip(pkl, Map.of("0", floats(10)), "big"));
        assertTrue(refused(big).getMessage().contains("big-endian"));
        Path little = write("l.pth", zip(pkl, Map.of("0", floats(10)), "little"));
        assertEquals(10, PthReader.read(little).get("w").numel());
    }

    // ---------------------------------------------------------------- corrupt and hostile bytes

    @Test
    void truncatedFilesAreRefused() throws IOException {
        for (String name : List.of("tiny_vgg16_zip.pth", "tiny_vgg16_legacy.pth")) {
            byte[] full = Files.readAllBytes(fixture(name));
            Path f = tmp.resolve("trunc-" + name);
            for (int len = 0; len < full.length; len += (len < 1024 || len > full.length - 1024) ? 7 : 997) {
                Files.write(f, Arrays.copyOf(full, len));
                refused(f);
            }
        }
    }

    @Test
    void randomBytesAreRefused() throws IOException {
        Random r = new Random(1);
        Path f = tmp.resolve("random.pth");
        for (int i = 0; i < 200; i++) {
            byte[] b = new byte[r.nextInt(4096)];
            r.nextBytes(b);
            if (i % 3 == 1 && b.length > 1) b[0] = (byte) 0x80;
            if (i % 3 == 2 && b.length > 4) System.arraycopy(new byte[] {'P', 'K', 3, 4}, 0, b, 0, 4);
            Files.write(f, b);
            refused(f);
        }
        assertTrue(refused(write("empty.pth", new byte[0])).getMessage().contains("empty"));
        refused(tmp.resolve("does-not-exist.pth"));
        refused(tmp);
    }

    /** Offset of the first storage's element count in a legacy file (after its five pickles). */
    static int firstStorageOffset(byte[] legacy) {
        ByteBuffer b = ByteBuffer.wrap(legacy);
        int p = 0;
        for (int i = 0; i < 5; i++) p = PickleScanner.scan(b, p, "test", 0);
        return p;
    }

    @Test
    void legacyElementCountOf2To60IsRefusedWithoutAllocating() throws IOException {
        byte[] b = Files.readAllBytes(fixture("tiny_vgg16_legacy.pth"));
        int at = firstStorageOffset(b);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, 1L << 60);
        Path f = write("count.pth", b);
        long before = allocated();
        WeightsException e = refused(f);
        assertTrue(allocated() - before < 16L << 20);
        assertTrue(e.getMessage().contains("1152921504606846976 elements"), e.getMessage());
    }

    @Test
    void bigEndianLegacyFileIsRefused() throws IOException {
        byte[] b = Files.readAllBytes(fixture("tiny_vgg16_legacy.pth"));
        int at = indexOf(b, "little_endian".getBytes(StandardCharsets.US_ASCII)) + "little_endian".length() + 2;
        assertEquals((byte) 0x88, b[at]); // NEWTRUE after BINPUT n
        b[at] = (byte) 0x89;
        assertTrue(refused(write("be.pth", b)).getMessage().contains("big-endian"));
    }

    @Test
    void hugeLengthFieldsAreRefusedWithoutAllocating() throws IOException {
        byte[][] pickles = {
                new Pkl().proto(3).op('B').u32(0xffff_fff0L).raw(new byte[16]).stop(),         // BINBYTES
                new Pkl().proto(2).op('X').u32(0x7fff_ffffL).raw("abc".getBytes()).stop(),     // BINUNICODE
                new Pkl().proto(2).op(0x8b).u32(0x7fff_0000L).raw(new byte[8]).stop(),         // LONG4
                new Pkl().proto(2).op('T').u32(0x8000_0000L).stop(),                           // BINSTRING < 0
                new Pkl().proto(4).op(0x8e).u64(1L << 60).stop(),                              // BINBYTES8
                new Pkl().proto(4).op(0x8d).u64(-1L).stop(),                                   // BINUNICODE8
                new Pkl().proto(5).op(0x96).u64(1L << 40).stop(),                              // BYTEARRAY8
        };
        for (int i = 0; i < pickles.length; i++) {
            Path f = write("len" + i + ".pth", zip(pickles[i], Map.of()));
            long before = allocated();
            refused(f);
            assertTrue(allocated() - before < 16L << 20, "allocated " + (allocated() - before));
        }
        // the same inside a legacy file, as its object pickle
        byte[] legacy = Files.readAllBytes(fixture("tiny_vgg16_legacy.pth"));
        ByteBuffer lb = ByteBuffer.wrap(legacy);
        int p = 0;
        for (int i = 0; i < 3; i++) p = PickleScanner.scan(lb, p, "test", 0);
        byte[] evil = concat(Arrays.copyOf(legacy, p), pickles[0]);
        long before = allocated();
        assertTrue(refused(write("len-legacy.pth", evil)).getMessage().contains("bytes but only"));
        assertTrue(allocated() - before < 16L << 20);
    }

    @Test
    void deepNestingIsRefused() throws IOException {
        Pkl marks = new Pkl().proto(2);
        for (int i = 0; i < 100_000; i++) marks.op('(');
        assertTrue(refused(write("marks.pth", zip(marks.stop(), Map.of()))).getMessage().contains("nests deeper"));

        Pkl lists = new Pkl().proto(2);
        for (int i = 0; i < 100_000; i++) lists.op(']');
        for (int i = 0; i < 99_999; i++) lists.op('a');
        assertTrue(refused(write("lists.pth", zip(lists.stop(), Map.of()))).getMessage().contains("no tensors found"));

        // a list containing itself, used as a dict key: hashing it would never end
        byte[] cyclic = new Pkl().proto(2).op('}').op(']').op('q').op(0).op('h').op(0).op('a').op('N').op('s').stop();
        assertTrue(refused(write("cyclic.pth", zip(cyclic, Map.of()))).getMessage().contains("dict key"));

        // nested tuples and dicts built without marks
        Pkl tuples = new Pkl().proto(2).op('N');
        for (int i = 0; i < 100_000; i++) tuples.op(0x85);
        refused(write("tuples.pth", zip(tuples.stop(), Map.of())));
    }

    @Test
    void unknownOpcodesAndOtherOddPicklesAreRefused() throws IOException {
        byte[][] pickles = {
                new Pkl().proto(2).op(0xff).stop(),
                new Pkl().proto(2).op(0x82).op(1).stop(),         // EXT1
                new Pkl().proto(2).op(0x8f).stop(),               // EMPTY_SET
                new Pkl().proto(2).op('R').stop(),                // REDUCE on an empty stack
                new Pkl().proto(2).op('N').op(')').op('R').stop(), // calling None
                new Pkl().proto(2).op('I').raw("99999999999999999999999999999999\n".getBytes()).stop(),
                new Pkl().proto(2).op('L').raw(("9".repeat(100_000) + "\n").getBytes()).stop(),
                new Pkl().proto(2).op('h').op(7).stop(),          // unknown memo key
                new Pkl().proto(9).op('N').stop(),                // unknown protocol
                new Pkl().proto(2).op('N').op('Q').stop(),        // persistent id None
                new Pkl().proto(2).op('}').op('N').op('b').stop(),// BUILD on a dict
                new Pkl().proto(2).str("x").stop(),               // not a dict
                new Pkl().proto(2).op('}').stop(),                // no tensors
                new Pkl().proto(2).op('N').out.toByteArray(),     // no STOP
        };
        for (int i = 0; i < pickles.length; i++) refused(write("odd" + i + ".pth", zip(pickles[i], Map.of())));
    }

    /** The entries of a zip, re-written with every entry DEFLATED (as `zip -r` would; torch.load reads such a file). */
    byte[] deflated(byte[] zip) throws IOException {
        Path src = write("to-deflate.zip", zip);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (var in = new java.util.zip.ZipFile(src.toFile()); ZipOutputStream z = new ZipOutputStream(out)) {
            z.setLevel(9);
            for (var en = in.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                ZipEntry d = new ZipEntry(e.getName());
                d.setMethod(ZipEntry.DEFLATED);
                z.putNextEntry(d);
                try (var data = in.getInputStream(e)) {
                    data.transferTo(z);
                }
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    @Test
    void deflatedEntriesAreInflated() throws IOException {
        byte[] stored = Files.readAllBytes(fixture("tiny_vgg16_zip.pth"));
        assertSameTensors(PthReader.read(fixture("tiny_vgg16_zip.pth")), PthReader.read(write("deflated.pth", deflated(stored))));
        // zeros compress about 1000:1, far beyond the file's size: still read
        byte[] zeros = new byte[4 << 20];
        byte[] pkl = tensorPickle("torch", "FloatStorage", 1 << 20, 0, new long[] {1 << 20}, new long[] {1});
        Path z = write("zeros.pth", deflated(zip(pkl, Map.of("0", zeros))));
        assertTrue(Files.size(z) < zeros.length / 100, "compressed " + Files.size(z));
        Tensor w = PthReader.read(z).get("w");
        assertArrayEquals(zeros, bytes(w));
        // a deflated entry that declares more than deflate can expand its compressed bytes to: refused unread
        byte[] bomb = Files.readAllBytes(z);
        int cen = indexOfFrom(bomb, concat(new byte[] {0x50, 0x4b, 0x01, 0x02}, new byte[0]), 0);
        while (cen >= 0 && !new String(bomb, cen + 46, ByteBuffer.wrap(bomb, cen + 28, 2).order(ByteOrder.LITTLE_ENDIAN).getShort(),
                StandardCharsets.US_ASCII).equals("archive/data/0")) {
            cen = indexOfFrom(bomb, new byte[] {0x50, 0x4b, 0x01, 0x02}, cen + 4);
        }
        ByteBuffer.wrap(bomb).order(ByteOrder.LITTLE_ENDIAN).putInt(cen + 24, 0x7fff_0000); // uncompressed size
        long before = allocated();
        WeightsException e = refused(write("bomb.pth", bomb));
        assertTrue(e.getMessage().contains("compressed bytes can hold"), e.getMessage());
        assertTrue(allocated() - before < 64L << 20, "allocated " + (allocated() - before));
    }

    // ---------------------------------------------------------------- linear time

    /** The legacy fixture's magic-number pickle followed by {@code versionPickle}. */
    static byte[] legacyWithVersion(byte[] versionPickle) throws IOException {
        byte[] legacy = Files.readAllBytes(fixture("tiny_vgg16_legacy.pth"));
        int magicEnd = PickleScanner.scan(ByteBuffer.wrap(legacy), 0, "test", 0);
        return concat(Arrays.copyOf(legacy, magicEnd), versionPickle);
    }

    /** A LONG4 of {@code n} bytes (all 0x11, so a positive number of 8n bits). */
    static byte[] long4(int n) {
        byte[] digits = new byte[n];
        Arrays.fill(digits, (byte) 0x11);
        return new Pkl().proto(2).op(0x8b).u32(n).raw(digits).stop();
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard: its decimal text took 64 s at 8 MB
    void hugeIntegerAsProtocolVersionIsRefusedInLinearTime() throws IOException {
        WeightsException e = refused(write("long4.pth", legacyWithVersion(long4(8 << 20))));
        assertTrue(e.getMessage().contains("8388608-byte integer"), e.getMessage());
        // one just under the cap reaches the version check, which names its size, not its digits
        WeightsException small = refused(write("long4-small.pth", legacyWithVersion(long4(PickleScanner.MAX_LONG4_BYTES))));
        assertTrue(small.getMessage().contains("protocol version (a 8189-bit number)"), small.getMessage());
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard: Pyrolite re-copied the list or stack each time
    void manyShortAppendsAndPopMarksTakeLinearTime() throws IOException {
        // one list grown by a million APPENDS of one item each (4 MB)
        WeightsException appends = refused(write("appends.pth", zip(dense("\u0080\u0002]", "(K\u0001e", 1_000_000), Map.of())));
        assertTrue(appends.getMessage().contains("list"), appends.getMessage());
        // a million items on the stack, then half a million MARK, POP_MARK pairs
        WeightsException popMarks = refused(write("popmarks.pth", zip(dense("\u0080\u0002" + "N".repeat(1_000_000), "(1", 500_000),
                Map.of())));
        assertTrue(popMarks.getMessage().contains("None"), popMarks.getMessage());
        // APPEND and APPENDS onto something that is not a list: a plain message, no Java class names
        for (String pkl : new String[] {"\u0080\u0002}K\u0001a.", "\u0080\u0002}(K\u0001e."}) {
            WeightsException e = refused(write("append-dict.pth", zip(dense(pkl, "", 0), Map.of())));
            assertTrue(e.getMessage().contains("list items added to a dict"), e.getMessage());
        }
        WeightsException empty = refused(write("append-empty.pth", zip(dense("\u0080\u0002a.", "", 0), Map.of())));
        assertFalse(empty.getMessage().matches(".*[A-Z][a-z]+Exception.*"), empty.getMessage());
    }

    /**
     * {'w0': tensor of storage keys[0], 'w1': ...}: each a one-element float tensor of its own
     * storage, the globals and constant strings memoized so each tensor costs about 60 bytes.
     */
    static byte[] manyTensorsPickle(List<String> keys, boolean legacy) {
        Pkl p = new Pkl().proto(2).op('}').op('(');
        for (int i = 0; i < keys.size(); i++) {
            boolean first = i == 0;
            p.str("w" + i);
            if (first) p.global("torch._utils", "_rebuild_tensor_v2").op('q').op(0); else p.op('h').op(0);
            p.op('(').op('(');
            if (first) p.str("storage").op('q').op(1); else p.op('h').op(1);
            if (first) p.global("torch", "FloatStorage").op('q').op(2); else p.op('h').op(2);
            p.str(keys.get(i));
            if (first) p.str("cpu").op('q').op(3); else p.op('h').op(3);
            p.op('K').op(1);
            if (legacy) p.op('N');
            p.op('t').op('Q').op('K').op(0).op('K').op(1).tuple1().op('K').op(1).tuple1().op(0x89);
            if (first) p.global("collections", "OrderedDict").op('q').op(4); else p.op('h').op(4);
            p.op(')').op('R').op('t').op('R');
        }
        return p.op('u').stop();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard
    void zipEntryNamesChosenToCollideAreReadInLinearTime() throws IOException {
        // 2^16 storages whose entry names all share one String hash ("Aa" and "BB" collide): looking
        // each up by name walked a chain of all 65,536 entries (about 90 s)
        int bits = 16;
        List<String> keys = new ArrayList<>();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (int i = 0; i < 1 << bits; i++) {
            StringBuilder k = new StringBuilder();
            for (int b = 0; b < bits; b++) k.append((i >> b & 1) == 0 ? "Aa" : "BB");
            keys.add(k.toString());
            storages.put(k.toString(), ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(i).array());
        }
        assertEquals(1, keys.stream().map(k -> ("archive/data/" + k).hashCode()).distinct().count());
        LinkedHashMap<String, Tensor> got = PthReader.read(write("collide.pth", zip(manyTensorsPickle(keys, false), storages)));
        assertEquals(1 << bits, got.size());
        assertEquals(54_321f, got.get("w54321").toFloats()[0]);
    }

    @Test
    void duplicateZipEntryNamesAreRefused() throws IOException {
        // two central-directory entries of one name: readers could disagree about which is meant
        byte[] z = zip(tensorPickle("torch", "FloatStorage", 1, 0, new long[] {1}, new long[] {1}),
                Map.of("0", new byte[4], "1", new byte[4]));
        byte[] from = "archive/data/1".getBytes(StandardCharsets.US_ASCII);
        byte[] to = "archive/data/0".getBytes(StandardCharsets.US_ASCII);
        for (int at = 0; (at = indexOfFrom(z, from, at)) >= 0; at++) System.arraycopy(to, 0, z, at, to.length);
        assertTrue(refused(write("dup.pth", z)).getMessage().contains("twice"));
    }

    static int indexOfFrom(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard
    void legacyFileOver2GiBWithMoreStoragesThanMappingsIsRead() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/self/maps")), "needs Linux's /proc/self/maps to count mappings");
        // over 2 GiB (sparse), so the file cannot be one mapping; 70,000 storages, each of which
        // was mapped on its own (past the kernel's 65,530 mappings: a JVM crash)
        int n = 70_000;
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < n; i++) keys.add(Integer.toString(i));
        byte[] legacy = Files.readAllBytes(fixture("tiny_vgg16_legacy.pth"));
        ByteBuffer lb = ByteBuffer.wrap(legacy);
        int p = 0;
        for (int i = 0; i < 3; i++) p = PickleScanner.scan(lb, p, "test", 0); // magic, version, sys_info
        Pkl keyList = new Pkl().proto(2).op(']').op('(');
        for (String k : keys) keyList.str(k);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(legacy, 0, p);
        out.writeBytes(manyTensorsPickle(keys, true));
        out.writeBytes(keyList.op('e').stop());
        ByteBuffer storage = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) out.writeBytes(storage.putLong(0, 1).putFloat(8, i).array());
        Path f = write("big-legacy.pth", out.toByteArray());
        try (var raf = new java.io.RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength((1L << 31) + 4096); // sparse trailing bytes: no disk space
        }
        LinkedHashMap<String, Tensor> got = PthReader.read(f);
        long added = mappingCount(f); // of this file only: the JVM's own mappings come and go (heap, thread stacks)
        assertEquals(n, got.size());
        assertEquals(65_432f, got.get("w65432").toFloats()[0]);
        assertTrue(added < 10, "reading " + n + " storages added " + added + " memory mappings");
    }

    /** This process's memory mappings of file f (lines of /proc/self/maps naming it). */
    static long mappingCount(Path f) throws IOException {
        String name = f.toRealPath().toString();
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.endsWith(" " + name)).count();
        }
    }

    // ---------------------------------------------------------------- fuzz

    static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang guard: speed belongs in benchmarks
    void fuzzedFilesOnlyEverThrowWeightsExceptionAndAllocateBoundedMemory() throws IOException {
        List<byte[]> seeds = List.of(Files.readAllBytes(fixture("tiny_vgg16_zip.pth")),
                Files.readAllBytes(fixture("tiny_vgg16_legacy.pth")),
                Files.readAllBytes(fixture("tiny_vgg16_views_legacy.pth")),
                // inputs that once took quadratic time (see the linear-time tests above), small
                legacyWithVersion(long4(4096)),
                zip(dense("\u0080\u0002]", "(K\u0001e", 2000), Map.of()),
                zip(dense("\u0080\u0002" + "N".repeat(2000), "(1", 1000), Map.of()));
        Random r = new Random(20261125);
        Path f = tmp.resolve("fuzz.pth");
        PthReader.read(fixture("tiny_vgg16_zip.pth")); // warm up class loading
        PthReader.read(fixture("tiny_vgg16_legacy.pth"));
        long worst = 0;
        int ok = 0;
        long start = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
            byte[] seed = seeds.get(i % seeds.size());
            byte[] m = mutate(seed, r, firstStorageOffset(seeds.get(1)));
            Files.write(f, m);
            long before = allocated();
            try {
                PthReader.read(f);
                ok++;
            } catch (WeightsException e) {
                assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            } catch (Throwable t) {
                Files.write(tmp.resolve("crash.pth"), m);
                fail("mutant " + i + " threw " + t, t);
            }
            long used = allocated() - before;
            worst = Math.max(worst, used - 8L * m.length);
            assertTrue(used <= 8L * m.length + (1L << 20), "mutant " + i + " allocated " + used + " bytes for "
                    + m.length + " input bytes");
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.println("fuzz: 2000 mutants, " + ok + " parsed, worst excess allocation " + worst + " bytes, " + ms + " ms");
    }

    /** A pickle made of one short opcode sequence repeated: the most objects per input byte. */
    static byte[] dense(String prefix, String unit, int n) {
        StringBuilder sb = new StringBuilder(prefix);
        for (int i = 0; i < n; i++) sb.append(unit);
        sb.append('.');
        byte[] b = new byte[sb.length()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) sb.charAt(i);
        return b;
    }

    @Test
    void opcodeDensePicklesAllocateAtMostAFixedMultipleOfTheirSize() throws IOException {
        int n = 50_000;
        List<byte[]> pickles = List.of(
                dense("\u0080\u0002", "}", n),                     // EMPTY_DICT: about 80 bytes per input byte
                dense("\u0080\u0004}", "\u0094", n),               // MEMOIZE
                dense("\u0080\u0002", "(t", n / 2),                // MARK TUPLE
                dense("\u0080\u0002", "2", n),                     // DUP
                dense("\u0080\u0002V", "\\u1234", n / 6),         // escaped text
                dense("\u0080\u0002", "\u008a\u0008\u0001\u0001\u0001\u0001\u0001\u0001\u0001\u0001", n / 10));
        PthReader.read(fixture("tiny_vgg16_zip.pth"));
        for (int i = 0; i < pickles.size(); i++) {
            Path f = write("dense" + i + ".pth", zip(pickles.get(i), Map.of()));
            long size = Files.size(f);
            long before = allocated();
            refused(f);
            long used = allocated() - before;
            assertTrue(used <= 128 * size + (1L << 20), "pickle " + i + " allocated " + used + " bytes for " + size);
        }
    }

    static byte[] mutate(byte[] seed, Random r, int legacyCountOffset) {
        byte[] b = seed.clone();
        int kind = r.nextInt(6);
        switch (kind) {
            case 0 -> { // flip a few bytes, mostly near the start where the pickles and zip headers are
                int n = 1 + r.nextInt(4);
                for (int k = 0; k < n; k++) {
                    int at = r.nextBoolean() ? r.nextInt(Math.min(b.length, 2048)) : r.nextInt(b.length);
                    b[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length)); // truncate
            case 2 -> { // overwrite a length-like field
                int at = r.nextInt(b.length - 8);
                long v = switch (r.nextInt(5)) {
                    case 0 -> 0x7fff_ffffL;
                    case 1 -> 0xffff_ffffL;
                    case 2 -> 1L << 60;
                    case 3 -> -1L;
                    default -> r.nextInt(1 << 20);
                };
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
            }
            case 3 -> { // insert a length field after a random opcode-ish byte
                int at = r.nextInt(Math.min(b.length, 4096));
                byte[] ins = ByteBuffer.allocate(5).order(ByteOrder.LITTLE_ENDIAN)
                        .put((byte) "BXT\u008b".charAt(r.nextInt(4))).putInt(r.nextBoolean() ? 0x7fff_fff0 : r.nextInt()).array();
                b = concat(concat(Arrays.copyOf(b, at), ins), Arrays.copyOfRange(b, at, b.length));
            }
            case 4 -> { // a legacy storage count (when it is a legacy seed) or a random long
                int at = seed[0] == (byte) 0x80 ? legacyCountOffset : r.nextInt(b.length - 8);
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, r.nextBoolean() ? 1L << 60 : r.nextLong());
            }
            default -> { // replace a random range with random bytes
                int at = r.nextInt(b.length);
                int n = Math.min(b.length - at, 1 + r.nextInt(64));
                byte[] junk = new byte[n];
                r.nextBytes(junk);
                System.arraycopy(junk, 0, b, at, n);
            }
        }
        return b;
    }

    // ---------------------------------------------------------------- helpers

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalStateException("not found");
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static byte[] zip(byte[] dataPkl, Map<String, byte[]> storages) throws IOException {
        return zip(dataPkl, storages, null);
    }

    /** A zip-format checkpoint with the archive folder "archive", entries stored uncompressed. */
    static byte[] zip(byte[] dataPkl, Map<String, byte[]> storages, String byteorder) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            Map<String, byte[]> entries = new LinkedHashMap<>();
            entries.put("archive/data.pkl", dataPkl);
            if (byteorder != null) entries.put("archive/byteorder", byteorder.getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> s : storages.entrySet()) entries.put("archive/data/" + s.getKey(), s.getValue());
            entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                ze.setMethod(ZipEntry.STORED);
                ze.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setCrc(crc.getValue());
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    /** {'w': _rebuild_tensor_v2(storage('0', numel), offset, size, stride, False, OrderedDict())}. */
    static byte[] tensorPickle(String storageModule, String storageClass, long numel, long offset, long[] size, long[] stride) {
        Pkl p = new Pkl().proto(2).op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
        p.op('(').str("storage").global(storageModule, storageClass).str("0").str("cpu").integer(numel).op('t').op('Q');
        p.integer(offset).op('(');
        for (long s : size) p.integer(s);
        p.op('t').op('(');
        for (long s : stride) p.integer(s);
        p.op('t').op(0x89).global("collections", "OrderedDict").op(')').op('R').op('t').op('R').op('s');
        return p.stop();
    }

    /** A tiny pickle writer for hand-made opcode streams. */
    static final class Pkl {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pkl op(int code) {
            out.write(code);
            return this;
        }

        Pkl raw(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        Pkl proto(int v) {
            return op(0x80).op(v);
        }

        Pkl u32(long v) {
            return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        }

        Pkl u64(long v) {
            return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        Pkl str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return op('X').u32(b.length).raw(b);
        }

        Pkl global(String module, String name) {
            return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }

        Pkl inst(String module, String name) {
            return op('i').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
        }

        Pkl tuple1() {
            return op(0x85);
        }

        /** LONG1 with 8 bytes: any long. */
        Pkl integer(long v) {
            return op(0x8a).op(8).u64(v);
        }

        byte[] stop() {
            return op('.').out.toByteArray();
        }
    }
}
