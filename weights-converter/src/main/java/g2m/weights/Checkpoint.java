package g2m.weights;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tensors by name, in file order, with string metadata (safetensors' {@code __metadata__}). */
public record Checkpoint(Map<String, Tensor> tensors, Map<String, String> metadata) {
    public Checkpoint {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }
}
