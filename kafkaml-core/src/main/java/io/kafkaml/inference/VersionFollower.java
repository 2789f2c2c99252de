package io.kafkaml.inference;

import io.kafkaml.inference.internals.InferenceReplica;
import io.kafkaml.registry.ModelVersion;
import io.kafkaml.registry.Registry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the replicas of an inference deployment that follows its result's promoted version
 * ({@link InferenceSpec#followPromoted()}) on that version: on every promotion (or rollback) the registry announces,
 * it loads the promoted version once per replica, in the background on its own thread, and hands it to the replica,
 * which switches to it between batches ({@link InferenceReplica#offerModel}). A version that cannot be loaded (a
 * damaged artifact) is logged at ERROR and the replicas keep serving what they serve; the next promotion is tried
 * again. Thread-safe; {@link #close()} is idempotent.
 */
final class VersionFollower implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(VersionFollower.class);

    private final Registry registry;
    private final InferenceSpec spec;
    private final long maxRecordValues;
    private final String id;
    private final Supplier<List<InferenceReplica>> replicas;
    private final ExecutorService loader;
    private final AtomicBoolean pending = new AtomicBoolean();
    private volatile boolean started;
    private volatile boolean closed;
    /** What this follower listens to the registry with, removed on {@link #close()}. */
    private final java.util.function.BiConsumer<String, String> promotions;
    /** The version the replicas are brought to (0: none promoted yet). Loader thread only writes it. */
    private volatile int target;

    VersionFollower(
            Registry registry,
            InferenceSpec spec,
            long maxRecordValues,
            String id,
            Supplier<List<InferenceReplica>> replicas) {
        this.registry = registry;
        this.spec = spec;
        this.maxRecordValues = maxRecordValues;
        this.id = id;
        this.replicas = replicas;
        String prefix = spec.resultId() + "#promot";
        this.promotions = (kind, key) -> {
            if (!closed && "versions".equals(kind) && key.startsWith(prefix)) {
                wake();
            }
        };
        this.loader = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "kafkaml-inference-versions | " + id);
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Starts following: listens to the registry's promotions of the result, and brings the replicas up to date. */
    void start() {
        registry.addListener(promotions);
        started = true;
        wake();
    }

    /** Asks the loader to compare each replica's version with the promoted one (after a promotion, a new replica). */
    void wake() {
        if (started && !closed && pending.compareAndSet(false, true)) {
            try {
                loader.execute(this::reconcile);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                pending.set(false); // closed meanwhile
            }
        }
    }

    /** The promoted version the replicas are being brought to, 0 before any was promoted. */
    int target() {
        return target;
    }

    private void reconcile() {
        pending.set(false);
        if (closed) {
            return;
        }
        Optional<ModelVersion> promoted;
        try {
            promoted = registry.promotedVersion(spec.resultId());
        } catch (RuntimeException e) {
            log.error("[{}] Cannot read the promoted version of result {}: {}", id, spec.resultId(), e.getMessage());
            return;
        }
        if (promoted.isEmpty()) {
            return;
        }
        ModelVersion version = promoted.get();
        if (version.version() != target) {
            log.info(
                    "[{}] Version {} of result {} is promoted (was {}): loading it in the background",
                    id,
                    version.version(),
                    spec.resultId(),
                    target == 0 ? "none" : String.valueOf(target));
            target = version.version();
        }
        for (InferenceReplica replica : replicas.get()) {
            if (closed) {
                return;
            }
            if (replica.modelVersion() == version.version()) {
                continue;
            }
            ServedModel model;
            try {
                model = ServedModel.load(registry, spec, maxRecordValues, version);
            } catch (RuntimeException e) {
                log.error(
                        "[{}] Cannot load version {} of result {}, so replica {} keeps serving version {}: {}",
                        id,
                        version.version(),
                        spec.resultId(),
                        replica.name(),
                        replica.modelVersion(),
                        e.getMessage());
                return;
            }
            replica.offerModel(model);
        }
    }

    /**
     * Stops following: removes its registry listener (a registry that serves many deployments in turn keeps none of
     * theirs); a load under way finishes but is not handed over. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        registry.removeListener(promotions);
        loader.shutdownNow();
    }
}
