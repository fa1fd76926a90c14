package g2m.cli;

import g2m.weights.WeightsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * {@code g2m-engine}: the command line. Every user error ends as one line on stderr and exit
 * code 2; an unexpected failure as one line and exit code 1 (the stack trace only with
 * G2M_DEBUG=1).
 */
@Command(name = "g2m-engine",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {"G2M weakly-supervised localization maps (LayerCAM, SGL-G1, SGL-G2, DGL) from VGG16.",
                "Main job: g2m-engine --layer conv5_1 --weights vgg16.safetensors --input pictures/ --output out/",
                "Without weights and --input (or with --demo): the bundled demo network on its sample pictures.",
                "Writes <stem>_<method>.png overlays (with --raw also .npy maps) and summary.json.",
                "Exit codes: 0 ok, 2 bad input or usage, 3 some pictures failed (the rest were written), 1 internal error."},
        subcommands = {ConvertCommand.class, InspectCommand.class, FetchCommand.class, BenchCommand.class, EvalCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {
    public static final int EXIT_USER_ERROR = 2;
    public static final int EXIT_INTERNAL_ERROR = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.ArgGroup(exclusive = false, heading = "%nMaps (the main job):%n", multiplicity = "0..1")
    MapsJob.Options maps;

    @Override
    public Integer call() {
        if (maps == null || maps.layer == null) {
            if (maps != null) throw new UserException("--layer is required (valid: " + g2m.net.Tap.validNames() + ")");
            spec.commandLine().usage(spec.commandLine().getErr());
            return EXIT_USER_ERROR;
        }
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (maps.demo || (maps.input == null && WeightsChoice.configured(maps.weights) == null)) {
            return new DemoJob(maps, out, err).run();
        }
        return new MapsJob(maps, out, err).run();
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (used by tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println("g2m-engine: " + ex.getMessage() + " (run '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help' for the options)");
            return EXIT_USER_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            if (isUserError(ex)) {
                err.println("g2m-engine: " + ex.getMessage());
                return EXIT_USER_ERROR;
            }
            err.println("g2m-engine: internal error: " + ex + (debug() ? "" : " (set G2M_DEBUG=1 for the stack trace)"));
            if (debug()) ex.printStackTrace(err);
            return EXIT_INTERNAL_ERROR;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println("g2m-engine: out of memory (" + e.getMessage() + "); give the JVM more with java -Xmx<size>");
            return EXIT_USER_ERROR;
        } catch (Error e) { // e.g. a native library that fails to load: one line here too, not the JVM's stack dump
            err.println("g2m-engine: internal error: " + e + (debug() ? "" : " (set G2M_DEBUG=1 for the stack trace)"));
            if (debug()) e.printStackTrace(err);
            return EXIT_INTERNAL_ERROR;
        }
    }

    /**
     * Failures the user can act on (exit 2, one line): bad input, no usable backend, GPU out of
     * memory (the message names the batch size to lower).
     */
    static boolean isUserError(Throwable ex) {
        return ex instanceof WeightsException || ex instanceof UserException || ex instanceof g2m.image.ImageException
                || ex instanceof g2m.backend.BackendUnavailableException || ex instanceof g2m.backend.DeviceOutOfMemoryException;
    }

    static boolean debug() {
        return "1".equals(System.getenv("G2M_DEBUG"));
    }

    /** A user mistake the CLI detects itself (bad arguments beyond what picocli checks). */
    static final class UserException extends RuntimeException {
        UserException(String message) {
            super(message);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"g2m-engine " + (v == null ? "(development build)" : v),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.home") + ")"};
        }
    }
}
