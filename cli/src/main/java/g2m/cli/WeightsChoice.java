package g2m.cli;

import g2m.weights.fetch.WeightsFetcher;

import java.nio.file.Files;
import java.nio.file.Path;

/** Which weights a command uses when --weights is not given: $G2M_WEIGHTS, then the 'fetch vgg16' cache. */
final class WeightsChoice {
    private WeightsChoice() {}

    /** The weights the user configured (explicitly, by environment or by 'fetch'), or null when none. */
    static Path configured(Path explicit) {
        if (explicit != null) return explicit;
        String env = System.getenv("G2M_WEIGHTS");
        if (env != null && !env.isBlank()) return Path.of(env);
        Path cached = fetchCache();
        return Files.exists(cached) ? cached : null;
    }

    /** As {@link #configured}, or a one-line error that says exactly how to get weights. */
    static Path require(Path explicit) {
        Path w = configured(explicit);
        if (w != null) return w;
        throw new Main.UserException("no weights: pass --weights FILE (a .pth, .caffemodel or .safetensors VGG16), set G2M_WEIGHTS, "
                + "or run '" + Messages.COMMAND + " fetch vgg16' once to download torchvision's VGG16 into " + fetchCache().getParent());
    }

    private static Path fetchCache() {
        return WeightsFetcher.cachedFile(WeightsFetcher.defaultCache(), "vgg16");
    }
}
