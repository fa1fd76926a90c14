package g2m.launch;

/**
 * In the JVM the launcher handed over to: exits when the launcher is gone. A SIGKILL to the
 * launcher runs none of its code, and Java has no parent-death signal, so a daemon thread looks
 * at this process's parent every {@link #POLL_MS} ms; once it is no longer the launcher (an
 * orphan is re-parented to init or a subreaper) the JVM exits, running its shutdown hooks (temp
 * files are deleted as on Ctrl-C). Compiled for Java 21 (ProcessHandle), unlike the launcher;
 * the launcher starts it by name.
 */
public final class ParentWatch {
    static final long POLL_MS = 200;
    /** The exit code when the launcher vanished (as for SIGTERM: 128 + 15). */
    static final int EXIT_LAUNCHER_GONE = 143;

    private ParentWatch() {}

    /** Starts watching for launcher {@code pid} (its decimal process id). */
    public static void start(String pid) {
        long launcher;
        try {
            launcher = Long.parseLong(pid.trim());
        } catch (NumberFormatException e) {
            return; // not set by our launcher: nothing to watch
        }
        Thread t = new Thread(() -> {
            while (launcherAlive(launcher)) {
                try {
                    Thread.sleep(POLL_MS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            System.err.println("g2m-engine: the launcher (process " + launcher + ") is gone; stopping");
            System.exit(EXIT_LAUNCHER_GONE);
        }, "g2m-launcher-watch");
        t.setDaemon(true);
        t.start();
    }

    /** Whether this process's parent is still {@code launcher} (checked by parent, not by pid, which the OS may reuse). */
    static boolean launcherAlive(long launcher) {
        return ProcessHandle.current().parent().map(p -> p.pid() == launcher && p.isAlive()).orElse(false);
    }
}
