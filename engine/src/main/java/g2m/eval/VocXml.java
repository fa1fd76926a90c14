package g2m.eval;

import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Boxes from a PASCAL-VOC annotation, as the ILSVRC2012 validation boxes are distributed: every
 * {@code <object><bndbox>} with {@code xmin ymin xmax ymax}, taken as given (integers; a decimal
 * value is truncated, as Python's {@code int(float(v))}). DTDs and external entities are refused.
 */
public final class VocXml {
    private VocXml() {}

    private static final long MAX_BYTES = 1 << 20;

    public static List<Box> read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) throw new EvalException(file + " is over 1 MB; not a box annotation");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new EvalException(file + ": no such box file");
        } catch (IOException e) {
            throw new EvalException("cannot read " + file + ": " + e.getMessage(), e);
        }
        Document doc;
        try {
            doc = builder().parse(new java.io.ByteArrayInputStream(bytes));
        } catch (SAXException | IOException e) {
            throw new EvalException(file + " is not well-formed XML: " + firstLine(e.getMessage()), e);
        }
        List<Box> out = new ArrayList<>();
        NodeList objects = doc.getElementsByTagName("object");
        for (int i = 0; i < objects.getLength(); i++) {
            Element o = (Element) objects.item(i);
            NodeList bb = o.getElementsByTagName("bndbox");
            if (bb.getLength() == 0) throw new EvalException(file + ": object " + (i + 1) + " has no <bndbox>");
            Element b = (Element) bb.item(0);
            int x1 = coordinate(file, b, "xmin", i), y1 = coordinate(file, b, "ymin", i);
            int x2 = coordinate(file, b, "xmax", i), y2 = coordinate(file, b, "ymax", i);
            if (x2 < x1 || y2 < y1) {
                throw new EvalException(file + ": object " + (i + 1) + " has xmax < xmin or ymax < ymin (" + x1 + "," + y1 + "," + x2 + "," + y2 + ")");
            }
            out.add(new Box(x1, y1, x2, y2));
        }
        if (out.isEmpty()) throw new EvalException(file + " holds no <object> with a <bndbox>");
        return out;
    }

    private static int coordinate(Path file, Element box, String tag, int object) {
        NodeList n = box.getElementsByTagName(tag);
        if (n.getLength() == 0) throw new EvalException(file + ": object " + (object + 1) + " has no <" + tag + ">");
        String s = n.item(0).getTextContent().strip();
        try {
            double v = Double.parseDouble(s);
            if (!Double.isFinite(v) || v < 0 || v > Integer.MAX_VALUE) throw new NumberFormatException();
            return (int) v;
        } catch (NumberFormatException e) {
            throw new EvalException(file + ": object " + (object + 1) + " has <" + tag + ">" + s + "</" + tag + ">, not a non-negative number");
        }
    }

    private static DocumentBuilder builder() {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(new org.xml.sax.helpers.DefaultHandler() {    // throw, never print to stderr
                @Override
                public void error(org.xml.sax.SAXParseException e) throws SAXException {
                    throw e;
                }

                @Override
                public void fatalError(org.xml.sax.SAXParseException e) throws SAXException {
                    throw e;
                }

                @Override
                public void warning(org.xml.sax.SAXParseException e) {
                }
            });
            return b;
        } catch (ParserConfigurationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "parse error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
