package g2m.weights.pytorch;

import g2m.weights.DType;
import g2m.weights.OneLine;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pyrolite's unpickler restricted to what {@code torch.save(state_dict)} writes.
 *
 * <p>Globals are resolved per instance: this class handles GLOBAL, STACK_GLOBAL and INST in
 * {@link #dispatch} itself and never consults Pyrolite's static constructor registry (which it
 * leaves untouched), so a global outside the allow-list is refused by name before anything is
 * constructed. The allow-list is {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor}, {@code _rebuild_tensor_v2}, {@code _rebuild_parameter},
 * {@code _rebuild_parameter_with_state} and the {@code torch.*Storage} classes. Since an
 * {@link IObjectConstructor} can only reach the stack through those opcodes, REDUCE, NEWOBJ and
 * OBJ can only call the constructors defined here.
 *
 * <p>Dicts are built ordered (Pyrolite's own SETITEMS loses the order) and refuse unhashable
 * keys (hashing a deep or cyclic list would recurse without bound); BUILD is accepted only on an
 * OrderedDict (nn.Module.state_dict() attaches {@code _metadata} that way) and ignored; sets are
 * refused. Tensors come out as {@link TensorRef}s that are materialized later, because in the
 * legacy format their data follows the pickle.
 */
final class TorchUnpickler extends Unpickler {

    /** A storage class such as {@code torch.FloatStorage}; {@code dtype} is null when unsupported. */
    record StorageType(String name, int elementSize, DType dtype) implements IObjectConstructor {
        @Override
        public Object construct(Object[] args) {
            throw new PthFormatException("pickle calls the storage class torch." + name + ", which PyTorch never does");
        }
    }

    private static final Map<String, StorageType> STORAGE_TYPES = new LinkedHashMap<>();

    static {
        for (StorageType t : List.of(
                new StorageType("FloatStorage", 4, DType.F32),
                new StorageType("HalfStorage", 2, DType.F16),
                new StorageType("BFloat16Storage", 2, DType.BF16),
                new StorageType("DoubleStorage", 8, DType.F64),
                new StorageType("LongStorage", 8, null),
                new StorageType("IntStorage", 4, null),
                new StorageType("ShortStorage", 2, null),
                new StorageType("CharStorage", 1, null),
                new StorageType("ByteStorage", 1, null),
                new StorageType("BoolStorage", 1, null),
                new StorageType("ComplexFloatStorage", 8, null),
                new StorageType("ComplexDoubleStorage", 16, null),
                new StorageType("QUInt8Storage", 1, null),
                new StorageType("QInt8Storage", 1, null),
                new StorageType("QInt32Storage", 4, null),
                new StorageType("QUInt4x2Storage", 1, null),
                new StorageType("QUInt2x4Storage", 1, null))) {
            STORAGE_TYPES.put(t.name(), t);
        }
    }

    /** One stored storage: an archive entry or a block of the legacy file. */
    static final class StorageRoot {
        final String key;
        final StorageType type;
        final long numel;
        /** Exactly numel * elementSize little-endian bytes, once loaded. */
        ByteBuffer data;

        StorageRoot(String key, StorageType type, long numel) {
            this.key = key;
            this.type = type;
            this.numel = numel;
        }
    }

    /** A storage as a tensor sees it: a root, or (legacy format) an element range of one. */
    record StorageRef(StorageRoot root, long offset, long numel) {}

    /** A tensor as pickled: a view (offset, size, stride, in elements) of a storage. */
    static final class TensorRef {
        final StorageRef storage;
        final long offset;
        final long[] size;
        final long[] stride;

        TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
            this.storage = storage;
            this.offset = offset;
            this.size = size;
            this.stride = stride;
        }
    }

    /** collections.OrderedDict. */
    static final class PyOrderedDict extends LinkedHashMap<Object, Object> {
        private static final long serialVersionUID = 1L;
    }

    static final int MAX_RANK = 64;

    private final boolean legacy;
    /** Storages by key, as the persistent ids declare them, in order of first use. */
    final Map<String, StorageRoot> roots = new LinkedHashMap<>();

    /** @param legacy whether persistent ids have the legacy (pre-1.6) six-field layout */
    TorchUnpickler(boolean legacy) {
        this.legacy = legacy;
    }

    @Override
    protected Object dispatch(short key) throws IOException {
        switch (key) {
            case Opcodes.GLOBAL -> {
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                stack.add(resolveGlobal(module, name));
            }
            case Opcodes.STACK_GLOBAL -> {
                Object name = stack.pop();
                Object module = stack.pop();
                if (!(module instanceof String m) || !(name instanceof String n)) {
                    throw new PthFormatException("pickle is corrupt (STACK_GLOBAL without a module and a name)");
                }
                stack.add(resolveGlobal(m, n));
            }
            case Opcodes.INST -> {
                String module = PickleUtils.readline(input);
                String name = PickleUtils.readline(input);
                IObjectConstructor c = resolveGlobal(module, name);
                stack.add(c.construct(stack.pop_all_since_marker().toArray()));
            }
            case Opcodes.EMPTY_DICT -> stack.add(new LinkedHashMap<>());
            case Opcodes.DICT -> {
                List<Object> items = stack.pop_all_since_marker();
                Map<Object, Object> map = new LinkedHashMap<>();
                putAll(map, items);
                stack.add(map);
            }
            case Opcodes.SETITEM -> {
                Object value = stack.pop();
                Object k = stack.pop();
                put(targetMap(), k, value);
            }
            case Opcodes.SETITEMS -> {
                List<Object> items = stack.pop_all_since_marker();
                putAll(targetMap(), items);
            }
            case Opcodes.BUILD -> {
                stack.pop(); // the state
                Object target = stack.peek();
                if (!(target instanceof PyOrderedDict)) {
                    throw new PthFormatException("pickle sets the state of a " + typeName(target)
                            + " (BUILD), which a PyTorch state dict never does");
                }
                // an OrderedDict's state is its instance __dict__ (state_dict()'s _metadata): not needed
            }
            // Pyrolite trims the list after every APPENDS and the whole stack after every POP_MARK,
            // so that the next push copies it all again: quadratic time for many short runs.
            case Opcodes.APPEND -> {
                Object value = stack.pop();
                targetList().add(value);
            }
            case Opcodes.APPENDS -> {
                List<Object> items = stack.pop_all_since_marker();
                targetList().addAll(items);
            }
            case Opcodes.POP_MARK -> stack.pop_all_since_marker();
            case Opcodes.EMPTY_SET, Opcodes.ADDITEMS, Opcodes.FROZENSET ->
                    throw new PthFormatException("pickle contains a set, which a PyTorch state dict never does");
            default -> {
                return super.dispatch(key);
            }
        }
        return NO_RETURN_VALUE;
    }

    private List<Object> targetList() {
        Object target = stack.peek();
        if (!(target instanceof List)) {
            throw new PthFormatException("pickle is corrupt (list items added to a " + typeName(target) + ")");
        }
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) target;
        return list;
    }

    private Map<Object, Object> targetMap() {
        Object target = stack.peek();
        if (!(target instanceof Map)) {
            throw new PthFormatException("pickle is corrupt (dict items added to a " + typeName(target) + ")");
        }
        @SuppressWarnings("unchecked")
        Map<Object, Object> map = (Map<Object, Object>) target;
        return map;
    }

    private static void putAll(Map<Object, Object> map, List<Object> items) {
        if (items.size() % 2 != 0) throw new PthFormatException("pickle is corrupt (a dict key without a value)");
        for (int i = 0; i < items.size(); i += 2) put(map, items.get(i), items.get(i + 1));
    }

    private static void put(Map<Object, Object> map, Object k, Object v) {
        if (k instanceof Collection || k instanceof Map) {
            throw new PthFormatException("pickle uses a " + typeName(k) + " as a dict key, which Python cannot do");
        }
        map.put(k, v);
    }

    private static IObjectConstructor resolveGlobal(String module, String name) {
        switch (module + "." + name) {
            case "collections.OrderedDict":
                return args -> {
                    if (args.length != 0) {
                        throw new PthFormatException("pickle calls OrderedDict with arguments, which PyTorch never does");
                    }
                    return new PyOrderedDict();
                };
            case "torch._utils._rebuild_tensor":
                return args -> rebuildTensor("_rebuild_tensor", args, 4, 4);
            case "torch._utils._rebuild_tensor_v2":
                return args -> rebuildTensor("_rebuild_tensor_v2", args, 6, 7);
            case "torch._utils._rebuild_parameter":
                return args -> rebuildParameter("_rebuild_parameter", args, 3);
            case "torch._utils._rebuild_parameter_with_state":
                return args -> rebuildParameter("_rebuild_parameter_with_state", args, 4);
            default:
                break;
        }
        if (module.equals("torch") || module.equals("torch.cuda")) {
            StorageType t = STORAGE_TYPES.get(name);
            if (t != null) return t;
        }
        throw new PthFormatException("refusing to load global '" + printable(module + "." + name)
                + "' (only PyTorch tensor and OrderedDict globals are allowed)");
    }

    private static Object rebuildParameter(String fn, Object[] args, int count) {
        if (args.length != count || !(args[0] instanceof TensorRef t)) {
            throw new PthFormatException("pickle calls torch._utils." + fn + " without a tensor and "
                    + (count - 1) + " more arguments");
        }
        return t;
    }

    private static TensorRef rebuildTensor(String fn, Object[] args, int min, int max) {
        String what = "torch._utils." + fn;
        if (args.length < min || args.length > max) {
            throw new PthFormatException("pickle calls " + what + " with " + args.length + " arguments, expected "
                    + (min == max ? Integer.toString(min) : min + " or " + max));
        }
        if (!(args[0] instanceof StorageRef storage)) {
            throw new PthFormatException("pickle calls " + what + " with a " + typeName(args[0]) + " instead of a storage");
        }
        long offset = nonNegative(args[1], "a tensor's storage offset");
        long[] size = longs(args[2], "a tensor's size");
        long[] stride = longs(args[3], "a tensor's stride");
        if (size.length != stride.length) {
            throw new PthFormatException("a tensor has " + size.length + " dimensions but " + stride.length + " strides");
        }
        return new TensorRef(storage, offset, size, stride);
    }

    @Override
    protected Object persistentLoad(Object pid) {
        int fields = legacy ? 6 : 5;
        if (!(pid instanceof Object[] t) || t.length == 0 || !"storage".equals(t[0])) {
            throw new PthFormatException("pickle has a persistent id that is not a ('storage', ...) tuple");
        }
        if (t.length != fields) {
            throw new PthFormatException("a storage persistent id has " + t.length + " fields, expected " + fields);
        }
        if (!(t[1] instanceof StorageType type)) {
            throw new PthFormatException("a storage persistent id names a " + typeName(t[1]) + " instead of a storage class");
        }
        if (!(t[2] instanceof String key)) {
            throw new PthFormatException("a storage persistent id has a " + typeName(t[2]) + " as its key");
        }
        long numel = nonNegative(t[4], "a storage's size");
        StorageRoot root = roots.get(key);
        if (root == null) {
            root = new StorageRoot(key, type, numel);
            roots.put(key, root);
        } else if (root.type != type || root.numel != numel) {
            throw new PthFormatException("storage '" + printable(key) + "' is declared both as " + root.numel + " x "
                    + root.type.name() + " and as " + numel + " x " + type.name());
        }
        if (legacy && t[5] != null) {
            if (!(t[5] instanceof Object[] view) || view.length != 3) {
                throw new PthFormatException("storage '" + printable(key) + "' has a malformed view (expected (key, offset, size))");
            }
            long off = nonNegative(view[1], "a storage view's offset");
            long n = nonNegative(view[2], "a storage view's size");
            if (off > numel || n > numel - off) {
                throw new PthFormatException("a view of storage '" + printable(key) + "' (elements " + off + " + " + n
                        + ") lies outside its " + numel + " elements");
            }
            return new StorageRef(root, off, n);
        }
        return new StorageRef(root, 0, numel);
    }

    private static long[] longs(Object o, String what) {
        if (!(o instanceof Object[] t)) throw new PthFormatException(what + " is a " + typeName(o) + ", not a tuple");
        if (t.length > MAX_RANK) throw new PthFormatException(what + " has " + t.length + " dimensions (at most " + MAX_RANK + ")");
        long[] out = new long[t.length];
        for (int i = 0; i < t.length; i++) out[i] = nonNegative(t[i], what);
        return out;
    }

    private static long nonNegative(Object o, String what) {
        long v;
        if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) {
            v = ((Number) o).longValue();
        } else if (o instanceof BigInteger) {
            throw new PthFormatException(what + " is too large");
        } else {
            throw new PthFormatException(what + " is a " + typeName(o) + ", not an integer");
        }
        if (v < 0) throw new PthFormatException(what + " is negative (" + v + ")");
        return v;
    }

    /** A short description of a pickled value's type, for messages (never its content). */
    static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof String) return "string";
        if (o instanceof Boolean) return "bool";
        if (o instanceof Number) return "number";
        if (o instanceof Object[]) return "tuple";
        if (o instanceof List) return "list";
        if (o instanceof Map) return "dict";
        if (o instanceof Collection) return "set";
        if (o instanceof byte[]) return "bytes";
        if (o instanceof TensorRef) return "tensor";
        if (o instanceof StorageRef) return "storage";
        if (o instanceof StorageType t) return "storage class torch." + t.name();
        if (o instanceof IObjectConstructor) return "function";
        return "Python object";
    }

    /** A name or key from the file made safe for a one-line message. */
    static String printable(String s) {
        return OneLine.escape(s, 200);
    }
}
