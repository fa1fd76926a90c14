package g2m.weights.caffe;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.ExtensionRegistryLite;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import g2m.weights.AtomicFiles;
import g2m.weights.DType;
import g2m.weights.InputFiles;
import g2m.weights.OneLine;
import g2m.weights.Tensor;
import g2m.weights.WeightsException;
import g2m.weights.caffe.proto.CaffeMin.BlobProto;
import g2m.weights.caffe.proto.CaffeMin.BlobShape;
import g2m.weights.caffe.proto.CaffeMin.LayerParameter;
import g2m.weights.caffe.proto.CaffeMin.NetParameter;
import g2m.weights.caffe.proto.CaffeMin.V1LayerParameter;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads the learned parameters of a Caffe model ({@code .caffemodel}, a serialized
 * {@code caffe.NetParameter}): for every layer that has blobs, blob 0 becomes
 * {@code <layer>.weight} and blob 1 {@code <layer>.bias}. Both the current ({@code layer},
 * field 100) and the V1 ({@code layers}, field 2; e.g. the published VGG_ILSVRC_16_layers
 * file) layer lists are read; shapes come from {@code shape.dim} or, failing that, from the
 * legacy 4-D {@code num/channels/height/width}, kept as written (so an inner-product weight
 * may be {@code [1, 1, out, in]}; {@link g2m.weights.Vgg16#validate} squeezes it).
 *
 * <p>The file is streamed, not parsed into generated messages: each blob's packed
 * {@code data} bytes are already little-endian float32, so they are copied once into an
 * exactly sized buffer that becomes the tensor. Peak memory is therefore about the size of
 * the weights plus a few MiB, and nothing is ever allocated from a length the file declares
 * without first checking that the file still holds that many bytes. Field numbers come from
 * the generated schema ({@code src/main/proto/caffe_min.proto}), which also parses blob
 * shapes. Every problem comes out as a one-line {@link WeightsException} starting with the
 * file name.
 */
public final class CaffeModelReader {
    private CaffeModelReader() {}

    /** Protobuf's hard limit on a message, and so on a .caffemodel file. */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE;

    /** Caffe's own limit on a blob's dimensions (kMaxBlobAxes). */
    static final int MAX_AXES = 32;
    private static final int STREAM_BUFFER = 64 * 1024;
    private static final int COPY_CHUNK = 1 << 20;
    private static final int SMALL_RUN = 256;

    /**
     * True if the file looks like a Caffe model: a {@code .caffemodel} name, or bytes that start
     * like a NetParameter (a {@code name}, {@code layers} or {@code layer} field with a
     * well-formed length). Cheap; it reads nothing beyond {@code head}.
     */
    public static boolean looksLike(byte[] head, String fileName) {
        if (fileName != null && fileName.toLowerCase(Locale.ROOT).endsWith(".caffemodel")) return true;
        if (head == null || head.length < 3) return false;
        int b0 = head[0] & 0xff;
        int p;
        if (b0 == 0x0a || b0 == 0x12) {
            p = 1;
        } else if (b0 == 0xa2 && (head[1] & 0xff) == 0x06) {
            p = 2;
        } else {
            return false;
        }
        long len = 0;
        int shift = 0;
        while (true) {
            if (p >= head.length || shift > 28) return false;
            int b = head[p++] & 0xff;
            len |= (long) (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0) break;
        }
        if (len > Integer.MAX_VALUE) return false;
        if (b0 == 0x0a) { // the net's name: printable text
            for (int i = p; i < head.length && i < p + len; i++) {
                int c = head[i] & 0xff;
                if (c < 0x20 || c == 0x7f) return false;
            }
            return len > 0;
        }
        if (len == 0) return false;
        if (p >= head.length) return true;
        int tag = head[p] & 0xff; // first field of a layer: a valid, non-group wire type, field >= 1
        int wireType = tag & 7;
        return tag >= 8 && (wireType == 0 || wireType == 1 || wireType == 2 || wireType == 5);
    }

    /** Reads every layer's weights, in file order. */
    public static LinkedHashMap<String, Tensor> read(Path file) {
        String what = String.valueOf(file);
        InputFiles.requireRegularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) throw bad(what, "the file is empty");
            if (size > MAX_FILE_BYTES) {
                throw new WeightsException(what + ": file is " + size + " bytes, but a Caffe model is a single protobuf"
                        + " message and protobuf cannot read one over 2 GiB (" + MAX_FILE_BYTES + " bytes)");
            }
            InputStream in = Channels.newInputStream(ch);
            CodedInputStream cis = CodedInputStream.newInstance(in, STREAM_BUFFER);
            cis.setSizeLimit((int) size);
            return new Parser(what, cis, size).net();
        } catch (WeightsException e) {
            String m = oneLine(e.getMessage());
            if (m.startsWith(what)) throw e;
            throw new WeightsException(what + ": " + m, e);
        } catch (NoSuchFileException e) {
            throw new WeightsException(what + ": no such file", e);
        } catch (InvalidProtocolBufferException e) {
            throw bad(what, "corrupt or truncated protobuf (" + firstSentence(e.getMessage()) + ")", e);
        } catch (IOException e) {
            throw new WeightsException(what + ": cannot read: " + oneLine(AtomicFiles.describe(e)), e);
        } catch (RuntimeException e) {
            throw bad(what, "corrupt protobuf" + (e.getMessage() == null ? "" : " (" + oneLine(e.getMessage()) + ")"), e);
        } catch (StackOverflowError e) {
            throw bad(what, "corrupt protobuf (nesting too deep)", e);
        }
    }

    private static WeightsException bad(String what, String why) {
        return new WeightsException(what + ": not a valid Caffe model: " + why);
    }

    private static WeightsException bad(String what, String why, Throwable cause) {
        return new WeightsException(what + ": not a valid Caffe model: " + why, cause);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("[\\r\\n]+", " ").strip();
    }

    private static String firstSentence(String s) {
        String m = oneLine(s);
        int dot = m.indexOf(". ");
        return dot > 0 ? m.substring(0, dot) : m.endsWith(".") ? m.substring(0, m.length() - 1) : m;
    }

    /** A name from the file, safe to print: control characters escaped, length capped. */
    static String quote(String s) {
        return "'" + OneLine.escape(s, 80) + "'";
    }

    /**
     * One blob's values as raw little-endian bytes, grown as fields arrive. Growth is geometric
     * (so many short runs cost linear time, not a copy of everything so far per run) but never
     * beyond what the bytes left in the blob can still supply, and the final array is trimmed.
     */
    private static final class Values {
        final int elementSize;
        byte[] buf;
        int len;

        Values(int elementSize) {
            this.elementSize = elementSize;
        }

        /** Makes room for {@code extra} more bytes; {@code moreInput} is what the blob holds after them. */
        void ensure(int extra, int moreInput) {
            int need = Math.addExact(len, extra);
            if (buf != null && need <= buf.length) return;
            long grow = Math.max(need, buf == null ? 64 : 2L * buf.length);
            long cap = (long) need + moreInput; // later elements can only come from the bytes left
            int size = (int) Math.min(Math.min(grow, cap), Integer.MAX_VALUE - 8);
            if (size < need) throw new WeightsException("a blob holds more values than fit in memory");
            buf = buf == null ? new byte[size] : Arrays.copyOf(buf, size);
        }

        /** One unpacked element. */
        void appendOne(long bits, int moreInput) {
            ensure(elementSize, moreInput);
            for (int i = 0; i < elementSize; i++) buf[len++] = (byte) (bits >>> (8 * i));
        }

        int count() {
            return len / elementSize;
        }

        /** The values, in an array of exactly their size. */
        byte[] bytes() {
            if (buf == null) return new byte[0];
            if (buf.length != len) buf = Arrays.copyOf(buf, len);
            return buf;
        }
    }

    private record Blob(long[] shape, Values floats, Values doubles) {}

    private static final class Parser {
        private final String what;
        private final CodedInputStream in;
        private final long fileSize;

        Parser(String what, CodedInputStream in, long fileSize) {
            this.what = what;
            this.in = in;
            this.fileSize = fileSize;
        }

        private WeightsException bad(String why) {
            return CaffeModelReader.bad(what, why);
        }

        /** Pushes a limit for a length-delimited field after checking the file holds it. */
        private int pushLength(String of) throws IOException {
            int len = in.readRawVarint32();
            long left = Math.min(in.getBytesUntilLimit() < 0 ? Long.MAX_VALUE : in.getBytesUntilLimit(),
                    fileSize - in.getTotalBytesRead());
            if (len < 0 || len > left) {
                throw bad(of + " claims " + Integer.toUnsignedLong(len) + " bytes but only " + left
                        + " are left (truncated or corrupt file)");
            }
            return in.pushLimit(len);
        }

        LinkedHashMap<String, Tensor> net() throws IOException {
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            Set<String> layerNames = new HashSet<>();
            int v1Layers = 0;
            int v2Layers = 0;
            boolean sawV0 = false;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) break;
                int field = WireFormat.getTagFieldNumber(tag);
                boolean isLayer = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED
                        && (field == NetParameter.LAYER_FIELD_NUMBER || field == NetParameter.LAYERS_FIELD_NUMBER);
                if (!isLayer) {
                    if (!in.skipField(tag)) throw bad("unexpected end-group tag");
                    continue;
                }
                boolean v1 = field == NetParameter.LAYERS_FIELD_NUMBER;
                int index = v1 ? v1Layers++ : v2Layers++;
                String entry = (v1 ? "V1 'layers' entry #" : "'layer' entry #") + (index + 1);
                int old = pushLength(entry);
                Layer layer = layer(v1, entry);
                in.popLimit(old);
                sawV0 |= layer.hasV0;
                if (layer.blobs.isEmpty()) continue;
                if (layer.name == null || layer.name.isEmpty()) {
                    throw bad(entry + (layer.type.isEmpty() ? "" : " (" + layer.type + ")") + " has weights but no name");
                }
                String name = quote(layer.name);
                if (!layerNames.add(layer.name)) throw bad("layer " + name + " appears twice");
                if (layer.blobs.size() > 2) {
                    throw bad("layer " + name + " has " + layer.blobs.size()
                            + " blobs; only a weight and a bias (2 blobs) are supported");
                }
                for (int i = 0; i < layer.blobs.size(); i++) {
                    String tensorName = layer.name + (i == 0 ? ".weight" : ".bias");
                    Tensor t = tensor(tensorName, "layer " + name + " blob " + i + " (" + (i == 0 ? "weight" : "bias") + ")",
                            layer.blobs.get(i));
                    if (out.put(tensorName, t) != null) throw bad("tensor " + quote(tensorName) + " appears twice");
                }
            }
            if (v1Layers > 0 && v2Layers > 0) {
                throw bad("it holds both V1 'layers' and current 'layer' entries; Caffe refuses such a file too");
            }
            if (out.isEmpty()) {
                if (sawV0) {
                    throw bad("it is a pre-2014 (V0) Caffe model, which is not supported;"
                            + " upgrade it with Caffe's upgrade_net_proto_binary tool first");
                }
                throw bad(v1Layers + v2Layers == 0
                        ? "no layers found (is it a Caffe .caffemodel at all?)"
                        : (v1Layers + v2Layers) + " layers but none has weights (a .prototxt net definition, not trained weights?)");
            }
            return out;
        }

        private static final class Layer {
            String name;
            String type = "";
            boolean hasV0;
            final List<Blob> blobs = new ArrayList<>();
        }

        private Layer layer(boolean v1, String entry) throws IOException {
            int nameField = v1 ? V1LayerParameter.NAME_FIELD_NUMBER : LayerParameter.NAME_FIELD_NUMBER;
            int typeField = v1 ? V1LayerParameter.TYPE_FIELD_NUMBER : LayerParameter.TYPE_FIELD_NUMBER;
            int blobsField = v1 ? V1LayerParameter.BLOBS_FIELD_NUMBER : LayerParameter.BLOBS_FIELD_NUMBER;
            Layer l = new Layer();
            while (true) {
                int tag = in.readTag();
                if (tag == 0) break;
                int field = WireFormat.getTagFieldNumber(tag);
                int wire = WireFormat.getTagWireType(tag);
                if (field == nameField && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    l.name = in.readString();
                } else if (field == typeField && !v1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    l.type = in.readString();
                } else if (field == typeField && v1 && wire == WireFormat.WIRETYPE_VARINT) {
                    int t = in.readEnum();
                    V1LayerParameter.LayerType lt = V1LayerParameter.LayerType.forNumber(t);
                    l.type = lt != null ? lt.name() : "type " + t;
                } else if (field == blobsField && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    String of = entry + (l.name != null ? " (" + quote(l.name) + ")" : "") + " blob " + l.blobs.size();
                    int old = pushLength(of);
                    l.blobs.add(blob());
                    in.popLimit(old);
                } else {
                    // V1's field 1 is the nested V0 layer that pre-2014 files keep their blobs in
                    if (v1 && field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) l.hasV0 = true;
                    if (!in.skipField(tag)) throw bad("unexpected end-group tag in " + entry);
                }
            }
            return l;
        }

        private Blob blob() throws IOException {
            long[] legacy = new long[4];
            boolean hasLegacy = false;
            BlobShape.Builder shape = null;
            Values floats = new Values(4);
            Values doubles = new Values(8);
            while (true) {
                int tag = in.readTag();
                if (tag == 0) break;
                int field = WireFormat.getTagFieldNumber(tag);
                int wire = WireFormat.getTagWireType(tag);
                if (field >= BlobProto.NUM_FIELD_NUMBER && field <= BlobProto.WIDTH_FIELD_NUMBER
                        && wire == WireFormat.WIRETYPE_VARINT) {
                    legacy[field - BlobProto.NUM_FIELD_NUMBER] = in.readInt64();
                    hasLegacy = true;
                } else if (field == BlobProto.DATA_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    packed(floats, "float data");
                } else if (field == BlobProto.DATA_FIELD_NUMBER && wire == WireFormat.WIRETYPE_FIXED32) {
                    floats.appendOne(in.readRawLittleEndian32() & 0xffffffffL, Math.max(0, in.getBytesUntilLimit()));
                } else if (field == BlobProto.DOUBLE_DATA_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    packed(doubles, "double data");
                } else if (field == BlobProto.DOUBLE_DATA_FIELD_NUMBER && wire == WireFormat.WIRETYPE_FIXED64) {
                    doubles.appendOne(in.readRawLittleEndian64(), Math.max(0, in.getBytesUntilLimit()));
                } else if (field == BlobProto.SHAPE_FIELD_NUMBER && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    if (shape == null) shape = BlobShape.newBuilder();
                    in.readMessage(shape, ExtensionRegistryLite.getEmptyRegistry()); // repeated occurrences merge
                } else if (!in.skipField(tag)) {
                    throw bad("unexpected end-group tag in a blob");
                }
            }
            long[] dims;
            if (shape != null) {
                if (shape.getDimCount() > MAX_AXES) {
                    throw bad("a blob shape has " + shape.getDimCount() + " dimensions (Caffe allows at most " + MAX_AXES + ")");
                }
                dims = new long[shape.getDimCount()];
                for (int i = 0; i < dims.length; i++) dims[i] = shape.getDim(i);
            } else if (hasLegacy) {
                dims = legacy;
            } else {
                dims = new long[0]; // as Caffe: no shape at all is a scalar
            }
            return new Blob(dims, floats, doubles);
        }

        /** A packed run of fixed-size elements, appended to {@code to} in chunks. */
        private void packed(Values to, String of) throws IOException {
            int len = in.readRawVarint32();
            long left = Math.min(in.getBytesUntilLimit() < 0 ? Long.MAX_VALUE : in.getBytesUntilLimit(),
                    fileSize - in.getTotalBytesRead());
            if (len < 0 || len > left) {
                throw bad("packed " + of + " claims " + Integer.toUnsignedLong(len) + " bytes but only " + left
                        + " are left (truncated or corrupt file)");
            }
            if (len % to.elementSize != 0) {
                throw bad("packed " + of + " is " + len + " bytes, not a multiple of " + to.elementSize);
            }
            to.ensure(len, (int) Math.min(Integer.MAX_VALUE, left - len));
            if (len <= SMALL_RUN) { // element by element: no array allocated per run
                for (int off = 0; off < len; off += to.elementSize) {
                    long bits = to.elementSize == 4 ? in.readRawLittleEndian32() & 0xffffffffL : in.readRawLittleEndian64();
                    for (int i = 0; i < to.elementSize; i++) to.buf[to.len++] = (byte) (bits >>> (8 * i));
                }
                return;
            }
            for (int off = 0; off < len; ) {
                int n = Math.min(COPY_CHUNK, len - off);
                byte[] chunk = in.readRawBytes(n);
                System.arraycopy(chunk, 0, to.buf, to.len, n);
                to.len += n;
                off += n;
            }
        }

        private Tensor tensor(String tensorName, String of, Blob b) {
            long n = 1;
            for (long d : b.shape) {
                if (d < 0) throw bad(of + " has a negative dimension in shape " + Arrays.toString(b.shape));
                try {
                    n = Math.multiplyExact(n, d);
                } catch (ArithmeticException e) {
                    throw bad(of + " has shape " + Arrays.toString(b.shape) + ", whose element count overflows");
                }
            }
            int floats = b.floats.count();
            int doubles = b.doubles.count();
            if (floats > 0 && doubles > 0) {
                throw bad(of + " holds both float (" + floats + ") and double (" + doubles + ") values");
            }
            Values v = doubles > 0 ? b.doubles : b.floats;
            DType dtype = doubles > 0 ? DType.F64 : DType.F32;
            int count = v.count();
            if (count != n) {
                throw bad(of + " holds " + count + " values but its shape " + Arrays.toString(b.shape) + " needs " + n);
            }
            ByteBuffer data = ByteBuffer.wrap(v.bytes());
            return new Tensor(tensorName, dtype, b.shape, data);
        }
    }
}
