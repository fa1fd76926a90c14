package g2m.cli;

import g2m.weights.OneLine;

import java.io.PrintWriter;
import java.io.Writer;

/**
 * What the CLI prints for people: one line per message, no control characters. File names,
 * labels, XML text and tensor names can hold ESC, BEL or newlines; printed raw they would
 * recolour or clear the terminal, ring it, or split one error into several lines.
 *
 * <p>Escaping, the same as the converter's and the image loader's messages: every control
 * character as {@code \}{@code uXXXX} ({@link OneLine}); ESC becomes {@code \}{@code u001b}, a
 * newline {@code \}{@code u000a}.
 */
public final class Messages {
    /** The prefix of every error and warning line (.ci/run and users' scripts grep for it). */
    public static final String PREFIX = "g2m-engine: ";
    /** What the user runs, for messages that name a command to type. */
    public static final String COMMAND = "java -jar g2m-engine.jar";

    private Messages() {}

    /** {@code s} as one line without control characters ({@link OneLine#escape}). */
    public static String oneLine(String s) {
        return OneLine.escape(s);
    }

    /** The error line for {@code message}: prefixed, one line. */
    public static String error(String message) {
        return PREFIX + oneLine(message);
    }

    /**
     * A writer for the CLI's stderr on which every {@code println} of a string or object is made
     * one line ({@link #oneLine}) — the commands' messages, wherever they are composed. {@code
     * print}, {@code printf} and {@code write} pass through: they carry the CLI's own layout
     * (usage help, the progress bar's carriage return), never a message built from input.
     */
    public static PrintWriter lineSafe(Writer target) {
        return new PrintWriter(target, true) {
            @Override
            public void println(String x) {
                super.println(oneLine(x));
            }

            @Override
            public void println(Object x) {
                println(String.valueOf(x));
            }

            @Override
            public void println(char[] x) {
                println(new String(x));
            }
        };
    }
}
