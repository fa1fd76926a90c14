package g2m.weights.fetch;

import g2m.weights.AtomicFiles;
import g2m.weights.Checkpoint;
import g2m.weights.WeightsConverter;
import g2m.weights.WeightsException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads published weights, checks the SHA-256 prefix that the file name carries
 * (torchvision's convention: {@code vgg16-397923af.pth}), converts them to the engine's format
 * and keeps only the converted file in the cache.
 */
public final class WeightsFetcher {
    private WeightsFetcher() {}

    /** Models that {@code fetch} knows by name. */
    public static final Map<String, URI> KNOWN = Map.of(
            "vgg16", URI.create("https://download.pytorch.org/models/vgg16-397923af.pth"));

    private static final Pattern HASHED_NAME = Pattern.compile("^(.+)-([0-9a-f]{8,64})\\.[A-Za-z0-9]+$");

    /** The cache folder: {@code $G2M_CACHE}, else {@code ~/.cache/g2m}. */
    public static Path defaultCache() {
        String env = System.getenv("G2M_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "g2m");
    }

    /** The cached, converted file for a download URL ({@code vgg16-397923af.safetensors}). */
    public static Path cachedFile(Path cacheDir, URI url) {
        return cacheDir.resolve(hashedName(url).stem + ".safetensors");
    }

    /** Where a known model's converted weights live in the cache, whether or not present. */
    public static Path cachedFile(Path cacheDir, String model) {
        return cachedFile(cacheDir, known(model));
    }

    public static URI known(String model) {
        URI u = KNOWN.get(model);
        if (u == null) throw new WeightsException("unknown model '" + model + "' (known: " + String.join(", ", KNOWN.keySet()) + ")");
        return u;
    }

    private record HashedName(String fileName, String stem, String sha256Prefix) {}

    private static HashedName hashedName(URI url) {
        String path = url.getPath() == null ? "" : url.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        Matcher m = HASHED_NAME.matcher(name);
        if (!m.matches()) {
            throw new WeightsException("cannot verify " + url + ": the file name must end in -<sha256 prefix>.<ext>, like vgg16-397923af.pth");
        }
        return new HashedName(name, name.substring(0, name.lastIndexOf('.')), m.group(2));
    }

    /**
     * Fetches {@code url} into {@code cacheDir} unless its converted file is already there
     * (then {@code overwrite} decides). Progress goes to {@code progress} as bytes so far.
     * Returns the converted file.
     */
    public static Path fetch(URI url, Path cacheDir, boolean overwrite, Duration timeout, LongConsumer progress) {
        HashedName hn = hashedName(url);
        Path target = cacheDir.resolve(hn.stem + ".safetensors");
        if (Files.exists(target) && !overwrite) return target;
        try {
            Files.createDirectories(cacheDir);
        } catch (IOException e) {
            throw new WeightsException("cannot create cache folder " + cacheDir + ": " + AtomicFiles.describe(e), e);
        }
        Path download = null;
        try {
            download = Files.createTempFile(cacheDir, "." + hn.fileName + ".", ".part");
            String sha = download(url, download, timeout, progress);
            if (!sha.startsWith(hn.sha256Prefix)) {
                throw new WeightsException("download of " + url + " is corrupt: its SHA-256 is " + sha.substring(0, 16)
                        + "…, the file name promises " + hn.sha256Prefix + "…; nothing was cached");
            }
            Checkpoint c = WeightsConverter.load(download, new WeightsConverter.Options(WeightsConverter.Format.PYTORCH, null, null, null));
            var meta = new java.util.LinkedHashMap<>(c.metadata());
            meta.put(WeightsConverter.KEY_SOURCE_FILE, hn.fileName);
            meta.put("source_url", url.toString());
            meta.put("source_sha256", sha);
            g2m.weights.safetensors.Safetensors.write(target, new Checkpoint(c.tensors(), meta), true);
            return target;
        } catch (IOException e) {
            throw new WeightsException("cannot write to cache folder " + cacheDir + ": " + AtomicFiles.describe(e), e);
        } finally {
            if (download != null) {
                try {
                    Files.deleteIfExists(download);
                } catch (IOException ignored) {
                    // a leftover hidden .part file in the cache is harmless
                }
            }
        }
    }

    /**
     * Streams the body to {@code dest}, returning its SHA-256 in hex. {@code timeout} bounds
     * connecting and every wait for more bytes, so a stalled server cannot hang the download.
     */
    private static String download(URI url, Path dest, Duration timeout, LongConsumer progress) {
        HttpURLConnection conn = null;
        try {
            conn = (HttpURLConnection) url.toURL().openConnection();
            conn.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            conn.setReadTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            conn.setInstanceFollowRedirects(true);
            int status = conn.getResponseCode();
            if (status != 200) {
                throw new WeightsException("cannot download " + url + ": the server answered HTTP " + status);
            }
            long expected = conn.getContentLengthLong();
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            long total = 0;
            try (InputStream in = conn.getInputStream(); OutputStream out = Files.newOutputStream(dest)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                    total += n;
                    progress.accept(total);
                }
            }
            if (expected >= 0 && total != expected) {
                throw new WeightsException("download of " + url + " broke off after " + total + " of " + expected + " bytes");
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (UnknownHostException e) {
            throw noNetwork(url, "unknown host " + url.getHost());
        } catch (SocketTimeoutException e) {
            throw noNetwork(url, "no answer within " + timeout.toSeconds() + " s");
        } catch (ConnectException e) {
            throw noNetwork(url, "connection refused or no route");
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new WeightsException("cannot download " + url + ": not an http(s) URL");
        } catch (IOException e) {
            throw noNetwork(url, AtomicFiles.describe(e));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            if (conn != null) conn.disconnect();
        }
    }

    private static WeightsException noNetwork(URI url, String why) {
        String name = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
        return new WeightsException("cannot download " + url + " (" + why + "). Without network access, copy " + name
                + " here by other means and run: java -jar g2m-engine.jar convert " + name + " vgg16.safetensors");
    }
}
