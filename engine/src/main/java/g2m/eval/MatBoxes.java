package g2m.eval;

import us.hebi.matlab.mat.format.BufferAllocator;
import us.hebi.matlab.mat.format.Mat5;
import us.hebi.matlab.mat.types.Array;
import us.hebi.matlab.mat.types.MatFile;
import us.hebi.matlab.mat.types.Matrix;
import us.hebi.matlab.mat.types.Sources;
import us.hebi.matlab.mat.types.Struct;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * layercam_loc's ILSVRC2012 validation boxes, {@code data/ILSVRC/val_box.mat}: the ground-truth
 * cache that the ILSVRC devkit's MATLAB evaluation saves, a struct array {@code rec} with one entry
 * per validation picture (in file-name order), each holding {@code objects}, a struct array whose
 * second field is the object's box {@code [xmin ymin xmax ymax]} (the devkit keeps {@code label} and
 * {@code bbox}; {@code bbox} is the XML's numbers, unchanged). Read positionally, exactly as
 * layercam_loc's {@code scripts/test.py} does ({@code rec[0][i][0][0][j][1][0]}): entry i belongs to
 * line i of the labels file. The label field is not used (the class comes from the labels file, as
 * there). Coordinates are taken as written; a non-integral one is truncated, as in {@link VocXml}.
 * Read with the MFL library after {@link MatFileCheck} has checked the file's structure.
 */
final class MatBoxes {
    private MatBoxes() {}

    /** Files over this many bytes (and contents over it once inflated) are refused. ILSVRC2012's is a few MB. */
    public static final long MAX_BYTES = 256L << 20;

    static {
        quietUnsafeWarning();
    }

    /**
     * MFL reads numbers through sun.misc.Unsafe, and JDK 24+ answers the first such call with a
     * four-line deprecation warning written straight to the process's stderr (not System.err),
     * which the user can do nothing about and which would break the one-line error output. The
     * JDK keeps "already warned" in a private static of sun.misc.Unsafe (its module opens the
     * package to reflection); setting it first keeps stderr ours. On a JDK without the field
     * (21–23 warn nothing) this does nothing.
     */
    private static void quietUnsafeWarning() {
        try {
            java.lang.reflect.Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("memoryAccessWarned");
            f.setAccessible(true);
            f.setBoolean(null, true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // not there (older JDK) or not settable: MFL still works, the JDK may print its warning
        }
    }

    /** The boxes of every entry of {@code rec}, in order (an entry without objects has none). */
    public static List<List<Box>> read(Path file) {
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) throw new EvalException(file + " is a folder, not a .mat file");
            if (Files.size(file) > MAX_BYTES) throw new EvalException(file + " is over " + (MAX_BYTES >> 20) + " MB; not a box annotation");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new EvalException(file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new EvalException(file + ": permission denied");
        } catch (IOException e) {
            throw new EvalException("cannot read " + file + ": " + e.getMessage(), e);
        }
        byte[] plain = MatFileCheck.plain(bytes, file.toString(), MAX_BYTES);
        try (MatFile mat = Mat5.newReader(Sources.wrap(plain)).disableSubsystemProcessing()
                .setBufferAllocator(new Budget(4L * plain.length + (1 << 20))).readMat()) {
            Array rec = null;
            for (MatFile.Entry e : mat.getEntries()) {
                if (e.getName().equals("rec")) rec = e.getValue();
            }
            if (rec == null) throw new EvalException(file + " has no variable 'rec' (layercam_loc's val_box.mat holds a struct array rec)");
            if (!(rec instanceof Struct s) || s.getFieldNames().isEmpty()) throw new EvalException(file + ": 'rec' is not a struct array");
            String objectsField = s.getFieldNames().get(0);
            int n = s.getNumElements();
            List<List<Box>> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) out.add(objects(file, i, s.get(objectsField, i)));
            return out;
        } catch (IOException | RuntimeException e) {
            if (e instanceof EvalException ee) throw ee;
            throw new EvalException(file + " cannot be read as a MAT-file: " + firstLine(e), e);
        }
    }

    /** One entry's objects: a struct array whose second field is each box (an empty array: no objects). */
    private static List<Box> objects(Path file, int entry, Array a) {
        String where = file + ", rec(" + (entry + 1) + ")";
        if (a.getNumElements() == 0) return List.of();
        if (!(a instanceof Struct o) || o.getFieldNames().size() < 2) {
            throw new EvalException(where + ": its first field is not a struct array of objects with a box as their second field");
        }
        String boxField = o.getFieldNames().get(1);
        List<Box> boxes = new ArrayList<>(o.getNumElements());
        for (int j = 0; j < o.getNumElements(); j++) {
            Array b = o.get(boxField, j);
            String what = where + ".objects(" + (j + 1) + ")." + boxField;
            if (!(b instanceof Matrix m) || m.isComplex() || m.getNumElements() != 4) {
                throw new EvalException(what + " is not 4 numbers [xmin ymin xmax ymax]");
            }
            int[] v = new int[4];
            for (int k = 0; k < 4; k++) {
                double d = m.getDouble(k);
                if (!Double.isFinite(d) || d < 0 || d > Integer.MAX_VALUE) throw new EvalException(what + " has " + d + ", not a non-negative number");
                v[k] = (int) d;
            }
            if (v[2] < v[0] || v[3] < v[1]) throw new EvalException(what + " has xmax < xmin or ymax < ymin (" + v[0] + "," + v[1] + "," + v[2] + "," + v[3] + ")");
            boxes.add(new Box(v[0], v[1], v[2], v[3]));
        }
        return boxes;
    }

    /** The innermost cause's message, one line, without Java class names (MFL wraps what it throws). */
    private static String firstLine(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String s = t.getMessage() == null ? "" : t.getMessage().strip();
        int nl = s.indexOf('\n');
        if (nl >= 0) s = s.substring(0, nl);
        if (s.isEmpty() || s.contains("java.") || s.contains("us.hebi")) return "its structure is damaged";
        return s;
    }

    /** Heap buffers, in all at most what the file could need (MFL sizes them from the tags, already checked). */
    private static final class Budget implements BufferAllocator {
        private long left;

        Budget(long bytes) {
            this.left = bytes;
        }

        @Override
        public synchronized ByteBuffer allocate(int numBytes) {
            if (numBytes < 0 || numBytes > left) throw new IllegalStateException("its arrays declare more data than the file holds");
            left -= numBytes;
            return ByteBuffer.allocate(numBytes);
        }

        @Override
        public void release(ByteBuffer buffer) {
        }
    }
}
