package g2m.cli;

import g2m.api.MapRequest;
import g2m.maps.MapMethod;
import g2m.net.GradientSource;
import g2m.net.Tap;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * What to map, shared by the main job, eval and bench: the taps ({@code --layer} or
 * {@code --layers}, one spelling as good as the other), the methods and the gradient source, with
 * the backend options. A command with a default tap gives it through its default-value provider
 * ({@link #DEFAULT_TAP}).
 */
class MapOptions extends BackendOptions {
    static final String DEFAULT_TAP = "conv5_1";

    @Option(names = {"--layer", "--layers"}, paramLabel = "TAP", split = ",+", converter = Converters.TapValue.class,
            description = "tap(s) to take maps at: conv1_1 … conv5_3, pool1 … pool5, several from one pass (conv5_1,pool4); "
                    + "eval and bench default to " + DEFAULT_TAP)
    List<Tap> layers;

    @Option(names = "--methods", paramLabel = "M", split = ",+", defaultValue = "layercam,sgl-g1,sgl-g2,dgl",
            converter = Converters.MethodValue.class,
            description = "maps to compute (default: ${DEFAULT-VALUE}); also gradcam, gradcam++, xgradcam, hirescam")
    List<MapMethod> methods;

    @Option(names = "--gradients", paramLabel = "tap|layercam_loc", defaultValue = "tap", converter = Converters.GradientsValue.class,
            description = "gradient source of the maps: tap = the gradient at the tap; layercam_loc = at conv1_2, conv2_2, conv3_3, "
                    + "conv4_3, conv5_3 the next max-pool's gradient upsampled (align corners) to the tap, as layercam_loc's test.py "
                    + "takes it and the seed's table was measured, for every method (default: ${DEFAULT-VALUE})")
    GradientSource gradients;

    /** The taps, each once, in the order given. */
    List<Tap> taps() {
        List<Tap> t = layers == null ? List.of() : layers.stream().filter(java.util.Objects::nonNull).distinct().toList();
        if (t.isEmpty()) throw new Main.UserException("--layer: no layer given (valid: " + Tap.validNames() + ")");
        return t;
    }

    /** The methods, each once, in the order given. */
    List<MapMethod> methods() {
        List<MapMethod> m = methods == null ? List.of() : methods.stream().filter(java.util.Objects::nonNull).distinct().toList();
        if (m.isEmpty()) throw new Main.UserException("--methods: no methods given (valid: " + MapMethod.validNames() + ")");
        return m;
    }

    MapRequest request() {
        return MapRequest.of(taps(), methods()).withGradients(gradients);
    }

    /** The taps as the engine names them, comma-separated. */
    String layerIds() {
        return String.join(",", taps().stream().map(t -> t.id).toList());
    }

    /** The methods as the engine names them, comma-separated. */
    String methodIds() {
        return String.join(",", methods().stream().map(m -> m.id).toList());
    }

    /** These options but --precision as arguments again (the demo runs the main job and eval with them). */
    List<String> asArguments() {
        return List.of("--layer", layerIds(), "--methods", methodIds(),
                "--gradients", gradients.id, "--device", device, "--threads", Integer.toString(threads));
    }

    /** Gives {@code --layer} the default {@link #DEFAULT_TAP} in commands that have one (eval, bench). */
    static final class DefaultTap implements picocli.CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(picocli.CommandLine.Model.ArgSpec arg) {
            return arg instanceof picocli.CommandLine.Model.OptionSpec o && o.longestName().equals("--layers") ? DEFAULT_TAP : null;
        }
    }
}
