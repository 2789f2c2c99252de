package io.kafkaml.cli;

import java.io.PrintWriter;

/**
 * The shutdown hook of the long-running commands that serve until a signal ({@code broker}, {@code server},
 * {@code control-logger}): on SIGTERM/SIGINT it runs the command's clean-up and then ends the JVM with status 0, as
 * README promises, instead of the JVM's 128 + signal number (143 after SIGTERM) that a process ended by a signal
 * otherwise reports. A clean-up that throws ends it with status 1 and one line on the command's output.
 *
 * <p>The hook halts the JVM ({@link Runtime#halt(int)}), so it must only be installed by commands whose normal end
 * is the signal: a command that ends on its own removes the hook first ({@link Runtime#removeShutdownHook(Thread)}).
 * Other shutdown hooks still run concurrently with this one; Log4j's own hook is disabled in {@code log4j2.xml}.
 */
final class SignalExit {

    private SignalExit() {}

    /**
     * Registers the hook.
     *
     * @param name the hook thread's name
     * @param out where a failed clean-up is reported (flushed before halting)
     * @param cleanUp closes what the command runs; called once, on the hook's thread
     * @return the registered hook, for {@link Runtime#removeShutdownHook(Thread)}
     */
    static Thread install(String name, PrintWriter out, Runnable cleanUp) {
        Thread hook = new Thread(
                () -> {
                    int status = 0;
                    try {
                        cleanUp.run();
                    } catch (RuntimeException e) {
                        out.println(name + ": closing failed: " + e.getMessage());
                        status = 1;
                    }
                    out.flush();
                    System.out.flush();
                    System.err.flush();
                    Runtime.getRuntime().halt(status);
                },
                name);
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }
}
