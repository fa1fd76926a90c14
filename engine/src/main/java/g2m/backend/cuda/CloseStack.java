package g2m.backend.cuda;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * What one owner has opened, as the actions that close it, closed in reverse order of opening:
 * each owner of the CUDA backend pushes the release of a handle right after the call that made
 * it succeeded, so a failure halfway through opening closes exactly what was opened
 * ({@link #closeAfterFailure}), and closing the owner closes everything it still holds. Every
 * action runs even if an earlier one fails; the first failure is thrown, the later ones ride
 * along as suppressed exceptions. Not thread-safe (its owner's calls are serialized).
 */
final class CloseStack implements AutoCloseable {
    /** Releases one thing; runtime exceptions only (CUDA statuses become CudaException). */
    @FunctionalInterface
    interface Action {
        void close();
    }

    private final Deque<Action> actions = new ArrayDeque<>();

    /** Registers the release of something just opened (it is closed before everything pushed earlier). */
    void push(Action close) {
        actions.push(close);
    }

    /** Actions still to run. */
    int size() {
        return actions.size();
    }

    /** Runs every action, last pushed first, and forgets them; a second call does nothing. */
    @Override
    public void close() {
        RuntimeException first = null;
        while (!actions.isEmpty()) {
            try {
                actions.pop().close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else if (e != first) first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    /** After {@code failure} while opening: closes what was opened; a failure to close rides along with it. */
    void closeAfterFailure(Throwable failure) {
        try {
            close();
        } catch (RuntimeException e) {
            if (e != failure) failure.addSuppressed(e);
        }
    }
}
