package g2m.weights;

import com.sun.management.ThreadMXBean;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A bounded random-mutation fuzzer for the weights parsers: it mutates a valid file (byte
 * flips, truncation, duplicated or deleted spans, planted huge length fields), parses each
 * mutant and checks that only {@link WeightsException} (or the parser's own error type) escapes and that the bytes allocated by
 * a parse stay within {@code factor * input + slack}.
 */
public final class FuzzSupport {
    private FuzzSupport() {}

    private static final ThreadMXBean THREADS = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    public static byte[] mutate(byte[] seed, Random r) {
        byte[] b = seed.clone();
        int ops = 1 + r.nextInt(4);
        for (int k = 0; k < ops && b.length > 0; k++) {
            switch (r.nextInt(6)) {
                case 0 -> { // flip a few bytes
                    for (int i = 0; i < 1 + r.nextInt(8); i++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                }
                case 1 -> b = Arrays.copyOf(b, r.nextInt(b.length)); // truncate
                case 2 -> { // plant a huge little-endian length (4 or 8 bytes)
                    int at = r.nextInt(b.length);
                    long v = r.nextBoolean() ? 0x7fff_fff0L : (1L << (20 + r.nextInt(43)));
                    for (int i = 0; i < (r.nextBoolean() ? 4 : 8) && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
                }
                case 3 -> { // delete a span
                    int from = r.nextInt(b.length);
                    int to = Math.min(b.length, from + 1 + r.nextInt(64));
                    byte[] c = new byte[b.length - (to - from)];
                    System.arraycopy(b, 0, c, 0, from);
                    System.arraycopy(b, to, c, from, b.length - to);
                    b = c;
                }
                case 4 -> { // duplicate a span
                    int from = r.nextInt(b.length);
                    int len = Math.min(b.length - from, 1 + r.nextInt(64));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, from + len);
                    System.arraycopy(b, from, c, from + len, b.length - from);
                    b = c;
                }
                default -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8)); // single bit
            }
        }
        return b;
    }

    /**
     * Parses {@code mutants} mutants of {@code seed} written to {@code dir}; fails on any
     * exception other than WeightsException and on allocation beyond the bound.
     * Returns how many mutants were rejected (the rest parsed).
     */
    public static int fuzz(byte[] seed, Path dir, String fileName, long seedValue, int mutants, long factor,
                           long slackBytes, Consumer<Path> parser) throws IOException {
        return fuzz(seed, dir, fileName, seedValue, mutants, factor, slackBytes, WeightsException.class, parser);
    }

    /** As above, for a parser whose own error type is {@code expected} (the engine's readers use theirs). */
    public static int fuzz(byte[] seed, Path dir, String fileName, long seedValue, int mutants, long factor,
                           long slackBytes, Class<? extends RuntimeException> expected, Consumer<Path> parser) throws IOException {
        Random r = new Random(seedValue);
        Path f = dir.resolve(fileName);
        int rejected = 0;
        for (int i = 0; i < mutants; i++) {
            byte[] m = mutate(seed, r);
            Files.write(f, m);
            long before = THREADS.getCurrentThreadAllocatedBytes();
            try {
                parser.accept(f);
            } catch (RuntimeException e) {
                if (!expected.isInstance(e)) {
                    Path keep = dir.resolve("crash-" + i + "-" + fileName);
                    Files.write(keep, m);
                    fail("mutant " + i + " (kept as " + keep + ") threw " + e, e);
                }
                rejected++;
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank() && !e.getMessage().contains("\n"),
                        "error message must be one non-empty line, got: " + e.getMessage());
            } catch (Throwable t) {
                Path keep = dir.resolve("crash-" + i + "-" + fileName);
                Files.write(keep, m);
                fail("mutant " + i + " (kept as " + keep + ") threw " + t, t);
            }
            long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            long bound = factor * m.length + slackBytes;
            assertTrue(allocated <= bound, "mutant " + i + " of " + m.length + " bytes made the parser allocate "
                    + allocated + " bytes (bound " + bound + ")");
        }
        return rejected;
    }
}
