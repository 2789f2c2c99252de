package io.kafkaml.cli;

import java.io.PrintWriter;

/**
 * The shutdown hook of the long-running commands that serve until a signal ({@code broker}, {@code server},
 * {@code control-logger}): on SIGTERM/SIGINT it runs the command's clean-up and then ends the JVM with status 0, as
 * README promises, instead of the JVM's 128 + signal number (143 after SIGTERM) that a process ended by a signal
 * otherwise reports. A clean-up that throws ends it with status 1 and one line on the command's output.
 *
 * <p>The hook halts the JVM ({@link Runtime#halt(int)}) unless {@code main} recorded the status it exits with
 * ({@link #mainExiting(int)}): a command that ends on its own keeps its status. A {@code System.exit(n)} called from
 * elsewhere while the command runs cannot be told apart from a signal (the JDK has no supported signal API) and ends
 * with the clean-up's status; nothing in kafkaml calls it.
 * Other shutdown hooks still run concurrently with this one; Log4j's own hook is disabled in {@code log4j2.xml}.
 */
final class SignalExit {

    /** The status {@code main} is exiting with, or -1 while the command runs. */
    private static volatile int mainStatus = -1;

    private SignalExit() {}

    /**
     * Called by {@code main} before {@link System#exit(int)}: the hooks then let the JVM end with {@code status}
     * instead of 0 (the command ended on its own, not by a signal).
     */
    static void mainExiting(int status) {
        mainStatus = status;
    }

    /**
     * Registers the hook.
     *
     * @param name the hook thread's name
     * @param out where a failed clean-up is reported (flushed before halting)
     * @param cleanUp closes what the command runs; called once, on the hook's thread; a throwable it throws makes the
     *     exit status 1
     * @return the registered hook, for {@link Runtime#removeShutdownHook(Thread)}
     */
    static Thread install(String name, PrintWriter out, Runnable cleanUp) {
        Thread hook = new Thread(
                () -> {
                    // read before the clean-up: the clean-up wakes main, which then records its own status (0) and
                    // would make a signal's shutdown end with the JVM's 143 if that were read after it
                    boolean startedByMain = mainStatus >= 0;
                    int status = 0;
                    try {
                        cleanUp.run();
                    } catch (Throwable e) { // an Error in a JVM shutting down too: report it, never exit 143
                        out.println(name + ": closing failed: " + e);
                        status = 1;
                    }
                    out.flush();
                    System.out.flush();
                    System.err.flush();
                    if (startedByMain) {
                        return; // main's System.exit(status) started this shutdown: the JVM ends with its status
                    }
                    Runtime.getRuntime().halt(status);
                },
                name);
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /** Closes each in turn, also after one failed, and then throws the first failure (others suppressed). */
    static void closeAll(AutoCloseable... closeables) {
        RuntimeException first = null;
        for (AutoCloseable closeable : closeables) {
            if (closeable == null) {
                continue;
            }
            try {
                closeable.close();
            } catch (Exception e) {
                RuntimeException failure = e instanceof RuntimeException r
                        ? r
                        : new io.kafkaml.common.KafkaMlException("Closing " + closeable + " failed: " + e, e);
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
