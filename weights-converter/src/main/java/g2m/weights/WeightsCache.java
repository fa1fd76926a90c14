package g2m.weights;

import g2m.weights.safetensors.Safetensors;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Turns any weights file the converter reads into an engine-format file: an engine file is
 * used in place; anything else is converted once and kept in {@code <cache>/converted/} under
 * its content's SHA-256, so the next run with the same file skips the conversion.
 */
public final class WeightsCache {
    private WeightsCache() {}

    /** True for a safetensors file that already carries the engine's metadata. */
    public static boolean isEngineFile(Path file) {
        if (WeightsConverter.detect(file) != WeightsConverter.Format.SAFETENSORS) return false;
        return WeightsConverter.FORMAT_NAME.equals(Safetensors.read(file).metadata().get(WeightsConverter.KEY_FORMAT));
    }

    /** The engine-format file for {@code weights}, converting into the cache if needed. */
    public static Path resolve(Path weights, Path cacheDir) {
        if (isEngineFile(weights)) return weights;
        Path cached = cacheDir.resolve("converted").resolve(sha256(weights).substring(0, 32) + ".safetensors");
        if (Files.exists(cached)) return cached;
        WeightsConverter.convert(weights, cached, WeightsConverter.Options.DEFAULT, true);
        return cached;
    }

    /** The SHA-256 of the file's content, in hex; one-line {@link WeightsException}s for a missing or unreadable file. */
    public static String sha256(Path file) {
        InputFiles.requireRegularFile(file);
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + ": no such file");
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + AtomicFiles.describe(e), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
