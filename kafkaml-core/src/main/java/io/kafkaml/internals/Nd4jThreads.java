package io.kafkaml.internals;

import io.kafkaml.config.KafkaMlConfig;
import java.util.Map;
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
 * <p>Thread-safe; the first call decides.
 */
public final class Nd4jThreads {

    private static final Logger log = LoggerFactory.getLogger(Nd4jThreads.class);
    private static final AtomicBoolean CONFIGURED = new AtomicBoolean();

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
     * Sets ND4J's threads from the settings, the first time it is called in this process (later calls do nothing).
     * Loads ND4J's native backend if it is not loaded yet.
     */
    public static void configure(Map<String, ?> settings) {
        int threads = threads(
                settings, System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());
        if (!CONFIGURED.compareAndSet(false, true)) {
            return;
        }
        if (threads == 0) {
            log.debug(
                    "ND4J threads left to ND4J (OMP_NUM_THREADS is set, or {} < 0)", KafkaMlConfig.ND4J_THREADS_CONFIG);
            return;
        }
        try {
            Nd4j.getEnvironment().setMaxThreads(threads);
            Nd4j.getEnvironment().setMaxMasterThreads(threads);
            Nd4j.factory().blas().setMaxThreads(threads);
            log.info(
                    "ND4J uses {} thread(s) ({}; OMP_NUM_THREADS is not set)",
                    threads,
                    new KafkaMlConfig(settings).getInt(KafkaMlConfig.ND4J_THREADS_CONFIG) > 0
                            ? KafkaMlConfig.ND4J_THREADS_CONFIG
                            : "the available processors");
        } catch (RuntimeException | LinkageError e) {
            log.warn("Could not set ND4J's threads to {}: {}", threads, e.toString());
        }
    }
}
