package io.kafkaml.inference;

import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An inference deployment run by threads of this JVM: N {@link InferenceReplica}s in one consumer group,
 * recorded in the registry (status, replicas, settings) so other processes see what runs.
 *
 * <pre>{@code
 * try (LocalInference inference = LocalInference.start(registry, clientConfig, "hcopd-serving",
 *         InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out").replicas(2).build())) {
 *     inference.scale(4);
 *     inference.stats();   // in, out, dead-lettered, batches, batch latency percentiles
 * }
 * }</pre>
 *
 * <p>Each replica loads its own copy of the model. Thread-safe; {@link #close()} stops the replicas gracefully
 * (each finishes and commits its batch) and is idempotent.
 */
public final class LocalInference implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalInference.class);

    private final Registry registry;
    private final Map<String, ?> clientConfig;
    private final String id;
    private final InferenceSpec spec;
    private final String groupId;
    private final InferenceStats stats = new InferenceStats();
    private final List<InferenceReplica> replicas = new ArrayList<>();
    private final AtomicInteger replicaNumbers = new AtomicInteger();
    private boolean closed;

    private LocalInference(Registry registry, Map<String, ?> clientConfig, String id, InferenceSpec spec) {
        this.registry = registry;
        this.clientConfig = Map.copyOf(clientConfig);
        this.id = id;
        this.spec = spec;
        this.groupId = spec.groupId() != null ? spec.groupId() : "kafkaml-inference-" + id;
    }

    /**
     * Loads the model (failing early if it cannot be served), records the deployment and starts its replicas.
     *
     * @param id the inference deployment's id
     * @throws io.kafkaml.registry.RegistryException if the result, its model or its artifacts are missing or damaged
     */
    public static LocalInference start(Registry registry, Map<String, ?> clientConfig, String id, InferenceSpec spec) {
        ServedModel.load(registry, spec); // fail now, in the caller's thread, if the model cannot be served
        LocalInference inference = new LocalInference(Objects.requireNonNull(registry, "registry"), clientConfig,
                id, spec);
        Instant now = Instant.now();
        registry.putInference(new Inference(id, spec.resultId(), spec.inputTopic(), spec.outputTopic(), spec.replicas(),
                "RUNNING", null, spec.toMap(), now, now));
        inference.scale(spec.replicas());
        return inference;
    }

    /** The deployment's id. */
    public String id() {
        return id;
    }

    /** The consumer group of its replicas. */
    public String groupId() {
        return groupId;
    }

    /** The counters of all its replicas. */
    public InferenceStats stats() {
        return stats;
    }

    /** The replicas running now. */
    public synchronized List<InferenceReplica> replicas() {
        return List.copyOf(replicas);
    }

    /** Starts or gracefully stops replicas until {@code count} run. */
    public synchronized void scale(int count) {
        if (closed) {
            throw new IllegalStateException("Inference deployment " + id + " is stopped");
        }
        if (count < 0) {
            throw new IllegalArgumentException("replicas must be >= 0, was " + count);
        }
        while (replicas.size() < count) {
            String name = id + "-" + replicaNumbers.incrementAndGet();
            InferenceReplica replica = new InferenceReplica(name, spec, groupId, ServedModel.load(registry, spec),
                    clientConfig, stats);
            Thread thread = new Thread(replica, "kafkaml-inference | " + name);
            thread.setDaemon(true);
            thread.start();
            replicas.add(replica);
        }
        while (replicas.size() > count) {
            InferenceReplica replica = replicas.remove(replicas.size() - 1);
            replica.stop();
            replica.awaitStopped(Duration.ofSeconds(30));
        }
        registry.inference(id).ifPresent(record -> registry.putInference(record.with("RUNNING", count, null)));
        log.info("[{}] {} replica(s) of result {} on {} -> {}", id, count, spec.resultId(), spec.inputTopic(),
                spec.outputTopic());
    }

    /** Stops the replicas gracefully and records the deployment as stopped. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        replicas.forEach(InferenceReplica::stop);
        replicas.forEach(replica -> replica.awaitStopped(Duration.ofSeconds(30)));
        replicas.clear();
        closed = true;
        registry.inference(id).ifPresent(record -> registry.putInference(record.with("STOPPED", 0, null)));
        log.info("[{}] stopped: {}", id, stats);
    }
}
