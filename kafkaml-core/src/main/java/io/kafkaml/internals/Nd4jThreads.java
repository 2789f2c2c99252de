package io.kafkaml.internals;

import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaMlConfig;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets ND4J's threads (libnd4j's OpenMP threads and OpenBLAS's) once per process, from
 * {@value KafkaMlConfig#ND4J_THREADS_CONFIG}, when the user has not set {@code OMP_NUM_THREADS}.
 *
 * <p>Why: without {@code OMP_NUM_THREADS}, ND4J 1.0.0-M2.1 ({@code NativeOpsHolder}) takes the number of physical
 * cores per socket that JavaCPP reads from the host ({@code Loader.totalCores() / Loader.totalChips()}), not the
 * processors this JVM may use: in a container limited to 2 CPUs on a 64-core host that is 32 OpenMP threads
 * spinning for 2 CPUs, against the Kafka clients' network threads. {@code Runtime.availableProcessors()} follows
 * the container's CPU limit (cgroups). {@code OMP_NUM_THREADS}, when set, is read by ND4J itself and left alone.
 *
 * <p>Thread-safe; the first call decides, and concurrent callers wait for it.
 */
public final class Nd4jThreads {

    private static final Logger log = LoggerFactory.getLogger(Nd4jThreads.class);
    private static final AtomicBoolean CONFIGURED = new AtomicBoolean();
    /** Counted down once the first {@link #apply} has set the threads, or failed. */
    private static final CountDownLatch APPLIED = new CountDownLatch(1);
    /** The error that kept ND4J's backend from loading in this process, or null. */
    private static volatile Throwable loadFailure;

    private Nd4jThreads() {}

    /**
     * The number of threads the settings ask for: {@value KafkaMlConfig#ND4J_THREADS_CONFIG} when positive, else this
     * JVM's available processors; 0 when {@code ompNumThreads} (the environment's {@code OMP_NUM_THREADS}) is set,
     * or the setting is negative (then ND4J's own choice stands).
     */
    static int threads(Map<String, ?> settings, String ompNumThreads, int availableProcessors) {
        if (ompNumThreads != null && !ompNumThreads.isBlank()) {
            return 0;
        }
        int configured = new KafkaMlConfig(settings).getInt(KafkaMlConfig.ND4J_THREADS_CONFIG);
        if (configured < 0) {
            return 0;
        }
        return configured > 0 ? configured : Math.max(1, availableProcessors);
    }

    /**
     * Sets ND4J's threads from the settings, the first time it is called in this process (later calls wait until the
     * first one has applied them, then do nothing). Loads ND4J's native backend if it is not loaded yet.
     *
     * @throws KafkaMlException when ND4J's native backend could not be loaded (in this call, an earlier one or the
     *     {@link #preloadInBackground} thread), with the loading error as its cause: the JVM reports such an error in
     *     full only once, every later use of ND4J gets a cause-less "Could not initialize class"
     * @throws org.apache.kafka.common.config.ConfigException when {@value KafkaMlConfig#ND4J_THREADS_CONFIG} is not a
     *     whole number
     */
    public static void configure(Map<String, ?> settings) {
        apply(settings, false);
    }

    private static void apply(Map<String, ?> settings, boolean loadBackend) {
        int threads = threads(
                settings, System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());
        if (!CONFIGURED.compareAndSet(false, true)) {
            awaitApplied();
            throwIfNotLoaded();
            return;
        }
        try {
            if (threads == 0) {
                log.debug(
                        "ND4J threads left to ND4J (OMP_NUM_THREADS is set, or {} < 0)",
                        KafkaMlConfig.ND4J_THREADS_CONFIG);
                if (loadBackend) {
                    Nd4j.getExecutioner();
                }
                return;
            }
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
            log.info(
                    "ND4J uses {} thread(s) ({}; OMP_NUM_THREADS is not set)",
                    threads,
                    new KafkaMlConfig(settings).getInt(KafkaMlConfig.ND4J_THREADS_CONFIG) > 0
                            ? KafkaMlConfig.ND4J_THREADS_CONFIG
                            : "the available processors");
        } catch (LinkageError e) {
            loadFailure = e;
            log.warn("ND4J's native backend could not be loaded", e);
        } catch (RuntimeException e) {
            log.warn("Could not set ND4J's threads to {}: {}", threads, e.toString());
        } finally {
            APPLIED.countDown();
        }
        throwIfNotLoaded();
    }

    /** Waits until the first {@link #apply} has set the threads (or failed): a concurrent first use waits as well. */
    private static void awaitApplied() {
        try {
            APPLIED.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void throwIfNotLoaded() {
        Throwable failure = loadFailure;
        if (failure != null) {
            Throwable root = failure;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            throw new KafkaMlException(
                    "ND4J's native backend could not be loaded (is the nd4j-native binary for this platform on the "
                            + "class path?): " + root,
                    failure);
        }
    }

    /**
     * Starts loading ND4J's native backend in a daemon thread ({@code kafkaml-nd4j-preload}) and {@link #configure}s
     * its threads from {@code settings}, so that a process starting up loads it while its main thread waits on Kafka
     * (the registry's catch-up): a fresh {@code kafkaml infer} JVM spends about a second of its start in the
     * backend's class loading and native initialisation (JavaCPP, libnd4j, OpenBLAS), which does not depend on the
     * model. Nothing else is done (no array is computed): the work is what the first use of ND4J would do anyway,
     * started earlier.
     *
     * <p>Whoever calls {@link #configure} meanwhile waits until the threads are set (so no ND4J operation runs with
     * ND4J's own thread count), and then does nothing. A failure to load the backend is logged at WARN with its cause
     * and kept: the next {@link #configure}, on the caller's thread, throws it as a {@link KafkaMlException} with that
     * cause (a setting that is not a number is not consumed: the caller's {@link #configure} throws it). Call it as
     * early as the settings are known.
     *
     * @param settings the client settings ({@value KafkaMlConfig#ND4J_THREADS_CONFIG})
     * @return the started thread (joining it is never needed; tests and measurements may)
     */
    public static Thread preloadInBackground(Map<String, ?> settings) {
        Map<String, Object> copy = new java.util.HashMap<>(settings);
        Thread thread = new Thread(
                () -> {
                    long start = System.nanoTime();
                    try {
                        apply(copy, true);
                        log.debug(
                                "ND4J's backend loaded in the background in {} ms",
                                (System.nanoTime() - start) / 1_000_000);
                    } catch (RuntimeException e) {
                        // kept (a backend that did not load) or the caller's configure meets it again (a bad setting)
                        log.debug("Preloading ND4J failed: {}", e.toString());
                    }
                },
                "kafkaml-nd4j-preload");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
