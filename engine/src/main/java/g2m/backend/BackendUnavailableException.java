package g2m.backend;

import java.util.Objects;

/**
 * The requested backend cannot run here (no GPU, no driver, missing native library). It carries
 * the backend and the reason separately, and its one-line message is built from them
 * ("CUDA backend unavailable: no CUDA GPU found"), so that a caller who needs the reason alone
 * (the {@code --device auto} fallback, which names it) takes {@link #reason()} instead of
 * taking the message apart.
 */
public class BackendUnavailableException extends RuntimeException {
    private final String backend;
    private final String reason;

    /** "{@code backend} backend unavailable: {@code reason}"; backend as users write it: "CUDA", "CPU". */
    public BackendUnavailableException(String backend, String reason) {
        this(backend, "", reason, null);
    }

    public BackendUnavailableException(String backend, String reason, Throwable cause) {
        this(backend, "", reason, cause);
    }

    /**
     * One configuration of a backend is unavailable: "{@code backend} backend unavailable
     * {@code configuration}: {@code reason}", e.g. configuration "for --precision bf16".
     */
    public BackendUnavailableException(String backend, String configuration, String reason, Throwable cause) {
        super(backend + " backend unavailable" + (configuration.isEmpty() ? "" : " " + configuration) + ": " + reason, cause);
        this.backend = Objects.requireNonNull(backend, "backend");
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** The backend that cannot run: "CUDA" or "CPU". */
    public String backend() {
        return backend;
    }

    /** Why, in one line, without the "… backend unavailable" lead of the message. */
    public String reason() {
        return reason;
    }
}
