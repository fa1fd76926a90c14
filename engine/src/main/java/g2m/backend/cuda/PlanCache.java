package g2m.backend.cuda;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Native objects made once per key and reused (cuDNN convolution plans with their chosen
 * algorithm, tensor descriptors), least recently used first out: an evicted entry is closed.
 * The bound keeps a run over pictures of ever-new sizes from piling up descriptors. Not
 * thread-safe (the backend serializes its calls).
 */
final class PlanCache<K, V extends AutoCloseable> implements AutoCloseable {
    private final int capacity;
    private final LinkedHashMap<K, V> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long created;

    PlanCache(int capacity) {
        if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1");
        this.capacity = capacity;
    }

    /** The entry for key, made by factory on first use (a factory failure caches nothing). */
    V get(K key, Function<K, V> factory) {
        V v = entries.get(key);
        if (v != null) return v;
        v = factory.apply(key);
        if (v == null) throw new IllegalStateException("plan factory returned null for " + key);
        created++;
        entries.put(key, v);
        if (entries.size() > capacity) {
            Iterator<Map.Entry<K, V>> it = entries.entrySet().iterator();
            Map.Entry<K, V> eldest = it.next();
            it.remove();
            closeQuietlyOrThrow(eldest.getValue());
        }
        return v;
    }

    int size() {
        return entries.size();
    }

    /** Entries made so far (for tests of reuse). */
    long created() {
        return created;
    }

    /** Visits the entries, least recently used first, without touching their order. */
    void forEach(java.util.function.BiConsumer<K, V> visitor) {
        entries.forEach(visitor);
    }

    private static void closeQuietlyOrThrow(AutoCloseable c) {
        try {
            c.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("closing a cached plan failed: " + e.getMessage(), e);
        }
    }

    /** Closes every entry (all of them, even if one fails; the first failure is rethrown). */
    @Override
    public void close() {
        RuntimeException first = null;
        for (V v : entries.values()) {
            try {
                closeQuietlyOrThrow(v);
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        entries.clear();
        if (first != null) throw first;
    }
}
