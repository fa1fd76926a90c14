package g2m.cli;

import g2m.backend.BackendUnavailableException;
import g2m.weights.AtomicFiles;
import g2m.weights.WeightsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * The command line ({@code java -jar g2m-engine.jar}). Every user error ends as one line on
 * stderr and exit code 2; an unexpected failure as one line and exit code 1 (the stack trace
 * only with G2M_DEBUG=1). Every line on stderr is one line without control characters
 * ({@link Messages}).
 */
@Command(name = Messages.COMMAND,
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        // Each line is shorter than the default width of 80 columns, so picocli does not wrap them
        // (it breaks lines after dots too, which would split a name like summary.json).
        description = {"G2M weakly-supervised localization maps from VGG16: LayerCAM, SGL-G1, SGL-G2,",
                "DGL (and the Grad-CAM family).",
                "Main job:",
                "  " + Messages.COMMAND + " --layer conv5_1 --weights vgg16.safetensors \\",
                "      --input pictures/ --output out/",
                "writes <stem>_<method>.png overlays (with --raw also .npy maps) and",
                "summary.json. Without weights and --input (or with --demo): the bundled demo",
                "network on its sample pictures.",
                "Exit codes: 0 ok, 2 bad input or usage, 3 some pictures failed (the rest were",
                "written), 1 internal error."},
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
        if (maps == null || maps.layers == null) {
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
    public static int run(String[] args, PrintWriter out, PrintWriter rawErr) {
        PrintWriter err = Messages.lineSafe(rawErr);
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        Version version = new Version();
        for (CommandLine sub : cl.getSubcommands().values()) sub.getCommandSpec().versionProvider(version);
        cl.setParameterExceptionHandler((ex, a) -> {
            String value = badValue(ex, a);
            String twice = givenTwice(ex.getMessage());
            String help = " (run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for the options)";
            err.println(Messages.error(value != null ? value : twice != null ? twice + help : ex.getMessage() + suggestion(ex) + help));
            return EXIT_USER_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            if (isUserError(ex)) {
                String hint = ex instanceof BackendUnavailableException u && u.backend().equals("CUDA") ? " (or use --device cpu)" : "";
                err.println(Messages.error(ex.getMessage() + hint));
                return EXIT_USER_ERROR;
            }
            return internalError(ex, err);
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            err.println(Messages.error(outOfMemory(e)));
            return EXIT_USER_ERROR;
        } catch (Error e) { // e.g. a native library that fails to load: one line here too, not the JVM's stack dump
            return internalError(e, err);
        }
    }

    /**
     * A value an option's converter refused ({@link Converters}, or picocli's own for numbers), as
     * "--gradients: unknown gradient source 'pool' (valid: tap, layercam_loc)": the converter's
     * message already names the valid values. Else null.
     */
    static String badValue(CommandLine.ParameterException ex, String[] args) {
        if (!(ex.getCause() instanceof CommandLine.TypeConversionException t) || !(ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o)) {
            return null;
        }
        String typed = typedName(ex, args);
        return (typed != null ? typed : o.longestName()) + ": " + t.getMessage();
    }

    /** The name of the failing option as the user wrote it (--layer, not picocli's longest name --layers), or null. */
    static String typedName(CommandLine.ParameterException ex, String[] args) {
        if (!(ex.getArgSpec() instanceof CommandLine.Model.OptionSpec o) || args == null) return null;
        for (String a : args) {
            for (String n : o.names()) if (a.equals(n) || a.startsWith(n + "=")) return n;
        }
        return null;
    }

    private static final java.util.regex.Pattern SECOND_GROUP = java.util.regex.Pattern.compile(
            "(?s)Error: expected only one match but got .*=\\{([^{}]*)}$");

    /**
     * The main job's options form one picocli argument group, and a single-valued option given
     * twice starts a second copy of it; picocli then prints both groups' whole syntax. Instead:
     * "--weights is given twice; give it once". Else null.
     */
    static String givenTwice(String picocliMessage) {
        java.util.regex.Matcher m = SECOND_GROUP.matcher(picocliMessage == null ? "" : picocliMessage);
        if (!m.find()) return null;
        java.util.regex.Matcher name = java.util.regex.Pattern.compile("(--[\\w-]+)").matcher(m.group(1));
        return name.find() ? name.group(1) + " is given twice; give it once" : null;
    }

    /** "; did you mean --weights?" for a mistyped option or subcommand (picocli's suggestions), else "". */
    static String suggestion(CommandLine.ParameterException ex) {
        if (!(ex instanceof CommandLine.UnmatchedArgumentException u)) return "";
        List<String> s = u.getSuggestions();
        if (s == null || s.isEmpty()) return "";
        return "; did you mean " + String.join(" or ", s.subList(0, Math.min(3, s.size()))) + "?";
    }

    static String outOfMemory(OutOfMemoryError e) {
        long max = Runtime.getRuntime().maxMemory();
        return String.format(Locale.ROOT, "out of memory (%s; this JVM may use %.1f GB): give it more, e.g. java -Xmx%dg -jar g2m-engine.jar …",
                e.getMessage(), max / 1e9, Math.max(2, 2 * (long) Math.ceil(max / (double) (1L << 30))));
    }

    static int internalError(Throwable ex, PrintWriter err) {
        err.println(Messages.error("internal error: " + whatFailed(ex) + where(ex)
                + (debug() ? "" : " (set G2M_DEBUG=1 for the stack trace)")));
        if (debug()) ex.printStackTrace(err);
        return EXIT_INTERNAL_ERROR;
    }

    /** What failed, in words rather than an exception's class name (which says little to a user). */
    static String whatFailed(Throwable t) {
        if (t instanceof ExceptionInInitializerError && t.getCause() != null) return whatFailed(t.getCause());
        if (t instanceof UncheckedIOException u && u.getCause() != null) return "an I/O error: " + AtomicFiles.describe(u.getCause());
        if (t instanceof IOException io) return "an I/O error: " + AtomicFiles.describe(io);
        String kind;
        if (t instanceof NullPointerException) kind = "a missing value";
        else if (t instanceof IndexOutOfBoundsException) kind = "an index out of range";
        else if (t instanceof NegativeArraySizeException) kind = "a negative array size";
        else if (t instanceof ArithmeticException) kind = "an arithmetic error";
        else if (t instanceof ClassCastException) kind = "a value of an unexpected type";
        else if (t instanceof UnsupportedOperationException) kind = "an unsupported operation";
        else if (t instanceof java.util.ConcurrentModificationException) kind = "a collection changed while it was read";
        else if (t instanceof StackOverflowError) kind = "a stack overflow (too deep a recursion)";
        else if (t instanceof UnsatisfiedLinkError) kind = "a native library failed to load";
        else if (t instanceof NoClassDefFoundError) kind = "a class missing from this build";
        else if (t instanceof LinkageError) kind = "a class that does not fit this build";
        else kind = "an unexpected failure";
        String m = t.getMessage();
        return m == null || m.isBlank() ? kind : kind + ": " + m;
    }

    /** " (at MapsJob.java:123)": where in the engine it failed, for a bug report; "" when unknown. */
    static String where(Throwable t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("g2m.") && e.getFileName() != null) {
                return " (at " + e.getFileName() + (e.getLineNumber() > 0 ? ":" + e.getLineNumber() : "") + ")";
            }
        }
        return "";
    }

    /**
     * Failures the user can act on (exit 2, one line): bad input, no usable backend, GPU out of
     * memory (the message names the batch size to lower).
     */
    static boolean isUserError(Throwable ex) {
        return ex instanceof WeightsException || ex instanceof UserException || ex instanceof g2m.image.ImageException
                || ex instanceof g2m.npy.NpyException || ex instanceof BackendUnavailableException || ex instanceof g2m.backend.DeviceOutOfMemoryException;
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

    /** -V / --version on every command: the version the build wrote into g2m/version.properties (the pom's). */
    static final class Version implements CommandLine.IVersionProvider {
        static final String RESOURCE = "/g2m/version.properties";

        /** The pom's version, e.g. 0.1.0-SNAPSHOT, or "unknown" when the resource is missing (a bad build). */
        static String number() {
            try (InputStream in = Main.class.getResourceAsStream(RESOURCE)) {
                if (in == null) return "unknown";
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version", "").trim();
                return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
            } catch (IOException e) {
                return "unknown";
            }
        }

        @Override
        public String[] getVersion() {
            return new String[] {"g2m-engine " + number(),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.home") + ")"};
        }
    }
}
