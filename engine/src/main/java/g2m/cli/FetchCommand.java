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

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30", description = "give up when connecting, or waiting for more bytes, takes longer than this (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        URI source = url != null ? url : WeightsFetcher.known(model);
        Path dir = cache != null ? cache : WeightsFetcher.defaultCache();
        Path target = WeightsFetcher.cachedFile(dir, source);
        if (Files.exists(target) && !force) {
            out.println("already cached: " + target + " (use --force to download again)");
            return 0;
        }
        Progress progress = new Progress(err, source);
        Path result = WeightsFetcher.fetch(source, dir, force, Duration.ofSeconds(Math.max(1, timeoutSeconds)), progress::bytes);
        progress.done();
        out.println("cached: " + result);
        return 0;
    }

    /**
     * Says "downloading" once the first bytes arrive (so a failure to connect is the one line of its
     * error), then the byte count about every 5 s (or on one updating line on a terminal).
     */
    private static final class Progress {
        private final PrintWriter err;
        private final URI source;
        private final boolean tty = System.console() != null;
        private long last = System.nanoTime();
        private boolean started, printed;

        Progress(PrintWriter err, URI source) {
            this.err = err;
            this.source = source;
        }

        void bytes(long n) {
            if (!started) {
                started = true;
                err.println("downloading " + source);
                err.flush();
            }
            long now = System.nanoTime();
            if (now - last < (tty ? 200_000_000L : 5_000_000_000L)) return;
            last = now;
            printed = true;
            String s = String.format("  %.1f MB", n / 1e6);
            if (tty) err.print("\r" + s);
            else err.println(s);
            err.flush();
        }

        void done() {
            if (printed && tty) err.println();
        }
    }
}
