package g2m.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * report.html in a real browser: headless Chromium (Debian's {@code chromium}; CI installs it)
 * renders it to a screenshot that must show the heat-map thumbnails (thousands of colours, not a
 * blank or text-only page), and prints nothing to the console (the page has no script, so any
 * console line is an error: a blocked fetch, a policy violation). Both checks are shown to catch
 * what they are for on pages made to fail them. Skipped, with the reason, where there is no Chromium.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class HtmlReportBrowserTest {
    @TempDir
    Path dir;

    /** Chromium: $G2M_CHROMIUM, else Debian's and other usual names on the PATH; null when there is none. */
    static Path chromium() {
        List<String> names = new ArrayList<>();
        String env = System.getenv("G2M_CHROMIUM");
        if (env != null && !env.isBlank()) names.add(env);
        names.addAll(List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"));
        for (String n : names) {
            Path p = Path.of(n);
            if (p.isAbsolute()) {
                if (Files.isExecutable(p)) return p;
                continue;
            }
            for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
                Path q = Path.of(d).resolve(n);
                if (Files.isExecutable(q)) return q;
            }
        }
        return null;
    }

    /** What the browser made of a page: its screenshot, and the console lines it printed. */
    record Shot(BufferedImage png, List<String> console, String log) {
        int colours() {
            Set<Integer> c = new HashSet<>();
            for (int y = 0; y < png.getHeight(); y++) for (int x = 0; x < png.getWidth(); x++) c.add(png.getRGB(x, y) & 0xffffff);
            return c.size();
        }

        double nonWhite() {
            long n = 0;
            for (int y = 0; y < png.getHeight(); y++) for (int x = 0; x < png.getWidth(); x++) if ((png.getRGB(x, y) & 0xffffff) != 0xffffff) n++;
            return (double) n / ((long) png.getWidth() * png.getHeight());
        }
    }

    // Chromium's log line for a console message: "...:INFO:CONSOLE:1] "text", source: ..." (older: "CONSOLE(1)")
    private static final Pattern CONSOLE = Pattern.compile(":CONSOLE[(:]");

    Shot shoot(Path browser, Path html, String name) throws IOException, InterruptedException {
        Path png = dir.resolve(name + ".png"), log = dir.resolve(name + ".log");
        Path profile = Files.createDirectories(dir.resolve(name + "-profile"));
        List<String> cmd = List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--screenshot=" + png, "--window-size=1200,2000",
                html.toUri().toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) throw new AssertionError("Chromium did not finish in 120 s: " + Files.readString(log));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        String text = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "Chromium: " + text);
        assertTrue(Files.size(png) > 0, "a screenshot: " + text);
        BufferedImage img = ImageIO.read(png.toFile());
        assertNotNull(img, "a PNG");
        List<String> console = text.lines().filter(l -> CONSOLE.matcher(l).find()).toList();
        return new Shot(img, console, text);
    }

    @Test
    void theReportRendersItsPicturesWithoutConsoleErrors() throws IOException, InterruptedException {
        Path browser = chromium();
        assumeTrue(browser != null, "no Chromium on this machine (apt-get install chromium, or set G2M_CHROMIUM): report.html is not opened in a browser");
        Path set = EvalShardCliTest.copyTinyset(dir);
        Files.copy(set.resolve("images/synth_0002.png"), set.resolve("images").resolve(HtmlReportTest.HOSTILE));
        Files.copy(set.resolve("boxes/synth_0002.xml"), set.resolve("boxes").resolve("a<b>&\"'x.xml"));
        Files.writeString(set.resolve("val.txt"), Files.readString(set.resolve("val.txt")) + HtmlReportTest.HOSTILE + " 4\n");
        Path out = dir.resolve("out");
        CliTest.Result r = run(EvalShardCliTest.evalArgs(set, out, "--layers", "conv5_1,pool4", "--report"));
        assertEquals(0, r.code(), r.err());
        Path html = out.resolve("report.html");

        Shot report = shoot(browser, html, "report");
        assertEquals(List.of(), report.console(), "nothing on the console");
        assertEquals(1200, report.png().getWidth());
        int colours = report.colours();
        double ink = report.nonWhite();
        System.out.printf("report.html in %s: %d colours, %.1f %% not white%n", browser, colours, 100 * ink);
        assertTrue(colours > 5000, "the thumbnails are drawn: " + colours + " colours");
        assertTrue(ink > 0.10, "not blank: " + ink);

        // the same checks on pages made to fail them
        String page = Files.readString(html, StandardCharsets.UTF_8);
        Path textOnly = dir.resolve("text-only.html");
        Files.writeString(textOnly, page.replaceAll("data:image/jpeg;base64,[A-Za-z0-9+/=]*", "data:image/jpeg;base64,"));
        Shot noPictures = shoot(browser, textOnly, "text-only");
        assertTrue(noPictures.colours() < colours / 5, "without the thumbnails far fewer colours: " + noPictures.colours());
        assertFalse(noPictures.colours() > 5000, "the colour check tells a page without pictures: " + noPictures.colours());
        Path blank = dir.resolve("blank.html");
        Files.writeString(blank, "<!DOCTYPE html><html><head><title>x</title></head><body></body></html>");
        Shot empty = shoot(browser, blank, "blank");
        assertTrue(empty.nonWhite() < 0.01, "a blank page is seen as blank: " + empty.nonWhite());
        Path fetching = dir.resolve("fetching.html");
        Files.writeString(fetching, page.replace("<body>", "<body><img src=\"http://127.0.0.1:9/x.png\" alt=\"\"/>"));
        Shot blocked = shoot(browser, fetching, "fetching");
        assertFalse(blocked.console().isEmpty(), "a fetch the policy blocks shows on the console: " + blocked.log());
        assertTrue(blocked.console().get(0).contains("Content Security Policy"), blocked.console().get(0));
    }
}
