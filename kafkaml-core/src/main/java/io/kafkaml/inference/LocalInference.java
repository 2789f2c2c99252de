package io.kafkaml.inference;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.inference.internals.InferenceCounters;
import io.kafkaml.inference.internals.InferenceReplica;
import io.kafkaml.internals.Deadline;
import io.kafkaml.registry.Inference;
import io.kafkaml.registry.Registry;
import io.kafkaml.runtime.RestartPolicy;
import io.kafkaml.runtime.Supervisor;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An inference deployment run by threads of this JVM: N {@linkplain Replica replicas} in one consumer group, each
 * kept alive by a {@link Supervisor}, recorded in the registry (status, replicas, restarts, the last failure) so
 * other processes see what runs.
 *
 * <pre>{@code
 * try (LocalInference inference = LocalInference.start(registry, clientConfig, "hcopd-serving",
 *         InferenceSpec.builder("7.hcopd-paper", "hcopd-in", "hcopd-out").replicas(2).build())) {
 *     inference.scale(4);
 *     inference.stats();   // in, out, dead-lettered, batches, batch latency percentiles
 * }
 * }</pre>
 *
 * <h2>Faults</h2>
 * A replica that fails is logged with its cause and replaced after a backoff, within the {@link RestartPolicy}
 * given by the {@code kafkaml.restart.*} settings; each restart is recorded ({@link Inference#restarts()}, the
 * cause in {@link Inference#error()}). When a replica's budget is spent, or it fails in a way a restart cannot cure
 * (an input the {@link InferenceExceptionHandler} FAILed), the whole deployment is {@link State#FAILED}: the other
 * replicas stop, the registry says FAILED with the reason, {@link #awaitTermination} returns and the CLI exits
 * non-zero. A replica whose producer is fenced is restarted like any other (see {@link Replica}).
 *
 * <h2>Several processes, one owner</h2>
 * Processes started with the same id and result share the load (one consumer group). Each names its replicas
 * {@code <id>-<instance id>-<n>} ({@link InferenceConfig#INSTANCE_ID_CONFIG}). The registry record has one owner
 * ({@link Inference#owner()}: this process's instance id and a random suffix) per {@link Inference#generation()}: the
 * process whose claim of that generation came first in the registry's append-only claims topic (see
 * {@link Inference}, <em>One owner</em>). Only the owner writes the generation's state (status, replica count,
 * restarts, heartbeat); a process that joins a RUNNING record never writes it. Starting an id that is alive with
 * another result or other topics is refused with a one-line reason. A record written by a launcher that supervises
 * the replicas itself ({@link Inference#supervisedBy()}, e.g. Kubernetes) is always joined, never taken over and
 * never ended by this class: its launcher owns it.
 *
 * <h2>Ending: close hands over, stop stops all</h2>
 * {@link #close()} ends this process only. An owner that closes while other processes serve the deployment (its
 * consumer group still has members once its own replicas left) records its generation {@value Inference#RELEASED}
 * instead of STOPPED; each joiner sees that at its next heartbeat and claims the next generation, the first claim
 * wins and the others serve on under it: a rolling restart or a drained node never stops the deployment. An owner
 * alone records STOPPED; the last joiner of a released deployment records STOPPED when nobody claimed it.
 * {@link #stop(Duration)}, {@link Registry#stopInference} and {@code kafkaml inferences stop <id>} stop the deployment
 * for every process: a STOPPED generation is recorded and every process serving it stops at its next heartbeat
 * (state STOPPED, {@code kafkaml infer} exits 0). A joiner also ends when its generation ends FAILED (with the same
 * reason) or is replaced by other work (FAILED).
 *
 * <h2>Liveness, takeover and the write window</h2>
 * A RUNNING record that {@link InferenceLiveness} judges dead (its consumer group has had no member for a whole
 * lease, or, where the group may not be described, the owner's heartbeat did not move for a lease on this process's
 * clock) is taken over: {@link #start} claims {@code generation + 1}; of several processes doing so at once the first
 * claim wins, the others join it (same result and topics) or are refused. A joiner takes over too, without waiting
 * for a new process: when the owner's {@link Inference#heartbeatAt()} has not moved for a whole lease (the record's or
 * this process's, the longer) on this process's {@link System#nanoTime()} and {@link InferenceLiveness#ownerAlive}
 * finds none of the owner's replicas in the group (the coordinator expired them after their session), it claims the
 * next generation; of several joiners the first claim wins and the others serve on under it. The new owner records
 * restarts, FAILED and heartbeats from then on. Without DESCRIBE on the group, or where the replicas' consumer
 * {@code client.id} was set by hand (the owner's members cannot be told apart), a joiner never takes over this way.
 * Every
 * {@value InferenceConfig#HEARTBEAT_INTERVAL_MS_CONFIG} (default 10 s; lease: three intervals) the owner reads the
 * claims to their end ({@link Registry#refreshInference}), checks it still owns the latest generation and refreshes
 * {@link Inference#heartbeatAt()}; a joiner checks that its generation still runs. Each such confirmation opens a
 * <em>write window</em> of the lease less one interval, measured on {@link System#nanoTime()}: replicas produce and
 * commit only inside it; outside it they pause their partitions (staying in the group) and abandon a batch under way
 * (at least once: predicted again; exactly once: aborted). So a process paused past its lease (SIGSTOP, a long GC, a
 * partition) writes nothing when it resumes, before it learns whether it lost the deployment; another process can
 * claim it only after a whole lease without a sign of life, one interval after the window closed. An owner that finds
 * a later generation stops serving: it ends STOPPED when that generation stopped or forgot the deployment, else
 * {@link State#FAILED} without writing anything (rejoining could split the group's inputs between two models or output
 * topics); a supervisor or an operator starts it again, and it then joins the new owner. A process whose heartbeats
 * keep failing (registry brokers unreachable, its ACLs on the registry topics revoked) ends {@link State#FAILED}
 * after three leases without a confirmation, writing nothing: its paused replicas leave the group, so that their
 * partitions go to processes that reach the registry.
 *
 * <p>Each replica loads its own copy of the model. Thread-safe; {@link #close()} stops the replicas gracefully
 * (each finishes and commits its batch, within the shutdown grace) and is idempotent; {@link #close(Duration)}
 * returns within its grace even when no broker can be reached.
 */
public final class LocalInference implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalInference.class);

    /**
     * One replica of a running deployment, as {@link #replicas()} shows it: a consumer in the deployment's group with
     * a producer of its own, polling, predicting each poll as one batch and writing one prediction per input. Each
     * poll's predictions are written, and its offsets committed, at least once, or inside one Kafka transaction with
     * {@link ProcessingGuarantee#EXACTLY_ONCE} (a fenced producer restarts the replica with a new one). Inputs that
     * fail for a reason of their own go to the {@link InferenceExceptionHandler} (dead-letter topic with headers
     * {@code kafkaml.dlq.*}, see {@link KafkaMlConfig}).
     *
     * <p>Thread safety: every method may be called from any thread. Lifecycle: a replica runs once, on its
     * supervisor's thread, from its start until it is stopped or fails; a failed one is replaced by a new replica
     * (a new object) within the restart budget, so hold a replica only as long as you need it.
     */
    public interface Replica {
        /**
         * The replica's name, unique in its group: {@code <inference id>-<instance id>-<n>}; with exactly-once also its
         * transactional id.
         */
        String name();

        /** Asks it to finish its batch, commit and stop; returns at once. */
        void stop();

        /**
         * Stops it without finishing its batch or committing (what a crash does); its inputs are predicted again
         * by the replica that takes its partitions. Its supervisor restarts it. Returns at once.
         */
        void abort();

        /** Waits until its loop has ended and its clients are closed; true if it has. */
        boolean awaitStopped(Duration timeout);

        /** Why it failed, or {@code null} while it runs or after a clean stop. */
        Throwable failure();

        /** Whether it ended because its producer was fenced (exactly once). */
        boolean fenced();
    }

    /** The deployment's states. */
    public enum State {
        /** Its replicas run (some may be restarting). */
        RUNNING,
        /** Stopped on request (terminal). */
        STOPPED,
        /** A replica failed past its restart budget, or in a way a restart cannot cure (terminal). */
        FAILED
    }

    private final Registry registry;
    private final Map<String, ?> clientConfig;
    /** Where the replicas' consumers, producers and admin clients come from. */
    private final KafkaClientSupplier clients;

    private final String id;
    private final InferenceSpec spec;
    private final String groupId;
    private final String instanceId;
    private final RestartPolicy policy;
    private final Duration shutdownGrace;
    /** Owner token written into the record: instance id plus a random suffix, unique per process. */
    private final String ownerToken;
    /** Whether this process owns the record (set once by {@link #claim} before any replica runs). */
    private volatile boolean owner;
    /** The record's generation this process owns or joined. */
    private volatile long generation;
    /** Serialises this process's writes of the record (heartbeat, restarts, replica count, final status). */
    private final Object writeLock = new Object();

    private final InferenceCounters counters = new InferenceCounters();
    private final InferenceStats stats = new InferenceStats(counters);
    private final List<Slot> slots = new ArrayList<>();
    private final AtomicInteger slotNumbers = new AtomicInteger();
    private final AtomicInteger restarts = new AtomicInteger();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final AtomicReference<String> failure = new AtomicReference<>();
    /** The model {@link #start} loaded to check it can be served, handed to the first replica (one load less). */
    private final AtomicReference<ServedModel> preloaded = new AtomicReference<>();

    private volatile State state = State.RUNNING;
    private final Duration heartbeatInterval;
    /** {@link System#nanoTime()} before the last read that confirmed this process's part (see {@link #mayWrite}). */
    private volatile long confirmedAt;
    /** Whether {@link #stop(Duration)} asked to stop the deployment for every process (else close hands it over). */
    private volatile boolean stopRequested;
    /** The supervisor of the record this process joined ({@link Inference#supervisedBy()}), or {@code null}. */
    private volatile String supervisedJoin;
    /** The owner's generation and heartbeat a joiner last saw change, and when ({@link System#nanoTime()}). */
    private volatile long watchedGeneration = -1;

    private volatile Instant watchedBeat;
    private volatile long watchedSince;
    /** Set when another process took the deployment over: this one's replicas never write again. */
    private volatile boolean lost;

    private final java.util.concurrent.ScheduledExecutorService heartbeats;
    /** Brings the replicas to the promoted version ({@link InferenceSpec#followPromoted()}), or {@code null}. */
    private final VersionFollower follower;

    private final List<String> abandoned = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** One replica slot: its supervisor and the replica it runs now. */
    private static final class Slot {
        final String name;
        final AtomicReference<InferenceReplica> current = new AtomicReference<>();
        volatile boolean retiring;
        Supervisor supervisor;

        Slot(String name) {
            this.name = name;
        }
    }

    private LocalInference(
            Registry registry,
            Map<String, ?> clientConfig,
            String id,
            InferenceSpec spec,
            KafkaClientSupplier clients) {
        this.registry = registry;
        this.clients = Objects.requireNonNull(clients, "clients");
        this.clientConfig = Map.copyOf(clientConfig);
        this.id = id;
        this.spec = spec;
        this.groupId = spec.groupId() != null ? spec.groupId() : "kafkaml-inference-" + id;
        this.instanceId = InferenceConfig.instanceId(clientConfig);
        this.policy = RestartPolicy.fromConfig(clientConfig);
        this.shutdownGrace = InferenceConfig.shutdownGrace(clientConfig);
        this.ownerToken =
                instanceId + "/" + java.util.UUID.randomUUID().toString().substring(0, 8);
        InferenceConfig.exceptionHandler(clientConfig); // a bad handler setting fails here, not in every replica
        this.heartbeatInterval = InferenceConfig.heartbeatInterval(clientConfig);
        this.heartbeats = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "kafkaml-inference-heartbeat | " + id);
            thread.setDaemon(true);
            return thread;
        });
        this.follower = spec.followPromoted()
                ? new VersionFollower(
                        registry, spec, KafkaMlConfig.maxRecordValues(clientConfig), id, this::runningReplicas)
                : null;
    }

    /** The lease recorded with each heartbeat: three intervals, as a consumer's session spans three heartbeats. */
    private Duration lease() {
        return heartbeatInterval.multipliedBy(3);
    }

    /**
     * How long after the last confirmation of its part in the deployment this process's replicas may still write:
     * the lease less one heartbeat interval, so that they have stopped before another process may judge this one
     * dead and claim the deployment (a claim needs a whole lease without a sign of life).
     */
    private long writeWindowNanos() {
        return lease().minus(heartbeatInterval).toNanos();
    }

    /**
     * Whether this process's replicas may produce and commit now: its ownership (or, for a joiner, the generation it
     * serves) was confirmed by a read of the registry within {@link #writeWindowNanos()} on {@link System#nanoTime()}.
     * A process paused past that (SIGSTOP, a long GC, a partition) writes nothing when it resumes until a heartbeat
     * has confirmed it again; one that lost the deployment meanwhile never writes again.
     */
    boolean mayWrite() {
        return !lost && System.nanoTime() - confirmedAt < writeWindowNanos();
    }

    /**
     * The heartbeat task: the owner refreshes {@link Inference#heartbeatAt()} if it still owns the record, else stops
     * serving; a joiner follows the record (and claims it when its owner released it). Each confirmation read goes to
     * the broker ({@link Registry#refreshInference}) and renews {@link #mayWrite()}.
     */
    private void heartbeat() {
        if (state != State.RUNNING) {
            return;
        }
        long asked = System.nanoTime();
        try {
            Inference recorded = registry.refreshInference(id).orElse(null);
            if (owner) {
                Inference newer = null;
                boolean lost = false;
                synchronized (writeLock) {
                    if (state != State.RUNNING) {
                        return;
                    }
                    if (!owns(recorded)) {
                        lost = true;
                        newer = recorded;
                    } else if (!registry.putInference(recorded.heartbeat(Instant.now(), lease()))) {
                        lost = true;
                        newer = registry.refreshInference(id).orElse(null);
                    } else {
                        confirmedAt = asked;
                    }
                }
                if (lost) {
                    superseded(newer);
                }
            } else {
                follow(recorded, asked);
            }
        } catch (RuntimeException e) {
            long silentNanos = System.nanoTime() - confirmedAt;
            if (silentNanos > cutOffNanos()) {
                // Paused replicas would keep their partitions in the group while the record says RUNNING: leave, so
                // that processes that reach the registry (or a restart of this one) serve them.
                lost = true;
                fail(
                        "cut off from the registry: this process's part in the deployment was not confirmed for "
                                + TimeUnit.NANOSECONDS.toSeconds(silentNanos) + " s (three leases of "
                                + lease().toMillis() + " ms); last error: " + e.getMessage()
                                + "; it stops serving so that its partitions go to processes that reach the registry "
                                + "(check the registry topics' ACLs and brokers, then start it again)",
                        false);
                return;
            }
            log.warn("[{}] Could not refresh the deployment's heartbeat in the registry: {}", id, e.toString());
        }
    }

    /**
     * How long a process whose heartbeats fail (registry unreachable, its ACLs revoked, its topics under their
     * minimum in-sync replicas) keeps its replicas in the group: three leases without a confirmation. Its replicas
     * stopped writing after one ({@link #mayWrite}); others may claim the deployment after one lease of silence.
     */
    private long cutOffNanos() {
        return lease().multipliedBy(3).toNanos();
    }

    private boolean owns(Inference record) {
        return record != null && record.generation() == generation && ownerToken.equals(record.owner());
    }

    /** The owner found a later generation: stopped or forgotten on request, or taken over (this process lost it). */
    private void superseded(Inference newer) {
        owner = false;
        if (newer == null
                || (newer.generation() > generation && newer.isTerminal() && !"FAILED".equals(newer.status()))) {
            stopOnRequest(newer);
            return;
        }
        lost = true;
        fail(
                "this process (" + ownerToken + ", generation " + generation + ") no longer owns the deployment: "
                        + describeOwner(newer) + "; it stops serving (start it again to join)",
                false);
    }

    private static String describeOwner(Inference record) {
        return record == null
                ? "the record was deleted"
                : "the record is " + record.status() + ", owned by " + record.owner() + " in generation "
                        + record.generation() + " (result " + record.resultId() + " from " + record.inputTopic()
                        + " to " + record.outputTopic() + ")";
    }

    /**
     * A joiner's view of the record: it serves on while its generation (or a later one of the same work) is RUNNING,
     * claims the next generation when the owner RELEASED it or died ({@link #watchOwner}), and stops when the deployment was stopped, forgotten,
     * FAILED or replaced by other work.
     */
    private void follow(Inference record, long asked) {
        if (record == null) {
            stopOnRequest(null);
            return;
        }
        if (record.generation() < generation) {
            return; // an older view than the one this process acted on: wait for the next beat
        }
        if (record.generation() > generation) {
            if (("RUNNING".equals(record.status()) || Inference.RELEASED.equals(record.status()))
                    && sameWork(record, spec)) {
                log.info(
                        "[{}] The deployment is now generation {} of {} with the same result and topics; this process "
                                + "serves it on",
                        id,
                        record.generation(),
                        record.owner());
                generation = record.generation();
            } else if (record.isTerminal() && !"FAILED".equals(record.status())) {
                stopOnRequest(record);
                return;
            } else {
                lost = true;
                fail("the deployment was replaced: " + describeOwner(record), false);
                return;
            }
        }
        switch (record.status()) {
            case "RUNNING" -> {
                confirmedAt = asked;
                watchOwner(record, asked);
            }
            case Inference.RELEASED -> takeOver(record, asked, "Its owner " + record.owner() + " left");
            case "FAILED" ->
                fail("the deployment FAILED in its owner " + record.owner() + ": " + record.error(), false);
            default -> stopOnRequest(record);
        }
    }

    /**
     * A joiner watches the owner of the RUNNING generation it serves: when the owner's {@link Inference#heartbeatAt()}
     * has not moved for a whole lease (the longer of the record's and this process's) on this process's
     * {@link System#nanoTime()}, and {@link InferenceLiveness#ownerAlive} finds none of the owner's replicas in the
     * group (the coordinator expired them after their session), the owner is dead (SIGKILL, a lost node) or paused
     * past its lease: this process claims the next generation ({@link #takeOver}).
     */
    private void watchOwner(Inference record, long asked) {
        if (supervisedJoin != null || record.supervisedBy() != null || record.leaseMs() <= 0) {
            return; // a launcher owns it, or its owner writes no heartbeat to judge by
        }
        if (record.generation() != watchedGeneration || !Objects.equals(record.heartbeatAt(), watchedBeat)) {
            watchedGeneration = record.generation();
            watchedBeat = record.heartbeatAt();
            watchedSince = asked;
            return;
        }
        long lease =
                Math.max(lease().toNanos(), Duration.ofMillis(record.leaseMs()).toNanos());
        if (asked - watchedSince < lease || InferenceLiveness.ownerAlive(registry, record, Duration.ZERO)) {
            return;
        }
        String why = "Its owner " + record.owner() + " shows no sign of life (heartbeat unchanged for "
                + Duration.ofNanos(asked - watchedSince).toMillis() + " ms, none of its replicas in group " + groupId
                + "); it was probably killed or is paused past its lease";
        log.warn("[{}] {}; this process claims generation {}", id, why, record.generation() + 1);
        takeOver(record, asked, why);
    }

    /**
     * A joiner claims the next generation of a deployment its owner released (the handover) or left dead; of several
     * joiners the first claim wins, the others serve on under it.
     */
    private void takeOver(Inference released, long asked, String why) {
        int count;
        synchronized (this) {
            count = slots.size();
        }
        Inference mine = released.with("RUNNING", count, null)
                .ownedBy(ownerToken, released.generation() + 1, null)
                .heartbeat(Instant.now(), lease());
        synchronized (writeLock) {
            if (state != State.RUNNING) {
                return;
            }
            if (registry.putInference(mine)) {
                generation = mine.generation();
                owner = true;
                confirmedAt = asked;
                log.info("[{}] {}; this process owns the deployment now (generation {})", id, why, mine.generation());
                return;
            }
        }
        registry.refreshInference(id).ifPresentOrElse(record -> follow(record, asked), () -> stopOnRequest(null));
    }

    /** The deployment was stopped (or forgotten) for every process: this one stops too, writing nothing. */
    private void stopOnRequest(Inference record) {
        owner = false;
        Thread stopper = new Thread(
                () -> {
                    log.info(
                            "[{}] The deployment was {}; this process stops too",
                            id,
                            record == null
                                    ? "removed from the registry"
                                    : record.status() + " by " + record.owner() + " (generation " + record.generation()
                                            + ")");
                    close();
                },
                "kafkaml-inference-stop | " + id);
        stopper.setDaemon(true);
        stopper.start();
    }

    private static boolean sameWork(Inference record, InferenceSpec spec) {
        return record.resultId().equals(spec.resultId())
                && Objects.equals(record.inputTopic(), spec.inputTopic())
                && Objects.equals(record.outputTopic(), spec.outputTopic())
                // replicas of one deployment serving different versions would answer by partition
                && modelChoice(record.settings()).equals(modelChoice(spec.toMap()));
    }

    /** Which model of the result a deployment serves, as its settings say: a version, the promoted one, or none. */
    private static String modelChoice(Map<String, ?> settings) {
        Object version = settings == null ? null : settings.get("version");
        if (version != null) {
            return "version " + version;
        }
        Object follow = settings == null ? null : settings.get("followPromoted");
        return Boolean.TRUE.equals(follow) || "true".equals(String.valueOf(follow))
                ? "its promoted version (following promotions)"
                : "its trained model";
    }

    /**
     * Loads the model (failing early if it cannot be served), records the deployment (or joins it) and starts its
     * replicas. May wait up to a lease (three heartbeat intervals, or the record's lease if longer) to judge a
     * RUNNING record that shows no sign of life ({@link InferenceLiveness}).
     *
     * @param id the inference deployment's id
     * @param clientConfig client settings, plus {@link InferenceConfig} and {@link RestartPolicy} settings
     * @throws InferenceException if {@code id} is alive with another result or other topics, or was stopped by the
     *     launcher that supervises it; or if a replica cannot be started (every replica this call started is
     *     stopped and, if this process owns the record, the deployment is recorded FAILED with the reason)
     * @throws io.kafkaml.registry.RegistryException if the result, its model or its artifacts are missing or damaged
     * @throws IllegalArgumentException if a setting is invalid (the message names it)
     */
    public static LocalInference start(Registry registry, Map<String, ?> clientConfig, String id, InferenceSpec spec) {
        return start(registry, clientConfig, id, spec, KafkaClientSupplier.DEFAULT);
    }

    /**
     * As {@link #start(Registry, Map, String, InferenceSpec)}, with the replicas' Kafka clients (each replica's
     * consumer, producer and admin client) from {@code clients}: a test passes a supplier of {@code MockConsumer}s and
     * {@code MockProducer}s. The registry keeps the clients it was built with.
     *
     * @param clients called with the complete configuration of each client, once per replica (and again for a
     *     restarted replica); every client it returns is owned and closed by the replica
     */
    public static LocalInference start(
            Registry registry,
            Map<String, ?> clientConfig,
            String id,
            InferenceSpec spec,
            KafkaClientSupplier clients) {
        Objects.requireNonNull(registry, "registry");
        io.kafkaml.internals.Nd4jThreads.configure(clientConfig);
        // fail now, in the caller's thread, if the model cannot be served; the first replica serves this copy
        ServedModel loaded = ServedModel.load(registry, spec, KafkaMlConfig.maxRecordValues(clientConfig));
        LocalInference inference = new LocalInference(registry, clientConfig, id, spec, clients);
        inference.preloaded.set(loaded);
        inference.claim();
        // beats from now on, so that a reader sees the owner alive while its replicas join the group
        long interval = inference.heartbeatInterval.toMillis();
        inference.heartbeats.scheduleWithFixedDelay(inference::heartbeat, interval, interval, TimeUnit.MILLISECONDS);
        try {
            inference.scale(spec.replicas());
        } catch (RuntimeException e) {
            inference.startFailed(e);
            throw e;
        }
        if (inference.follower != null) {
            inference.follower.start();
        }
        return inference;
    }

    /**
     * Becomes the record's owner (new deployment, restart of an ended one, takeover of a dead or released one) or
     * joins a live one; looks again whenever the record changed while it judged it (it joins only a RUNNING record
     * whose generation it saw alive, or one another process claimed while this call tried: a claimant that won the
     * same generation a moment ago is alive even before its first heartbeat or group join, and judging it by those
     * within one lease made a loaded machine's loser take it over too, two processes believing they owned it).
     */
    private void claim() {
        long firstSeen = -1; // the latest generation at this call's first look
        for (int attempt = 0; attempt < 5; attempt++) {
            long asked = System.nanoTime();
            Optional<Inference> existing = registry.refreshInference(id);
            if (attempt == 0) {
                firstSeen = existing.map(Inference::generation).orElse(0L);
            }
            if (existing.isPresent() && existing.get().supervisedBy() != null) {
                Inference supervised = existing.get();
                if (!"RUNNING".equals(supervised.status())) {
                    throw new InferenceException("Inference deployment '" + id + "' was " + supervised.status()
                            + " by its " + supervised.supervisedBy() + " launcher; it is not started again here");
                }
                join(supervised);
                confirmedAt = asked;
                return;
            }
            if (existing.isPresent()
                    && "RUNNING".equals(existing.get().status())
                    && existing.get().generation() > firstSeen) {
                // claimed by another process while this one tried (it won the race to the same generation, or took
                // over while this one judged): its owner was alive moments ago, and may not have written its first
                // heartbeat or joined its group yet, so it is joined, not judged; if it dies, this process's
                // heartbeats see it (watchOwner) and take over
                join(existing.get());
                confirmedAt = asked;
                return;
            }
            if (existing.isPresent() && "RUNNING".equals(existing.get().status())) {
                Inference running = existing.get();
                Duration patience = lease().compareTo(Duration.ofMillis(running.leaseMs())) >= 0
                        ? lease()
                        : Duration.ofMillis(running.leaseMs());
                if (InferenceLiveness.alive(registry, running, patience)) {
                    Inference now = registry.refreshInference(id).orElse(null);
                    if (now != null && now.generation() == running.generation() && "RUNNING".equals(now.status())) {
                        join(now);
                        confirmedAt = asked;
                        return;
                    }
                    log.info("[{}] The deployment changed while this process judged it; looking again", id);
                    continue;
                }
                log.warn(
                        "[{}] Taking over the inference deployment: it is recorded RUNNING (owner {}, generation {}) "
                                + "but no process serves it (no consumer in group {} for {} ms); its processes were probably "
                                + "killed",
                        id,
                        running.owner(),
                        running.generation(),
                        running.groupId(),
                        patience.toMillis());
            } else if (existing.isPresent()
                    && Inference.RELEASED.equals(existing.get().status())) {
                Inference released = existing.get();
                if (!sameWork(released, spec) && InferenceLiveness.alive(registry, released, lease())) {
                    join(released); // throws: other work is still served
                }
                log.info(
                        "[{}] Its owner {} released the deployment (generation {}); this process claims it",
                        id,
                        released.owner(),
                        released.generation());
            }
            long next = registry.inferenceGeneration(id) + 1;
            Instant now = Instant.now();
            Inference mine = new Inference(
                    id,
                    spec.resultId(),
                    spec.inputTopic(),
                    spec.outputTopic(),
                    spec.replicas(),
                    "RUNNING",
                    null,
                    spec.toMap(),
                    now,
                    now,
                    0,
                    now,
                    lease().toMillis(),
                    ownerToken,
                    next,
                    null);
            if (registry.putInference(mine)) {
                owner = true;
                generation = next;
                confirmedAt = asked;
                return;
            }
            log.info("[{}] Another process recorded generation {} first; looking again", id, next);
        }
        throw new InferenceException("Inference deployment '" + id + "' changed owner five times while this process "
                + "tried to start it; try again");
    }

    private void join(Inference running) {
        supervisedJoin = running.supervisedBy();
        if (!sameWork(running, spec)) {
            throw new InferenceException("Inference deployment '" + id + "' is RUNNING result " + running.resultId()
                    + " (" + modelChoice(running.settings()) + ") from " + running.inputTopic() + " to "
                    + running.outputTopic() + "; this start asks for " + spec.resultId() + " ("
                    + modelChoice(spec.toMap()) + ") from " + spec.inputTopic() + " to " + spec.outputTopic()
                    + ": stop it first or choose another id");
        }
        owner = false;
        generation = running.generation();
        log.info(
                "[{}] Joining the RUNNING deployment of {} (generation {}{})",
                id,
                running.owner(),
                running.generation(),
                running.supervisedBy() == null ? "" : ", supervised by " + running.supervisedBy());
    }

    /** A replica could not be started: stop those that were, record FAILED (owner), end. */
    private void startFailed(RuntimeException cause) {
        String reason = "a replica could not be started: " + describe(cause);
        List<Slot> started;
        synchronized (this) {
            state = State.FAILED;
            failure.set(reason);
            started = List.copyOf(slots);
            slots.clear();
        }
        heartbeats.shutdownNow();
        stopSlots(started, Deadline.after(Duration.ZERO));
        record(record -> record.with("FAILED", 0, reason));
        terminated.countDown();
        log.error("[{}] The inference deployment FAILED: {}", id, reason);
    }

    /** Stops slots (their batches abandoned when {@code deadline} has passed), waiting at most until it. */
    private void stopSlots(List<Slot> stopping, Deadline deadline) {
        stopping.forEach(slot -> {
            slot.retiring = true;
            InferenceReplica replica = slot.current.get();
            if (replica != null) {
                replica.stop(deadline.remaining());
            }
            if (slot.supervisor != null) {
                slot.supervisor.stop();
            }
        });
        for (Slot slot : stopping) {
            if (slot.supervisor != null && !slot.supervisor.awaitTermination(deadline.remaining())) {
                InferenceReplica replica = slot.current.get();
                if (replica != null) {
                    replica.abort(); // when its blocked call returns it closes its clients without waiting
                }
                abandoned.add(slot.name);
            }
        }
    }

    /** Stops the heartbeat task and waits (at most until {@code deadline}) for a beat in progress to end. */
    private void stopHeartbeats(Deadline deadline) {
        heartbeats.shutdownNow();
        try {
            heartbeats.awaitTermination(Math.max(0, deadline.remaining().toMillis()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The deployment's id. */
    public String id() {
        return id;
    }

    /** The consumer group of its replicas. */
    public String groupId() {
        return groupId;
    }

    /** This process's instance id, the middle part of its replicas' names and transactional ids. */
    public String instanceId() {
        return instanceId;
    }

    /** Whether this process owns the deployment's registry record (else it joined one another process owns). */
    public boolean isOwner() {
        return owner;
    }

    /** The record's {@link Inference#generation()} this process owns or serves. */
    public long generation() {
        return generation;
    }

    /** The counters of all its replicas. */
    public InferenceStats stats() {
        return stats;
    }

    /** The state. */
    public State state() {
        return state;
    }

    /** Why it FAILED, or {@code null}. */
    public String failure() {
        return failure.get();
    }

    /** Replica restarts so far. */
    public int restarts() {
        return restarts.get();
    }

    /** The replicas running now (a restarting slot has none for the moment). */
    public synchronized List<Replica> replicas() {
        List<Replica> running = new ArrayList<>();
        for (Slot slot : slots) {
            InferenceReplica replica = slot.current.get();
            if (replica != null && !slot.supervisor.state().isTerminal()) {
                running.add(replica);
            }
        }
        return running;
    }

    /**
     * The model version each running replica serves, or was handed to switch to at its next batch, by replica name
     * ({@link InferenceSpec#version()}, {@link InferenceSpec#followPromoted()}); 0 for the result's trained model.
     */
    public Map<String, Integer> modelVersions() {
        Map<String, Integer> versions = new java.util.TreeMap<>();
        runningReplicas().forEach(replica -> versions.put(replica.name(), replica.modelVersion()));
        return versions;
    }

    private synchronized List<InferenceReplica> runningReplicas() {
        List<InferenceReplica> running = new ArrayList<>();
        for (Slot slot : slots) {
            InferenceReplica replica = slot.current.get();
            if (replica != null && !slot.supervisor.state().isTerminal()) {
                running.add(replica);
            }
        }
        return running;
    }

    /** Waits until the deployment is STOPPED or FAILED; true if it is. */
    public boolean awaitTermination(Duration timeout) {
        try {
            return terminated.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Starts or gracefully stops replicas until {@code count} run. */
    public synchronized void scale(int count) {
        if (state != State.RUNNING) {
            throw new IllegalStateException("Inference deployment " + id + " is " + state);
        }
        if (count < 0) {
            throw new IllegalArgumentException("replicas must be >= 0, was " + count);
        }
        while (slots.size() < count) {
            Slot slot = new Slot(id + "-" + instanceId + "-" + slotNumbers.incrementAndGet());
            // the first replica is made here, so that scale() fails in the caller's thread if it cannot be made
            InferenceReplica first = newReplica(slot);
            java.util.concurrent.atomic.AtomicBoolean firstTaken = new java.util.concurrent.atomic.AtomicBoolean();
            slot.supervisor = new Supervisor(
                    "inference " + slot.name,
                    () -> firstTaken.getAndSet(true) ? newReplica(slot) : first,
                    policy,
                    InferenceReplica::isRestartable,
                    new SlotListener(slot));
            slots.add(slot);
            slot.supervisor.start();
        }
        while (slots.size() > count) {
            Slot slot = slots.remove(slots.size() - 1);
            slot.retiring = true;
            stopSlot(slot, Deadline.after(shutdownGrace));
        }
        record(record -> record.with("RUNNING", count, null));
        log.info(
                "[{}] {} replica(s) of result {} on {} -> {} (instance {})",
                id,
                count,
                spec.resultId(),
                spec.inputTopic(),
                spec.outputTopic(),
                instanceId);
    }

    private InferenceReplica newReplica(Slot slot) {
        ServedModel model = preloaded.getAndSet(null);
        InferenceReplica replica = new InferenceReplica(
                slot.name,
                spec,
                groupId,
                model != null ? model : ServedModel.load(registry, spec, KafkaMlConfig.maxRecordValues(clientConfig)),
                clientConfig,
                counters,
                clients);
        replica.writeWindow(this::mayWrite);
        slot.current.set(replica);
        if (follower != null) {
            follower.wake(); // it may have been loaded before the latest promotion
        }
        return replica;
    }

    private static void stopSlot(Slot slot, Deadline deadline) {
        InferenceReplica replica = slot.current.get();
        if (replica != null) {
            replica.stop(deadline.remaining());
        }
        slot.supervisor.stop();
        slot.supervisor.awaitTermination(deadline.remaining());
    }

    private final class SlotListener implements Supervisor.Listener {
        private final Slot slot;

        SlotListener(Slot slot) {
            this.slot = slot;
        }

        @Override
        public void onRestart(String name, int slotRestarts, Throwable cause, Duration backoff) {
            int total = restarts.incrementAndGet();
            String reason = "replica " + slot.name + " failed and is restarted (" + slotRestarts + " of at most "
                    + policy.maxRestarts() + " in " + policy.window() + "): " + describe(cause);
            record(record -> record.restarted(total, reason));
        }

        @Override
        public void onTerminated(String name, Supervisor.State end, Throwable cause) {
            if (end == Supervisor.State.FAILED) {
                String reason = "replica " + slot.name + " failed"
                        + (InferenceReplica.isRestartable(cause)
                                ? " after " + slot.supervisor.restarts()
                                        + " restart(s), the budget of " + policy.maxRestarts() + " in "
                                        + policy.window()
                                        + " is spent"
                                : " and a restart cannot cure it")
                        + ": " + describe(cause);
                fail(reason);
            }
        }
    }

    private static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown";
        }
        String message = cause.getMessage();
        return message == null || message.isBlank()
                ? cause.toString()
                : cause instanceof io.kafkaml.common.KafkaMlException
                        ? message
                        : cause.getClass().getSimpleName() + ": " + message;
    }

    /**
     * Writes a change of the record as its owner: nothing if this process joined it, or if the record is no longer
     * this process's generation (checked here, and by every reader through {@link Inference#allowedUpdate}).
     */
    private boolean record(java.util.function.UnaryOperator<Inference> change) {
        if (!owner) {
            return true;
        }
        try {
            synchronized (writeLock) {
                Inference record = registry.inference(id).orElse(null);
                if (!owns(record)) {
                    log.warn("[{}] Not recording: {}", id, describeOwner(record));
                    return false;
                } else if (!registry.putInference(change.apply(record))) {
                    log.warn(
                            "[{}] The registry refused this process's write: {}",
                            id,
                            describeOwner(registry.inference(id).orElse(null)));
                    return false;
                }
                return true;
            }
        } catch (RuntimeException e) {
            log.warn("[{}] Could not record the deployment's state in the registry: {}", id, e.toString());
            return false;
        }
    }

    /** The deployment FAILED: stop every replica, record the reason (as owner), wake the waiters. */
    private void fail(String reason) {
        fail(reason, true);
    }

    /** The deployment FAILED here; {@code write}: record it (an owner that still owns the record). */
    private void fail(String reason, boolean write) {
        List<Slot> others;
        synchronized (this) {
            if (state != State.RUNNING) {
                return;
            }
            state = State.FAILED;
            failure.set(reason);
            others = List.copyOf(slots);
        }
        log.error("[{}] The inference deployment FAILED: {}", id, reason);
        heartbeats.shutdownNow();
        if (follower != null) {
            follower.close();
        }
        Thread stopper = new Thread(
                () -> {
                    Deadline deadline = Deadline.after(shutdownGrace);
                    stopHeartbeats(deadline); // a beat in progress ends before the final write
                    others.forEach(slot -> {
                        InferenceReplica replica = slot.current.get();
                        if (replica != null) {
                            replica.stop(deadline.remaining());
                        }
                        slot.supervisor.stop();
                    });
                    others.forEach(slot -> slot.supervisor.awaitTermination(deadline.remaining()));
                    if (write) {
                        record(record -> record.with("FAILED", 0, reason));
                    }
                    terminated.countDown();
                },
                "kafkaml-inference-fail | " + id);
        stopper.setDaemon(true);
        stopper.start();
    }

    /** Stops the replicas gracefully within the shutdown grace and records the deployment as stopped. Idempotent. */
    @Override
    public void close() {
        close(shutdownGrace);
    }

    /**
     * Stops the replicas: each finishes and commits its batch, or abandons it when the grace has passed (its
     * inputs are then predicted again: at least once by offsets, exactly once by the transaction's abort). Records
     * STOPPED unless the deployment FAILED, or this process joined a deployment that another recorded. Idempotent.
     *
     * <p>Returns within {@code grace} (plus scheduling noise) even when no broker can be reached, as
     * {@code KafkaStreams.close(Duration)} does: replicas get three quarters of it to finish their batches, the
     * registry write the rest. What did not finish in time is abandoned (a replica still blocked in a client call
     * closes its clients at once when the call returns) and named by {@link #abandoned()}.
     *
     * @return true if every replica finished its batch and the final status was recorded within {@code grace}
     *     (a later call: true once the deployment has terminated)
     */
    public boolean close(Duration grace) {
        List<Slot> stopping;
        synchronized (this) {
            if (state != State.RUNNING) {
                stopping = null;
            } else {
                state = State.STOPPED;
                stopping = List.copyOf(slots);
                slots.clear();
            }
        }
        heartbeats.shutdownNow();
        if (follower != null) {
            follower.close();
        }
        if (stopping == null) {
            return awaitTermination(grace); // already stopped, or FAILED (its stopper thread ends it)
        }
        Deadline deadline = Deadline.after(grace);
        Deadline replicasDeadline = Deadline.after(grace.multipliedBy(3).dividedBy(4));
        stopSlots(stopping, replicasDeadline);
        stopHeartbeats(deadline); // a beat in progress ends before the final write (writeLock orders them too)
        if (!abandoned.isEmpty()) {
            log.warn(
                    "[{}] Replica(s) {} did not stop within {}; their batches are abandoned (predicted again)",
                    id,
                    abandoned,
                    grace);
        }
        boolean recorded = true;
        if (!owner && !stopRequested && supervisedJoin == null && terminated.getCount() > 0) {
            // the last process of a released deployment records it STOPPED: no owner is left to do it
            recorded = within(this::stopIfReleasedAndUnserved, deadline);
        }
        if (owner && terminated.getCount() > 0) {
            String end = stopRequested || !othersServe(deadline) ? "STOPPED" : Inference.RELEASED;
            if (Inference.RELEASED.equals(end)) {
                log.info(
                        "[{}] Other processes serve the deployment: ownership is handed over to them (the first to "
                                + "claim generation {} owns it); stop every process with 'kafkaml inferences stop {}'",
                        id,
                        generation + 1,
                        id);
            }
            recorded = recordWithin(record -> record.with(end, 0, null), deadline);
            if (!recorded) {
                abandoned.add("registry record");
            }
        }
        terminated.countDown();
        log.info("[{}] stopped: {}", id, stats);
        return abandoned.isEmpty() && recorded;
    }

    /**
     * Whether a process other than this one (whose replicas have left the group) serves the deployment: its consumer
     * group has members other than this process's own replicas (by their client ids: one that could not leave the group
     * in time stays a member until its session times out; another process given the same instance id cannot be told
     * from them, so every process needs an instance id of its own). Where the group may not be described, or could
     * not be in time, the owner hands over anyway:
     * a {@value Inference#RELEASED} record is claimed by a joiner if there is one, else by the next process started.
     */
    private boolean othersServe(Deadline deadline) {
        // this process's own replicas are named <id>-<instance id>-<n>-consumer: one closed while its group was
        // rebalancing (a scale-down right after a scale-up) can stay a member until its session times out, and is no
        // other process; a member of another name (another instance, or a client.id set by hand) may be one
        String own = id + "-" + instanceId + "-";
        try {
            return registry.consumerGroupMemberClientIds(
                            groupId,
                            deadline.remainingAtMost(Duration.ofSeconds(5)).dividedBy(2))
                    .map(clientIds -> clientIds.stream()
                            .anyMatch(clientId ->
                                    clientId == null || !(clientId.startsWith(own) && clientId.endsWith("-consumer"))))
                    .orElse(true);
        } catch (RuntimeException e) {
            log.warn("[{}] Could not tell whether other processes serve the deployment: {}", id, e.toString());
            return true;
        }
    }

    /**
     * Stops the deployment for every process that serves it, then this process's replicas as {@link #close(Duration)}
     * does: the owner records STOPPED, a joiner claims a STOPPED generation ({@link Registry#stopInference}); the other
     * processes stop at their next heartbeat. {@link #close()} instead stops only this process and, if it owns the
     * deployment while others serve it, hands ownership over to them.
     *
     * @return as {@link #close(Duration)}
     */
    public boolean stop(Duration grace) {
        stopRequested = true;
        if (!owner && state == State.RUNNING) {
            try {
                registry.stopInference(id, ownerToken);
            } catch (RuntimeException e) {
                log.warn("[{}] Could not record the deployment STOPPED: {}", id, e.toString());
            }
        }
        return close(grace);
    }

    /**
     * What {@link #close(Duration)} abandoned when its grace passed: the names of replicas that had not finished their
     * batch, and {@code "registry record"} if the final status could not be written in time. Empty after a clean stop.
     */
    public List<String> abandoned() {
        return List.copyOf(abandoned);
    }

    /**
     * A leaving joiner: if the record is RELEASED (its owner left) and no process serves it any more, claims the next
     * generation as STOPPED (a claim of exactly that generation: if a process claimed it RUNNING first, it stays so).
     */
    private boolean stopIfReleasedAndUnserved() {
        Inference record = registry.refreshInference(id).orElse(null);
        if (record == null
                || !Inference.RELEASED.equals(record.status())
                || record.generation() < generation
                || othersServe(Deadline.after(Duration.ofSeconds(2)))) {
            return true;
        }
        if (registry.putInference(record.with("STOPPED", 0, null).ownedBy(ownerToken, record.generation() + 1, null))) {
            log.info("[{}] This was the last process of a released deployment; it is recorded STOPPED", id);
        }
        return true;
    }

    /** {@link #record} on a helper thread, waiting for it at most until {@code deadline}; true if it was written. */
    private boolean recordWithin(java.util.function.UnaryOperator<Inference> change, Deadline deadline) {
        return within(() -> record(change), deadline);
    }

    /** {@code write} on a helper thread, waiting for it at most until {@code deadline}; true if it returned true. */
    private boolean within(java.util.function.BooleanSupplier action, Deadline deadline) {
        java.util.concurrent.CompletableFuture<Void> write = new java.util.concurrent.CompletableFuture<>();
        Thread writer = new Thread(
                () -> {
                    try {
                        if (action.getAsBoolean()) {
                            write.complete(null);
                        } else {
                            write.completeExceptionally(
                                    new InferenceException("the registry did not take the final status"));
                        }
                    } catch (RuntimeException e) {
                        write.completeExceptionally(e);
                    }
                },
                "kafkaml-inference-record | " + id);
        writer.setDaemon(true);
        writer.start();
        try {
            write.get(Math.max(1, deadline.remaining().toMillis()), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            log.warn(
                    "[{}] The deployment's final status was not written to the registry within the grace; it stays "
                            + "as last recorded (its heartbeat lapses, so readers see STALE)",
                    id);
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            log.warn(
                    "[{}] Could not record the deployment's state in the registry: {}",
                    id,
                    e.getCause().toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
