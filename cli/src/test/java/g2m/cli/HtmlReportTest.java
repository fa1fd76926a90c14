package g2m.cli;

import g2m.eval.Box;
import g2m.eval.VocXml;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathExpressionException;
import javax.xml.xpath.XPathFactory;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static g2m.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code eval --report}'s report.html without a browser: read as XML (the page is well-formed by
 * design, so an unescaped name would break the parse), its tables against results.csv, its bars
 * against GT-known loc, each picture's predicted boxes against boxes.csv and its ground-truth
 * boxes against the XML files, the choice of pictures against their IoUs in boxes.csv, the
 * escaping of a hostile picture name, and that nothing in it points outside the file.
 */
class HtmlReportTest {
    /** A picture name with every character HTML gives a meaning to. */
    static final String HOSTILE = "a<b>&\"'x.png";

    @TempDir
    Path dir;
    Path set;

    @BeforeEach
    void copySet() throws IOException {
        set = EvalShardCliTest.copyTinyset(dir);
        Files.copy(set.resolve("images/synth_0002.png"), set.resolve("images").resolve(HOSTILE));
        Files.copy(set.resolve("boxes/synth_0002.xml"), set.resolve("boxes").resolve("a<b>&\"'x.xml"));
        Files.writeString(set.resolve("val.txt"), Files.readString(set.resolve("val.txt")) + HOSTILE + " 4\n");
    }

    static Document parse(Path html) throws IOException {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
            f.setExpandEntityReferences(false);
            return f.newDocumentBuilder().parse(html.toFile());
        } catch (ParserConfigurationException | SAXException e) {
            throw new AssertionError("report.html is not well-formed: " + e.getMessage(), e);
        }
    }

    static List<Element> all(Document d, String xpath) {
        try {
            XPath x = XPathFactory.newInstance().newXPath();
            NodeList nl = (NodeList) x.evaluate(xpath, d, XPathConstants.NODESET);
            List<Element> out = new ArrayList<>();
            for (int i = 0; i < nl.getLength(); i++) out.add((Element) nl.item(i));
            return out;
        } catch (XPathExpressionException e) {
            throw new AssertionError(e);
        }
    }

    static List<String> cells(Element row) {
        List<String> out = new ArrayList<>();
        NodeList td = row.getElementsByTagName("td");
        for (int i = 0; i < td.getLength(); i++) out.add(td.item(i).getTextContent());
        return out;
    }

    static Box box(String dataBox) {
        String[] f = dataBox.split(",");
        return new Box(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]));
    }

    @Test
    void theReportShowsTheResultsAndThePictures() throws IOException {
        Path out = dir.resolve("out");
        CliTest.Result r = run(EvalShardCliTest.evalArgs(set, out, "--layers", "conv5_1,conv3_3", "--save-boxes", "--report"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("report: 7 picture(s) evaluated again for " + out.resolve("report.html")), r.err());
        assertFalse(r.err().contains("differ"), "every box found again is the checkpoint's: " + r.err());
        Path html = out.resolve("report.html");
        String text = Files.readString(html, StandardCharsets.UTF_8);
        Document d = parse(html);

        // the tables and the chart: results.csv's values
        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(9, csv.size());
        for (String line : csv.subList(1, csv.size())) {
            String[] f = line.split(",");      // layer,method,top1_loc,top5_loc,gt_known_loc,top1_cls,top5_cls,mean_iou,maxboxacc_v2
            String where = "[@data-layer='" + f[0] + "'][@data-method='" + f[1] + "']";
            List<Element> seed = all(d, "//table[@id='seed-table']/tbody/tr" + where);
            assertEquals(1, seed.size(), line);
            assertEquals(List.of(f[0], f[1], f[2], f[3], f[4]), cells(seed.get(0)), line);
            List<Element> mb = all(d, "//table[@id='maxbox-table']/tbody/tr" + where);
            assertEquals(1, mb.size(), line);
            assertEquals(f[8], cells(mb.get(0)).get(2), line);
            assertEquals(f[7], cells(mb.get(0)).get(6), line);
            List<Element> bar = all(d, "//*[@id='chart']//*[@class='bar']" + where);
            assertEquals(1, bar.size(), line);
            assertEquals(f[4], bar.get(0).getAttribute("data-value"), line);
            double h = Double.parseDouble(bar.get(0).getAttribute("height"));
            assertEquals(220 * Double.parseDouble(f[4]) / 100, h, 0.01, "bar height: " + line);
        }
        assertEquals(8, all(d, "//table[@id='seed-table']/tbody/tr").size());

        // boxes.csv: the predicted box of every (picture, layer, method), and the IoUs that rank the pictures
        Map<String, Box> predicted = new HashMap<>();
        Map<String, Double> iouSum = new HashMap<>();
        List<String> boxes = Files.readAllLines(out.resolve("boxes.csv"));
        Pattern row = Pattern.compile("^(\"(?:[^\"]|\"\")*\"|[^,]*),([^,]+),([^,]+),(\\d+),(\\d+),(\\d+),(\\d+),([0-9.]+)$");
        for (String b : boxes.subList(1, boxes.size())) {
            Matcher m = row.matcher(b);
            assertTrue(m.matches(), b);
            String name = m.group(1).startsWith("\"") ? m.group(1).substring(1, m.group(1).length() - 1).replace("\"\"", "\"") : m.group(1);
            predicted.put(name + "|" + m.group(2) + "/" + m.group(3), new Box(Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)),
                    Integer.parseInt(m.group(6)), Integer.parseInt(m.group(7))));
            iouSum.merge(name, Double.parseDouble(m.group(8)), Double::sum);
        }
        assertEquals(7 * 8, predicted.size());

        // seven pictures, fewer than three groups of four: each shown once, best 4 then worst 3, by mean IoU
        List<Element> sections = all(d, "//section[@class='picture']");
        assertEquals(7, sections.size());
        Set<String> names = new HashSet<>();
        List<String> byMean = new ArrayList<>(iouSum.keySet());
        List<String> order = Files.readAllLines(set.resolve("val.txt")).stream().filter(l -> !l.isBlank()).map(l -> l.split(" ")[0]).toList();
        byMean.sort(Comparator.<String>comparingDouble(n -> -iouSum.get(n)).thenComparingInt(order::indexOf));
        List<String> worstFirst = new ArrayList<>(byMean.subList(4, byMean.size()));       // ties: the earlier picture first here too
        worstFirst.sort(Comparator.<String>comparingDouble(iouSum::get).thenComparingInt(order::indexOf));
        for (int i = 0; i < sections.size(); i++) {
            Element s = sections.get(i);
            String name = s.getAttribute("data-image");
            assertTrue(names.add(name), "shown once: " + name);
            String group = i < 4 ? "best" : "worst";
            assertEquals(group, s.getAttribute("data-group"), name);
            String want = i < 4 ? byMean.get(i) : worstFirst.get(i - 4);
            assertEquals(want, name, "the " + group + " pictures by mean IoU over the 8 maps");
            assertTrue(s.getElementsByTagName("h3").item(0).getTextContent().endsWith(": " + name));
            List<Box> gts = VocXml.read(set.resolve("boxes").resolve(name.substring(0, name.lastIndexOf('.')) + ".xml"));
            List<Element> svgs = all(d, "//section[@data-image=" + xpathLiteral(name) + "]//*[local-name()='svg']");
            assertEquals(1 + 8, svgs.size(), name);
            for (Element svg : svgs) {
                String what = svg.getAttribute("data-what");
                List<Box> gt = new ArrayList<>();
                List<Box> pred = new ArrayList<>();
                NodeList rects = svg.getElementsByTagName("rect");
                for (int k = 0; k < rects.getLength(); k++) {
                    Element e = (Element) rects.item(k);
                    Box b = box(e.getAttribute("data-box"));
                    assertEquals(b.x2() - b.x1() + 1, Integer.parseInt(e.getAttribute("width")), "drawn over its pixels, corners inclusive");
                    assertEquals(b.y1(), Integer.parseInt(e.getAttribute("y")));
                    switch (e.getAttribute("class")) {
                        case "gt" -> gt.add(b);
                        case "pred" -> pred.add(b);
                        default -> throw new AssertionError("unexpected box " + e.getAttribute("class") + " in " + name + " " + what);
                    }
                }
                assertEquals(gts, gt, name + " " + what);
                if (what.equals("picture")) {
                    assertTrue(pred.isEmpty());
                } else {
                    assertEquals(List.of(predicted.get(name + "|" + what)), pred, name + " " + what);
                }
                Element image = (Element) svg.getElementsByTagName("image").item(0);
                String href = image.getAttribute("href");
                assertTrue(href.startsWith("data:image/jpeg;base64,"), href.substring(0, Math.min(40, href.length())));
                BufferedImage thumb = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(href.substring(href.indexOf(',') + 1))));
                assertNotNull(thumb, "a JPEG: " + name + " " + what);
                assertTrue(Math.max(thumb.getWidth(), thumb.getHeight()) <= 192, "a thumbnail: " + thumb.getWidth() + "x" + thumb.getHeight());
            }
        }
        assertTrue(names.contains(HOSTILE));

        // escaped where it appears in the markup, the very name where it is read back
        assertTrue(text.contains("a&lt;b&gt;&amp;&quot;&#39;x.png"), "escaped");
        assertFalse(text.contains("a<b>") || text.contains("<b>&"), "never raw");
        // self-contained: no script, nothing fetched, a policy that would block anything that slipped in
        assertFalse(text.toLowerCase().contains("<script"), "no script");
        assertTrue(text.contains("Content-Security-Policy\" content=\"default-src 'none'; img-src data:;"));
        assertEquals(0, all(d, "//*[local-name()='link' or local-name()='iframe' or local-name()='object' or local-name()='img']").size());
        Matcher url = Pattern.compile("(?i)(https?:|//[a-z]|url\\()").matcher(text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
                .replaceAll("data:image/jpeg;base64,[A-Za-z0-9+/=]*", "data:"));
        assertFalse(url.find(), () -> "a reference outside the file: " + text.substring(Math.max(0, url.start() - 40), url.start() + 40));
        for (Element e : all(d, "//*[@href or @src]")) {
            String v = e.hasAttribute("href") ? e.getAttribute("href") : e.getAttribute("src");
            assertTrue(v.startsWith("data:image/jpeg;base64,"), "only inline pictures");
        }
        // bounded: 7 pictures × 9 thumbnails
        assertTrue(Files.size(html) < 1_000_000, "report.html is " + Files.size(html) + " bytes");
    }

    /** A resumed run (and so one from a merged checkpoint) writes the same page as an uninterrupted one. */
    @Test
    void aResumedRunWritesTheSameReport() throws IOException {
        Path whole = dir.resolve("whole");
        assertEquals(0, run(EvalShardCliTest.evalArgs(set, whole, "--layers", "pool4", "--report")).code());
        Path parts = dir.resolve("parts");
        CliTest.Result first = run(EvalShardCliTest.evalArgs(set, parts, "--layers", "pool4", "--limit", "3", "--report"));
        assertEquals(0, first.code(), first.err());
        assertEquals(3, all(parse(parts.resolve("report.html")), "//section[@class='picture']").size(), "the first three pictures so far");
        CliTest.Result rest = run(EvalShardCliTest.evalArgs(set, parts, "--layers", "pool4", "--report"));
        assertEquals(0, rest.code(), rest.err());
        assertArrayEquals(Files.readAllBytes(whole.resolve("report.html")), Files.readAllBytes(parts.resolve("report.html")));
        // a later run without --report leaves the page as it was and says it is older than the results
        CliTest.Result plain = run(EvalShardCliTest.evalArgs(set, parts, "--layers", "pool4"));
        assertEquals(0, plain.code(), plain.err());
        assertTrue(plain.err().contains("report.html is from an earlier run and does not show these results; add --report"), plain.err());
        assertArrayEquals(Files.readAllBytes(whole.resolve("report.html")), Files.readAllBytes(parts.resolve("report.html")));
        // --force deletes it with the other results
        assertEquals(0, run(EvalShardCliTest.evalArgs(set, parts, "--layers", "pool4", "--limit", "1", "--force")).code());
        assertFalse(Files.exists(parts.resolve("report.html")));
    }

    /** {@code s} as an XPath string literal (concat() when it holds both quote kinds). */
    static String xpathLiteral(String s) {
        if (!s.contains("'")) return "'" + s + "'";
        if (!s.contains("\"")) return "\"" + s + "\"";
        return "concat('" + s.replace("'", "', \"'\", '") + "')";
    }
}
