package io.kafkaml.benchmarks;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A JVM the benchmark starts as a user would start it: {@code java -jar kafkaml-cli/target/kafkaml.jar ...}
 * ({@link #kafkaml}) or {@code java -cp <this benchmark's class path> io.kafkaml.benchmarks.BaselineProcess ...}
 * ({@link #baseline}), its output in a log file, stopped with SIGTERM on {@link #close()} (SIGKILL after 30 s).
 * {@link #startNanos()} is {@code System.nanoTime()} just before the process was started: time to the first output
 * is measured from it.
 */
final class ChildProcess implements AutoCloseable {

    /** Where the kafkaml jar is looked for, below the working directory or one of its parents. */
    static final String CLI_JAR = "kafkaml-cli/target/kafkaml.jar";
    /** The option (and system property {@code kafkaml.cli.jar}) that names the kafkaml jar. */
    static final String JAR_OPTION = "kafkaml-jar";
    /** Extra JVM options for the {@code kafkaml infer} child, split on spaces (JFR, heap, AppCDS...). */
    static final String JVM_OPTIONS_OPTION = "child-jvm-options";

    private final String label;
    private final Process process;
    private final Path log;
    private final long startNanos;

    /**
     * The children still running: a benchmark JVM ended by a signal (SIGTERM from {@code kill} or {@code timeout}, a
     * test fork's timeout) runs no {@code finally} block, so its shutdown hook ends them (SIGTERM, then SIGKILL after
     * 5 s); a {@code kafkaml infer} child would otherwise retry a lost broker for ever.
     */
    private static final java.util.Set<Process> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            RUNNING.forEach(Process::destroy);
                            for (Process process : RUNNING) {
                                try {
                                    if (!process.waitFor(5, TimeUnit.SECONDS)) {
                                        process.destroyForcibly();
                                    }
                                } catch (InterruptedException e) {
                                    process.destroyForcibly();
                                }
                            }
                        },
                        "benchmark-children-reaper"));
    }

    private ChildProcess(String label, Process process, Path log, long startNanos) {
        this.label = label;
        this.process = process;
        this.log = log;
        this.startNanos = startNanos;
        RUNNING.add(process);
        process.onExit().thenRun(() -> RUNNING.remove(process));
    }

    /** {@code java [jvmOptions] -jar kafkaml.jar args...}. */
    static ChildProcess kafkaml(BenchmarkContext context, List<String> jvmOptions, String... args) throws IOException {
        return kafkamlFrom(context, jvmOptions, null, args);
    }

    /** {@code java [jvmOptions] -jar JAR args...}, JAR being {@code jar} or, when {@code null}, {@link #kafkamlJar}. */
    static ChildProcess kafkamlFrom(BenchmarkContext context, List<String> jvmOptions, String jar, String... args)
            throws IOException {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.addAll(jvmOptions);
        command.add("-jar");
        command.add(
                jar != null
                        ? Path.of(jar).toAbsolutePath().toString()
                        : kafkamlJar(context).toString());
        command.addAll(Arrays.asList(args));
        return start("kafkaml " + args[0], command);
    }

    /** {@code java -cp <class path> io.kafkaml.benchmarks.BaselineProcess role args...}. */
    static ChildProcess baseline(String role, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(java());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BaselineProcess.class.getName());
        command.add(role);
        command.addAll(Arrays.asList(args));
        return start(role, command);
    }

    private static ChildProcess start(String label, List<String> command) throws IOException {
        Path log = Files.createTempFile("kafkaml-bench-" + label.replace(' ', '-') + "-", ".log");
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        long start = System.nanoTime();
        Process process = builder.start();
        System.err.printf("started %s (pid %d), its output in %s%n", label, process.pid(), log);
        return new ChildProcess(label, process, log, start);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /**
     * The kafkaml jar: {@code --kafkaml-jar}, else the system property {@code kafkaml.cli.jar}, else
     * {@value #CLI_JAR} below the working directory or one of its parents, else beside this benchmark's jar
     * ({@code samples/benchmarks/target/../../../kafkaml-cli/target/kafkaml.jar}).
     */
    static Path kafkamlJar(BenchmarkContext context) {
        String given = context.options().getOrDefault(JAR_OPTION, System.getProperty("kafkaml.cli.jar"));
        List<Path> candidates = new ArrayList<>();
        if (given != null) {
            candidates.add(Path.of(given));
        } else {
            for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
                candidates.add(dir.resolve(CLI_JAR));
            }
            try {
                Path self = Path.of(ChildProcess.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI());
                for (Path dir = self.getParent(); dir != null; dir = dir.getParent()) {
                    candidates.add(dir.resolve(CLI_JAR));
                }
            } catch (Exception e) {
                // no code source: the working directory's candidates only
            }
        }
        return candidates.stream()
                .filter(Files::isRegularFile)
                .findFirst()
                .map(Path::toAbsolutePath)
                .orElseThrow(() -> new IllegalStateException("The kafkaml jar was not found (looked at "
                        + candidates.stream().limit(4).toList() + "...); build it with "
                        + "'mvn -B -ntp package -pl kafkaml-cli -am -DskipTests' or give --" + JAR_OPTION + " PATH"));
    }

    /** The benchmark's client settings in a properties file, for a child's {@code --config}. */
    static Path settingsFile(Map<String, Object> clientConfig) throws IOException {
        Properties properties = new Properties();
        clientConfig.forEach((key, value) -> properties.setProperty(key, String.valueOf(value)));
        Path file = Files.createTempFile("kafkaml-bench-settings-", ".properties");
        file.toFile().deleteOnExit();
        try (OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, "client settings of a benchmark's child processes");
        }
        return file;
    }

    /** The child's JVM options given with {@code --child-jvm-options}, or none. */
    static List<String> jvmOptions(BenchmarkContext context) {
        String options = context.options().get(JVM_OPTIONS_OPTION);
        return options == null || options.isBlank()
                ? List.of()
                : List.of(options.trim().split("\\s+"));
    }

    long startNanos() {
        return startNanos;
    }

    /** Fails with the end of the child's output if it has exited. */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException(
                    label + " exited with status " + process.exitValue() + " before it was stopped: " + tail());
        }
    }

    /**
     * The child's peak resident set so far ({@code VmHWM} of {@code /proc/PID/status}, Linux), or 0 once it has
     * exited or where there is no such file.
     */
    long peakRssBytes() {
        return procStatusBytes("VmHWM:");
    }

    /** The child's resident set now ({@code VmRSS} of {@code /proc/PID/status}), or 0 as for {@link #peakRssBytes}. */
    long rssBytes() {
        return procStatusBytes("VmRSS:");
    }

    private long procStatusBytes(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // exited, or not Linux
        }
        return 0;
    }

    /**
     * Waits until the child exits by itself; fails with the end of its output when it exits with a status other than
     * 0 or is still running after {@code timeout} (it is then stopped by {@link #close()}).
     */
    void awaitExit(java.time.Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException(label + " did not exit within " + timeout.toSeconds() + " s: " + tail());
        }
        checkNotFailed();
    }

    /** Fails with the end of the child's output if it has exited with a status other than 0. */
    void checkNotFailed() {
        if (!process.isAlive() && process.exitValue() != 0) {
            throw new IllegalStateException(label + " exited with status " + process.exitValue() + ": " + tail());
        }
    }

    /**
     * Waits for a child that ends by itself (a {@code train-memory} baseline) and returns its output's lines.
     *
     * @throws IllegalStateException with the end of its output if it does not exit within {@code timeout} (it is then
     *     killed) or exits with a status other than 0
     */
    List<String> awaitOutput(java.time.Duration timeout) throws InterruptedException, IOException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException(label + " did not exit within " + timeout + ": " + tail());
        }
        checkNotFailed();
        return Files.readAllLines(log);
    }

    /**
     * Waits until the child's output holds {@code text}.
     *
     * @return seconds from the call to the text seen
     * @throws IllegalStateException with the end of its output if the child exits first or {@code timeout} passes
     */
    double awaitLine(String text, java.time.Duration timeout) throws InterruptedException, IOException {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        while (!Files.readString(log).contains(text)) {
            checkAlive();
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        label + " did not print '" + text + "' within " + timeout.toSeconds() + " s: " + tail());
            }
            Thread.sleep(50);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /** SIGKILL ({@link Process#destroyForcibly}) and wait up to 30 s for the child to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(label + " (pid " + process.pid() + ") still runs 30 s after SIGKILL");
        }
    }

    /** The child's exit status, or -1 while it runs. */
    int exitStatus() {
        return process.isAlive() ? -1 : process.exitValue();
    }

    /** The file its output goes to. */
    Path log() {
        return log;
    }

    String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    /** SIGTERM, then SIGKILL if it has not exited within 30 s. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            System.err.printf("%s did not stop within 30 s of SIGTERM; killing it%n", label);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
