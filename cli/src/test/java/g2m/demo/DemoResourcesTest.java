package g2m.demo;

import g2m.image.ImageLoader;
import g2m.image.LoadedImage;
import g2m.weights.Checkpoint;
import g2m.weights.safetensors.Safetensors;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled demo set (cli/src/main/resources/g2m/demo/, written by tools/demo/make_dataset.py)
 * is complete and consistent: every val.txt entry has its picture (shorter side 224, so the engine
 * does not resample it) and its PASCAL-VOC box file (size matching the picture, box inside it,
 * object named after the val.txt class), classes.txt names the model's classes, every class has a
 * sample, and no picture or box file is left unlisted.
 */
class DemoResourcesTest {
    static Path demo(String name) {
        try {
            return Path.of(DemoResourcesTest.class.getResource("/g2m/demo/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new AssertionError("missing resource /g2m/demo/" + name, e);
        }
    }

    static int intOf(Element e, String tag) {
        NodeList l = e.getElementsByTagName(tag);
        assertEquals(1, l.getLength(), tag);
        return Integer.parseInt(l.item(0).getTextContent().strip());
    }

    @Test
    void samplesBoxesLabelsAndClassNamesAgree() throws Exception {
        List<String> classes = Files.readAllLines(demo("classes.txt")).stream().map(String::strip).toList();
        Checkpoint model = Safetensors.read(demo("model.safetensors"));
        assertEquals(Integer.parseInt(model.metadata().get("num_classes")), classes.size(), "classes.txt vs the model");
        assertEquals(classes.size(), new HashSet<>(classes).size(), "class names are unique");
        assertTrue(classes.stream().noneMatch(String::isEmpty));

        List<String> rows = Files.readAllLines(demo("val.txt")).stream().filter(l -> !l.isBlank()).toList();
        assertTrue(rows.size() >= 10, "a dozen samples");
        Set<Integer> seen = new HashSet<>();
        Set<String> stems = new HashSet<>();
        for (String row : rows) {
            String[] f = row.strip().split("\\s+");
            assertEquals(2, f.length, row);
            int label = Integer.parseInt(f[1]);
            assertTrue(label >= 0 && label < classes.size(), row);
            seen.add(label);
            String stem = f[0].substring(0, f[0].lastIndexOf('.'));
            stems.add(stem);

            LoadedImage img = ImageLoader.load(demo("images/" + f[0]));
            assertEquals(224, Math.min(img.width(), img.height()), f[0] + ": shorter side");

            Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(demo("boxes/" + stem + ".xml").toFile());
            Element size = (Element) d.getElementsByTagName("size").item(0);
            assertEquals(img.width(), intOf(size, "width"), stem);
            assertEquals(img.height(), intOf(size, "height"), stem);
            NodeList objects = d.getElementsByTagName("object");
            assertEquals(1, objects.getLength(), stem + ": one object");
            Element o = (Element) objects.item(0);
            assertEquals(classes.get(label), o.getElementsByTagName("name").item(0).getTextContent().strip(), stem);
            Element b = (Element) o.getElementsByTagName("bndbox").item(0);
            int x0 = intOf(b, "xmin"), y0 = intOf(b, "ymin"), x1 = intOf(b, "xmax"), y1 = intOf(b, "ymax");
            assertTrue(0 <= x0 && x0 < x1 && x1 < img.width() && 0 <= y0 && y0 < y1 && y1 < img.height(), stem + ": box inside");
            double area = (double) (x1 - x0 + 1) * (y1 - y0 + 1) / ((double) img.width() * img.height());
            assertTrue(area > 0.05 && area < 0.6, stem + ": box covers " + area + " of the picture");
        }
        assertEquals(classes.size(), seen.size(), "every class has a sample");
        assertEquals(rows.size(), stems.size(), "no duplicate entries");
        assertEquals(stems, listStems("images", ".png"), "pictures not in val.txt");
        assertEquals(stems, listStems("boxes", ".xml"), "box files not in val.txt");
    }

    static Set<String> listStems(String dir, String ext) throws Exception {
        try (Stream<Path> s = Files.list(demo(dir))) {
            return s.map(p -> p.getFileName().toString()).peek(n -> assertTrue(n.endsWith(ext), n))
                    .map(n -> n.substring(0, n.length() - ext.length())).collect(Collectors.toSet());
        }
    }
}
