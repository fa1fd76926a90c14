package g2m.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static g2m.cli.CliTest.fixture;
import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI's shell, as a newcomer meets it: errors, suggestions, version, help, names. */
class CliShellTest {
    @TempDir
    Path dir;

    static String picture() throws Exception {
        return Path.of(CliShellTest.class.getResource("/golden/image_224x256.png").toURI()).toString();
    }

    /** Every character of stderr below a space is the newline ending a line. */
    static void assertNoControlCharacters(String err) {
        for (int i = 0; i < err.length(); i++) {
            char c = err.charAt(i);
            assertTrue(c == '\n' || (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0)),
                    "control character " + (int) c + " at " + i + " in: " + err.replace("\u001b", "<ESC>"));
        }
    }

    @Test
    void fileNamesWithEscapeAndNewlineGiveOneEscapedLine() throws Exception {
        String evil = dir.resolve("w\u001b[2J\u001b]0;owned\u0007\nnext line.pth").toString();
        for (String[] args : new String[][] {
                {"--layer", "conv5_1", "--weights", evil, "--input", picture(), "--output", dir.resolve("o").toString()},
                {"convert", evil, dir.resolve("x.safetensors").toString()},
                {"inspect", evil},
                {"--layer", "conv\u001b[31m5_1\nx", "--input", picture(), "--weights", fixture("tiny_vgg16_zip.pth")},
                {"--wei\u001bghts\n", "x"},
        }) {
            CliTest.Result r = run(args);
            assertEquals(2, r.code(), r.err());
            r.oneLineError();
            assertNoControlCharacters(r.err());
            assertFalse(r.err().contains("Exception"), r.err());
        }
        CliTest.Result r = run("inspect", evil);
        assertTrue(r.err().contains("w\\u001b[2J\\u001b]0;owned\\u0007\\u000anext line.pth"), r.err());
    }

    /** Lines other code prints on the CLI's stderr (a skipped picture in a folder) are made safe too. */
    @Test
    void skippedPictureNamesAreEscaped() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.copy(Path.of(picture()), in.resolve("good.png"));
        Files.write(in.resolve("bad\u001b[31m\nname.png"), new byte[] {1, 2, 3});
        CliTest.Result r = run("--layer", "pool5", "--weights", fixture("tiny_vgg16_zip.pth"), "--input", in.toString(),
                "--output", dir.resolve("out").toString(), "--device", "cpu");
        assertEquals(MapsJob.EXIT_SOME_FAILED, r.code(), r.err());
        assertTrue(r.err().contains("bad\\u001b[31m\\u000aname.png"), r.err());
        assertNoControlCharacters(r.err());
    }

    @Test
    void mistypedOptionsAndCommandsGetASuggestionOnTheSameLine() {
        CliTest.Result w = run("--weigths", "x.pth", "--layer", "conv5_1");
        assertEquals(2, w.code());
        assertTrue(w.oneLineError().contains("did you mean --weights?"), w.err());
        assertTrue(w.err().contains("run 'java -jar g2m-engine.jar --help' for the options"), w.err());

        CliTest.Result c = run("convrt", "a.pth", "b.safetensors");
        assertEquals(2, c.code());
        assertTrue(c.oneLineError().contains("did you mean convert?"), c.err());

        CliTest.Result f = run("convert", "--forse", "a", "b");
        assertTrue(f.oneLineError().contains("did you mean") && f.err().contains("--force"), f.err());
        assertTrue(f.err().contains("run 'java -jar g2m-engine.jar convert --help'"), f.err());

        CliTest.Result nothing = run("--layer", "conv5_1", "--zzzzqqq");
        assertFalse(nothing.oneLineError().contains("did you mean"), "no suggestion when nothing is close: " + nothing.err());
    }

    @Test
    void everyCommandPrintsTheVersionFromThePom() throws IOException {
        Matcher m = Pattern.compile("<parent>.*?<version>([^<]+)</version>", Pattern.DOTALL).matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(m.find(), "the engine's pom names its version");
        String version = m.group(1);
        for (String cmd : List.of("", "convert", "inspect", "fetch", "bench", "eval")) {
            for (String flag : List.of("-V", "--version")) {
                CliTest.Result r = cmd.isEmpty() ? run(flag) : run(cmd, flag);
                assertEquals(0, r.code(), cmd + " " + flag + ": " + r.err());
                assertTrue(r.out().startsWith("g2m-engine " + version + System.lineSeparator()), cmd + " " + flag + ": '" + r.out() + "'");
                assertTrue(r.out().contains("Java "), r.out());
            }
        }
    }

    /**
     * picocli breaks lines after a dot as well as at spaces, which split "summary." from "json"
     * in the main help. Every dotted name in any command's help must come out whole.
     */
    @Test
    void helpTextNeverBreaksInsideAFileName() {
        CommandLine root = new CommandLine(new Main());
        List<CommandLine> all = new ArrayList<>(List.of(root));
        all.addAll(root.getSubcommands().values());
        Pattern dotted = Pattern.compile("[A-Za-z0-9_<>*$~/-]+\\.[A-Za-z0-9_<>]+(\\.[A-Za-z0-9_]+)*");
        int checked = 0;
        for (CommandLine cl : all) {
            StringWriter sw = new StringWriter();
            cl.usage(new PrintWriter(sw), CommandLine.Help.Ansi.OFF);
            List<String> lines = sw.toString().lines().toList();
            List<String> texts = new ArrayList<>(List.of(cl.getCommandSpec().usageMessage().description()));
            cl.getCommandSpec().options().forEach(o -> texts.addAll(List.of(o.description())));
            cl.getCommandSpec().positionalParameters().forEach(p -> texts.addAll(List.of(p.description())));
            java.util.Set<String> names = new java.util.HashSet<>();
            for (String t : texts) {
                Matcher d = dotted.matcher(t);
                while (d.find()) names.add(d.group().replaceAll("[.]+$", ""));
            }
            checked += names.size();
            for (int i = 0; i + 1 < lines.size(); i++) {
                String[] a = lines.get(i).strip().split("\\s+");
                String[] b = lines.get(i + 1).strip().split("\\s+");
                String joined = (a[a.length - 1] + b[0]).replaceAll("[.,;:)]+$", "");
                assertFalse(a[a.length - 1].endsWith(".") && names.contains(joined),
                        cl.getCommandSpec().qualifiedName() + " --help splits '" + joined + "' at line " + (i + 1) + ":\n" + sw);
            }
        }
        assertTrue(checked > 10, "found the dotted names to check: " + checked);
    }

    /** An unexpected failure is one line that says what failed, in words, and where — no exception class names. */
    @Test
    void internalErrorsSayWhatFailedWithoutClassNames() {
        int[] small = new int[2];
        RuntimeException bug;
        try {
            small[Integer.parseInt("5")] = 1;
            throw new AssertionError();
        } catch (ArrayIndexOutOfBoundsException e) {
            bug = e;
        }
        StringWriter sw = new StringWriter();
        assertEquals(Main.EXIT_INTERNAL_ERROR, Main.internalError(bug, Messages.lineSafe(sw)));
        String line = sw.toString();
        assertTrue(line.startsWith("g2m-engine: internal error: an index out of range: Index 5 out of bounds for length 2 (at CliShellTest.java:"),
                line);
        assertEquals(1, line.strip().lines().count(), line);
        for (Throwable t : List.of(new NegativeArraySizeException("-40"), new NullPointerException(), new IllegalStateException("two\nlines"),
                new java.io.UncheckedIOException(new java.nio.file.NoSuchFileException("gone.txt")), new UnsatisfiedLinkError("no jniopenblas"),
                new ExceptionInInitializerError(new ArithmeticException("/ by zero")))) {
            StringWriter w = new StringWriter();
            Main.internalError(t, Messages.lineSafe(w));
            String s = w.toString();
            assertEquals(1, s.strip().lines().count(), s);
            assertFalse(s.contains("Exception") || s.contains("Error:") || s.contains("java.lang"), s);
        }
        assertEquals("a negative array size: -40", Main.whatFailed(new NegativeArraySizeException("-40")));
        assertEquals("an arithmetic error: / by zero", Main.whatFailed(new ExceptionInInitializerError(new ArithmeticException("/ by zero"))));
    }

    @Test
    void outOfMemoryAdviceIsACommandThatWorks() {
        String m = Main.outOfMemory(new OutOfMemoryError("Java heap space"));
        assertTrue(m.matches("out of memory \\(Java heap space; this JVM may use [0-9.]+ GB\\): give it more, e\\.g\\. java -Xmx[0-9]+g -jar g2m-engine\\.jar …"), m);
    }

    @Test
    void messagesNameTheCommandTheUserRuns() {
        CliTest.Result r = run("--layer", "conv5_1", "--input", "x.png", "--weights", dir.resolve("none.safetensors").toString());
        assertEquals(2, r.code());
        StringWriter sw = new StringWriter();
        new CommandLine(new Main()).usage(new PrintWriter(sw), CommandLine.Help.Ansi.OFF);
        assertTrue(sw.toString().startsWith("Usage: java -jar g2m-engine.jar "), sw.toString());
        assertFalse(sw.toString().matches("(?s).*(?<![-/.\\w])g2m-engine (--|convert|fetch|eval|bench|inspect).*"), sw.toString());
    }
}
