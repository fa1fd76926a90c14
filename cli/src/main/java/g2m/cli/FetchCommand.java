package g2m.cli;

import g2m.weights.fetch.WeightsFetcher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "fetch", mixinStandardHelpOptions = true,
        description = {"Download published weights, verify the SHA-256 prefix in their file name, convert them and keep "
                + "the result in the cache ($G2M_CACHE, default ~/.cache/g2m).",
                "Models: vgg16 (torchvision's vgg16-397923af.pth, 528 MB)."})
final class FetchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MODEL", description = "model name: vgg16")
    String model;

    @Option(names = "--url", paramLabel = "URL",
            description = "download from this URL instead (a mirror); its file name must keep the -<sha256 prefix> part")
    URI url;

    @Option(names = "--cache", paramLabel = "DIR", description = "cache folder (default: $G2M_CACHE, else ~/.cache/g2m)")
    Path cache;

    @Option(names = "--force", description = "download again even if the converted file is cached")
    boolean force;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "give up when connecting, or waiting for more bytes, takes longer than this (default: ${DEFAULT-VALUE})")
    long timeoutSeconds;

    @Option(names = "--deadline", paramLabel = "SECONDS", defaultValue = "3600",
            description = "give up when the whole download takes longer than this (default: ${DEFAULT-VALUE})")
    long deadlineSeconds;

    @Option(names = "--max-size", paramLabel = "MIB", defaultValue = "2048",
            description = "give up when the file is larger than this many MiB (default: ${DEFAULT-VALUE})")
    long maxMib;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        positive("--timeout", timeoutSeconds);
        positive("--deadline", deadlineSeconds);
        positive("--max-size", maxMib);
        if (maxMib > Long.MAX_VALUE >> 20) throw new Main.UserException("--max-size " + maxMib + " is too large");
        WeightsFetcher.Limits limits = new WeightsFetcher.Limits(Duration.ofSeconds(timeoutSeconds),
                Duration.ofSeconds(deadlineSeconds), maxMib << 20);
        URI source = url != null ? url : WeightsFetcher.known(model);
        Path dir = cache != null ? cache : WeightsFetcher.defaultCache();
        Path target = WeightsFetcher.cachedFile(dir, source);
        if (Files.exists(target) && !force) {
            out.println("already cached: " + target + " (use --force to download again)");
            return 0;
        }
        Progress progress = new Progress(out, source);
        Path result;
        try {
            result = WeightsFetcher.fetch(source, dir, force, limits, progress::bytes);
        } finally {
            progress.done();
        }
        out.println("cached: " + result);
        return 0;
    }

    private static void positive(String option, long value) {
        if (value <= 0) throw new Main.UserException(option + " must be a positive number, got " + value);
    }

    /**
     * Says "downloading" once the first bytes arrive, then the byte count about every 5 s (or on
     * one updating line on a terminal). On stdout, with the result: stderr holds only the one
     * line of an error.
     */
    private static final class Progress {
        private final PrintWriter out;
        private final URI source;
        private final boolean tty = System.console() != null;
        private long last = System.nanoTime();
        private boolean started, printed;

        Progress(PrintWriter out, URI source) {
            this.out = out;
            this.source = source;
        }

        void bytes(long n) {
            if (!started) {
                started = true;
                out.println("downloading " + source);
                out.flush();
            }
            long now = System.nanoTime();
            if (now - last < (tty ? 200_000_000L : 5_000_000_000L)) return;
            last = now;
            printed = true;
            String s = String.format("  %.1f MB", n / 1e6);
            if (tty) out.print("\r" + s);
            else out.println(s);
            out.flush();
        }

        void done() {
            if (printed && tty) out.println();
        }
    }
}
