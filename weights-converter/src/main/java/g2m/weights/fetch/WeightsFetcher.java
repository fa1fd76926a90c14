package g2m.weights.fetch;

import g2m.weights.AtomicFiles;
import g2m.weights.Checkpoint;
import g2m.weights.TempFiles;
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
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
     * How long and how much a download may take: {@code timeout} bounds connecting and every
     * wait for more bytes, {@code deadline} the whole download (a server that drips a byte now
     * and then never trips the timeout), {@code maxBytes} its size (an endless body would fill
     * the disk).
     */
    public record Limits(Duration timeout, Duration deadline, long maxBytes) {
        /** 30 s per wait, one hour in all, 2 GiB (torchvision's VGG16 is 528 MB). */
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(30), Duration.ofHours(1), 2048L << 20);

        public Limits {
            if (timeout.isNegative() || timeout.isZero() || deadline.isNegative() || deadline.isZero() || maxBytes <= 0) {
                throw new WeightsException("download limits must be positive");
            }
        }
    }

    /**
     * Fetches {@code url} into {@code cacheDir} unless its converted file is already there
     * (then {@code overwrite} decides). Progress goes to {@code progress} as bytes so far.
     * Returns the converted file.
     */
    public static Path fetch(URI url, Path cacheDir, boolean overwrite, Limits limits, LongConsumer progress) {
        HashedName hn = hashedName(url);
        Path target = cacheDir.resolve(hn.stem + ".safetensors");
        if (Files.exists(target) && !overwrite) return target;
        Path download = null;
        Path created = firstMissing(cacheDir.toAbsolutePath()); // removed again if the fetch fails
        boolean ok = false;
        try {
            AtomicFiles.createFolder(cacheDir, target);
            // a hidden .part beside where the .pth would go, deleted on SIGINT/SIGTERM, swept if a killed run left one
            download = TempFiles.create(cacheDir.resolve(hn.fileName));
            String sha = download(url, download, limits, progress);
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
            ok = true;
            return target;
        } catch (IOException e) {
            throw new WeightsException("cannot write to cache folder " + cacheDir + ": " + AtomicFiles.describe(e), e);
        } finally {
            if (download != null) TempFiles.delete(download);
            if (!ok && created != null) removeEmptyFolders(cacheDir.toAbsolutePath(), created);
        }
    }

    /** The outermost folder of {@code dir} that does not exist yet (null if it all exists). */
    private static Path firstMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) missing = p;
        return missing;
    }

    /** Deletes {@code dir} and its parents up to {@code top} while they are empty. */
    private static void removeEmptyFolders(Path dir, Path top) {
        for (Path p = dir; p != null && p.startsWith(top); p = p.getParent()) {
            try {
                Files.delete(p);
            } catch (IOException e) {
                return; // not empty (or not ours to remove): stop
            }
        }
    }

    /**
     * Streams the body to {@code dest}, returning its SHA-256 in hex, within {@code limits}: a
     * watchdog drops the connection at the deadline (which also ends a wait for headers that
     * arrive a byte at a time), and the read loop checks the deadline and the size after every read.
     */
    private static String download(URI url, Path dest, Limits limits, LongConsumer progress) {
        HttpURLConnection conn;
        try {
            conn = (HttpURLConnection) url.toURL().openConnection();
        } catch (IllegalArgumentException | ClassCastException | IOException e) {
            throw new WeightsException("cannot download " + url + ": not an http(s) URL");
        }
        long deadline = System.nanoTime() + nanos(limits.deadline());
        AtomicBoolean expired = new AtomicBoolean();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "g2m fetch deadline");
            t.setDaemon(true);
            return t;
        });
        watchdog.schedule(() -> {
            expired.set(true);
            conn.disconnect();
        }, nanos(limits.deadline()), TimeUnit.NANOSECONDS);
        try {
            int timeoutMillis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, nanos(limits.timeout()) / 1_000_000));
            conn.setConnectTimeout(timeoutMillis);
            conn.setReadTimeout(timeoutMillis);
            conn.setInstanceFollowRedirects(true);
            int status = conn.getResponseCode();
            if (status != 200) {
                throw new WeightsException("cannot download " + url + ": the server answered HTTP " + status);
            }
            long expected = conn.getContentLengthLong();
            if (expected > limits.maxBytes()) throw tooLarge(url, "the server announces " + mb(expected), limits);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            long total = 0;
            // no CREATE: on SIGTERM while the headers are awaited, the shutdown hook deletes dest, and
            // this thread (still running) must not make it again (TempFiles created it)
            try (InputStream in = conn.getInputStream();
                 OutputStream out = Files.newOutputStream(dest, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (System.nanoTime() - deadline > 0) throw pastDeadline(url, limits);
                    total += n;
                    if (total > limits.maxBytes()) throw tooLarge(url, "it sent more than that", limits);
                    md.update(buf, 0, n);
                    out.write(buf, 0, n);
                    progress.accept(total);
                }
            }
            if (expected >= 0 && total != expected) {
                throw new WeightsException("download of " + url + " broke off after " + total + " of " + expected + " bytes");
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (UnknownHostException e) {
            throw noNetwork(url, "unknown host " + url.getHost());
        } catch (IOException e) {
            if (expired.get()) throw pastDeadline(url, limits);
            if (e instanceof SocketTimeoutException) throw noNetwork(url, "no answer within " + limits.timeout().toSeconds() + " s");
            if (e instanceof ConnectException) throw noNetwork(url, "connection refused or no route");
            throw noNetwork(url, AtomicFiles.describe(e));
        } catch (IllegalArgumentException e) {
            throw new WeightsException("cannot download " + url + ": not an http(s) URL");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            watchdog.shutdownNow();
            conn.disconnect();
        }
    }

    /** A duration in nanoseconds, at most about 146 years (so deadline arithmetic cannot overflow). */
    private static long nanos(Duration d) {
        return d.compareTo(Duration.ofNanos(Long.MAX_VALUE / 2)) > 0 ? Long.MAX_VALUE / 2 : d.toNanos();
    }

    private static String mb(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1e6);
    }

    private static WeightsException tooLarge(URI url, String what, Limits limits) {
        return new WeightsException("cannot download " + url + ": " + what + ", over the size limit of "
                + (limits.maxBytes() >> 20) + " MiB (raise it with --max-size); nothing was cached");
    }

    private static WeightsException pastDeadline(URI url, Limits limits) {
        return new WeightsException("cannot download " + url + ": not finished within " + limits.deadline().toSeconds()
                + " s (raise the limit with --deadline); nothing was cached");
    }

    private static WeightsException noNetwork(URI url, String why) {
        String name = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
        return new WeightsException("cannot download " + url + " (" + why + "). Without network access, copy " + name
                + " here by other means and run: java -jar g2m-engine.jar convert " + name + " vgg16.safetensors");
    }
}
