package g2m.backend.cpu;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.util.Map;
import java.util.Optional;

/**
 * Lets oneDNN's OpenMP threads sleep, not spin, once a primitive is done: an fp32 CPU backend,
 * before it loads oneDNN (and the libgomp it brings), puts OMP_WAIT_POLICY=PASSIVE into the
 * process's native environment, unless the user chose a policy (OMP_WAIT_POLICY or
 * GOMP_SPINCOUNT set). libgomp reads it once, when it loads, so the first backend decides.
 *
 * <p>Why fp32: by default libgomp's idle threads spin for a while (GOMP_SPINCOUNT 300 000) after
 * each parallel region, and in fp32 the backend's own pool (Winograd, pooling, the fc products)
 * usually runs next, on the same cores. On 2 Zen 4 cores conv1_2's Winograd took 10.6–12.2 ms
 * alone, 15.3–17.1 right after conv1_1 on oneDNN, 10.2–11.6 after it with PASSIVE; the whole
 * batch-1 map call was 2–6 % faster in three interleaved profiles. Why not bf16: there nearly
 * every step is oneDNN's, back to back, and the same three profiles ran 3–13 % slower with
 * PASSIVE (a sleeping team's wake-up, many times per call), so bf16 keeps the spinning default.
 *
 * <p>How: libc's {@code setenv}, through the foreign-function API. That API is final from Java 22
 * and the engine's baseline is 21, so it is reached by reflection; on 21, or where native access
 * is not enabled for this code (the call would print a warning), nothing is set and the user can
 * set the variable themselves. Java's own {@code System.getenv} keeps its start-up copy, so
 * child processes do not inherit the setting.
 */
final class OpenMpWaitPolicy {
    static final String VARIABLE = "OMP_WAIT_POLICY", VALUE = "PASSIVE";

    private static String outcome;

    private OpenMpWaitPolicy() {}

    /** Whether to set the policy given the process's environment: not where the user set either of libgomp's two waiting variables. */
    static boolean wanted(Map<String, String> env) {
        return !env.containsKey(VARIABLE) && !env.containsKey("GOMP_SPINCOUNT");
    }

    /**
     * Sets OMP_WAIT_POLICY=PASSIVE where {@link #wanted}; idempotent. Returns what happened, in
     * words: "set", "the user's setting kept", or why it could not be set.
     */
    static synchronized String apply() {
        if (outcome != null) return outcome;
        if (!wanted(System.getenv())) return outcome = "the user's setting kept";
        String why = unavailable();
        if (why != null) return outcome = why;
        try {
            Object arena = Class.forName("java.lang.foreign.Arena").getMethod("ofConfined").invoke(null);
            try {
                Object name = cString(arena, VARIABLE), value = cString(arena, VALUE);
                int rc = (int) downcall("setenv", "JAVA_INT", "ADDRESS", "ADDRESS", "JAVA_INT").invokeWithArguments(name, value, 0);
                outcome = rc == 0 ? "set" : "setenv failed";
            } finally {
                ((AutoCloseable) arena).close();
            }
        } catch (Throwable t) { // a missing symbol or an API change: run as before, spinning
            outcome = "not set: " + t.getClass().getSimpleName();
        }
        return outcome;
    }

    /** The native environment's value of {@code name} (not Java's start-up copy), or null; needs what {@link #apply} needs. */
    static String nativeValue(String name) throws Throwable {
        Object arena = Class.forName("java.lang.foreign.Arena").getMethod("ofConfined").invoke(null);
        try {
            Object p = downcall("getenv", "ADDRESS", "ADDRESS").invokeWithArguments(cString(arena, name));
            Class<?> seg = Class.forName("java.lang.foreign.MemorySegment");
            if ((long) seg.getMethod("address").invoke(p) == 0) return null;
            Object whole = seg.getMethod("reinterpret", long.class).invoke(p, Long.MAX_VALUE);
            return (String) seg.getMethod("getString", long.class).invoke(whole, 0L);
        } finally {
            ((AutoCloseable) arena).close();
        }
    }

    /** Why the foreign-function API cannot be used here, or null if it can. */
    static String unavailable() {
        if (Runtime.version().feature() < 22) return "not set: Java " + Runtime.version().feature() + " (needs 22)";
        try {
            boolean enabled = (boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(OpenMpWaitPolicy.class.getModule());
            return enabled ? null : "not set: native access is not enabled";
        } catch (ReflectiveOperationException e) {
            return "not set: " + e.getClass().getSimpleName();
        }
    }

    private static Object cString(Object arena, String s) throws ReflectiveOperationException {
        return Class.forName("java.lang.foreign.SegmentAllocator").getMethod("allocateFrom", String.class).invoke(arena, s);
    }

    /** A handle on libc's {@code name} with the given ValueLayout constants as return and argument types. */
    private static MethodHandle downcall(String name, String returns, String... args) throws ReflectiveOperationException {
        Class<?> linkerType = Class.forName("java.lang.foreign.Linker"), layoutType = Class.forName("java.lang.foreign.MemoryLayout");
        Class<?> valueLayout = Class.forName("java.lang.foreign.ValueLayout"), descType = Class.forName("java.lang.foreign.FunctionDescriptor");
        Class<?> optionType = Class.forName("java.lang.foreign.Linker$Option");
        Object linker = linkerType.getMethod("nativeLinker").invoke(null);
        Object lookup = linkerType.getMethod("defaultLookup").invoke(linker);
        Optional<?> symbol = (Optional<?>) Class.forName("java.lang.foreign.SymbolLookup").getMethod("find", String.class).invoke(lookup, name);
        if (symbol.isEmpty()) throw new NoSuchMethodException(name);
        Object[] argLayouts = (Object[]) Array.newInstance(layoutType, args.length);
        for (int i = 0; i < args.length; i++) argLayouts[i] = valueLayout.getField(args[i]).get(null);
        Object desc = descType.getMethod("of", layoutType, argLayouts.getClass()).invoke(null, valueLayout.getField(returns).get(null), argLayouts);
        return (MethodHandle) linkerType.getMethod("downcallHandle", Class.forName("java.lang.foreign.MemorySegment"), descType, Array.newInstance(optionType, 0).getClass())
                .invoke(linker, symbol.get(), desc, Array.newInstance(optionType, 0));
    }
}
