package io.kafkaml;

import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.MetricsPosition;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingListener;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training deployment started by {@link KafkaMl#train}: its id (give it to the data sink), its status, waiting
 * for its end, cancelling it, and its progress while it trains, as a {@link TrainingListener} and as a
 * {@link Flow.Publisher} of {@link TrainingProgress}.
 *
 * <pre>{@code
 * Training training = ml.train("hcopd-all", spec);
 * training.addListener(new TrainingListener() {
 *     public void onEpoch(String id, String model, EpochMetrics m, int total) { System.out.println(m); }
 * });
 * training.progress().subscribe(subscriber);   // the same epochs as a reactive stream
 * DeploymentStatus status = training.await(Duration.ofMinutes(10)).orElseThrow();
 * }</pre>
 *
 * <h2>Live progress</h2>
 * Listeners and subscribers receive what the runners report from the moment they are added: every epoch of every
 * model, in order per model, each once; the history before that is in the registry ({@link Results#epochs(String)}).
 * Where the events come from depends on where the runners run:
 * <ul>
 * <li>in this JVM (the default local launcher): from the runners themselves, as they happen; listener methods are
 *     called on the trainer's thread;</li>
 * <li>elsewhere (Kubernetes Jobs, worker processes: a launcher that hands the runners' events to no listener here):
 *     from the registry, as it grows. Each time a result of the deployment changes there (a runner writes its
 *     summary at most once a second while it trains, and on every status change), the epochs its metrics topic
 *     gained since the last read are read ({@link Registry#readEpochs}, from the run's
 *     {@link TrainingResult#metricsStart()}), then the results that ended ({@code onResult}) and the deployment's
 *     status when it changed ({@code onDeploymentStatus}); at the end, the last epochs before the final status. So
 *     epochs arrive about a second behind the runner, in bursts. A worker restarted by Kubernetes trains a new run:
 *     its epochs come again from 1. Listener methods are called on kafkaml's progress threads.</li>
 * </ul>
 * A deployment whose runners have reported nothing in this JVM is followed through the registry; once one of them
 * reports here, only its reports count. Keep listener methods short; one that throws is logged and changes
 * nothing. Subscribers are called on kafkaml's progress threads ({@code kafkaml-progress-N}),
 * each with a buffer of {@link Flow#defaultBufferSize()} items: a subscriber that falls further behind than that
 * loses the epochs that do not fit (logged as a warning), so the training never waits for a slow subscriber. The
 * publisher completes ({@code onComplete}) when the deployment reaches a terminal status, whichever it is: read it
 * with {@link #status()}. A subscriber that subscribes after that completes at once.
 *
 * <p>Thread-safe. The handle holds no resources of its own: {@link KafkaMl#close()} ends what it follows.
 */
public final class Training implements TrainingHandle {

    private static final Logger log = LoggerFactory.getLogger(Training.class);

    private final TrainingHandle launched;
    private final Registry registry;
    private final Executor executor;
    private final Runnable whenFollowedToTheEnd;
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();
    private final SubmissionPublisher<TrainingProgress> publisher;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean warnedDrop = new AtomicBoolean();
    /** Whether a runner in this JVM has reported an event: then the registry is not followed for events. */
    private volatile boolean reportedHere;
    /** A refresh from the registry is scheduled and has not started. */
    private final AtomicBoolean refreshPending = new AtomicBoolean();
    /** Serializes the refreshes from the registry. */
    private final Object followLock = new Object();
    /** Guards the fields below: which events were delivered, whoever delivered them. */
    private final Object deliveredLock = new Object();

    private DeploymentStatus lastStatus;
    private final Set<String> resultsDelivered = new HashSet<>();
    /** Per model: the run of its last epoch delivered and that epoch's number. */
    private final Map<String, Map.Entry<String, Integer>> lastEpochs = new HashMap<>();
    /** Followed from the registry only (under followLock): per model, where its run starts and where to read on. */
    private final Map<String, MetricsPosition[]> cursors = new HashMap<>();

    /**
     * @param whenFollowedToTheEnd called once a deployment followed through the registry (no runner of it reported
     *     here) was seen to end, after its last events
     */
    Training(TrainingHandle launched, Registry registry, Executor progressExecutor, Runnable whenFollowedToTheEnd) {
        this.launched = Objects.requireNonNull(launched, "launched");
        this.registry = registry;
        this.executor = Objects.requireNonNull(progressExecutor, "progressExecutor");
        this.whenFollowedToTheEnd = Objects.requireNonNull(whenFollowedToTheEnd, "whenFollowedToTheEnd");
        this.publisher = new SubmissionPublisher<>(progressExecutor, Flow.defaultBufferSize());
    }

    /** The deployment id: the id the data stream's control message must carry. */
    @Override
    public String deploymentId() {
        return launched.deploymentId();
    }

    /** Asks the runners to stop; they end at their next batch and record CANCELLED. Returns at once. */
    @Override
    public void cancel() {
        launched.cancel();
    }

    /**
     * Waits until the deployment ends.
     *
     * @return its final status, or empty if it has not ended within {@code timeout} (or the wait was interrupted)
     */
    @Override
    public Optional<DeploymentStatus> await(Duration timeout) {
        return launched.await(timeout);
    }

    /** The deployment as the registry has it now, with its status derived from its models' results. */
    public Deployment deployment() {
        return registry.deployment(deploymentId())
                .orElseThrow(() -> new EntityNotFoundException("deployment", deploymentId()));
    }

    /** The deployment's status now (WAITING_FOR_DATA, TRAINING, FINISHED, FAILED, CANCELLED). */
    public DeploymentStatus status() {
        return deployment().status();
    }

    /** The results of the deployment's models as they are now (one per model once each has started). */
    public List<TrainingResult> results() {
        return registry.results(deploymentId());
    }

    /** Adds a listener for this deployment's events from now on (see the class documentation). */
    public void addListener(TrainingListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Removes a listener added with {@link #addListener}. */
    public void removeListener(TrainingListener listener) {
        listeners.remove(listener);
    }

    /**
     * Every epoch of every model of this deployment from now on, as a reactive stream that completes when the
     * deployment ends (see the class documentation).
     */
    public Flow.Publisher<TrainingProgress> progress() {
        return publisher;
    }

    /** Whether the deployment has been seen to end. */
    boolean ended() {
        return ended.get();
    }

    // ---- events, from KafkaMl's dispatcher (runners in this JVM) ----

    void onEpoch(String model, EpochMetrics metrics, int totalEpochs) {
        reportedHere = true;
        deliverEpoch(model, null, metrics, totalEpochs);
    }

    void onResult(TrainingResult result) {
        reportedHere = true;
        deliverResult(result);
    }

    void onDeploymentStatus(DeploymentStatus status, String error) {
        reportedHere = true;
        deliverStatus(status, error);
    }

    // ---- events read from the registry (runners elsewhere) ----

    /**
     * Something of this deployment changed in the registry (called on the registry's reader thread, so it only
     * schedules): a refresh reads what it gained on a progress thread; at most one waits at a time.
     */
    void registryChanged() {
        if (ended.get() || !refreshPending.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.execute(this::refresh);
        } catch (RejectedExecutionException closing) {
            refreshPending.set(false); // KafkaMl is closing: it ends this handle itself
        }
    }

    /**
     * Reads the deployment from the registry: if no runner reports here, delivers the epochs, the ended results and
     * the status it gained since the last refresh; ends the handle once the deployment is terminal.
     */
    private void refresh() {
        refreshPending.set(false);
        synchronized (followLock) {
            if (ended.get()) {
                return;
            }
            try {
                Optional<Deployment> deployment = registry.deployment(deploymentId());
                if (deployment.isEmpty()) {
                    return;
                }
                boolean followed = !reportedHere;
                if (followed) {
                    follow(deployment.get());
                }
                if (deployment.get().status().isTerminal()) {
                    end();
                    if (followed) {
                        whenFollowedToTheEnd.run();
                    }
                }
            } catch (
                    RuntimeException
                            e) { // the registry closing under it, a broker out of reach: the next change retries
                log.warn("[{}] Cannot follow the deployment in the registry: {}", deploymentId(), e.toString());
            }
        }
    }

    /** Delivers what the registry gained: each model's new epochs, the results that ended, the status. */
    private void follow(Deployment deployment) {
        int totalEpochs = totalEpochs(deployment);
        for (TrainingResult result : registry.results(deploymentId())) {
            MetricsPosition start = result.metricsStart();
            if (start != null) {
                MetricsPosition[] cursor = cursors.computeIfAbsent(result.model(), m -> new MetricsPosition[2]);
                if (!start.equals(cursor[0])) { // the first read, or a new run (a restarted worker) from its start
                    cursor[0] = start;
                    cursor[1] = start;
                }
                cursor[1] = registry.readEpochs(
                        result.id(), cursor[1], (run, epoch) -> deliverEpoch(result.model(), run, epoch, totalEpochs));
            }
            if (result.status().isTerminal()) {
                deliverResult(result);
            }
        }
        deliverStatus(deployment.status(), deployment.error());
    }

    private static int totalEpochs(Deployment deployment) {
        try {
            return io.kafkaml.training.TrainingSpec.fromMap(deployment.settings())
                    .epochs();
        } catch (RuntimeException e) {
            return 0; // settings this version cannot read: the total is unknown
        }
    }

    // ---- delivery: each event once, whoever reports it ----

    private void deliverEpoch(String model, String run, EpochMetrics metrics, int totalEpochs) {
        synchronized (deliveredLock) {
            Map.Entry<String, Integer> last = lastEpochs.get(model);
            boolean sameRun = last != null && (run == null || Objects.equals(run, last.getKey()));
            if (sameRun && metrics.epoch() <= last.getValue()) {
                return; // already delivered
            }
            String known = run != null ? run : last == null ? null : last.getKey();
            lastEpochs.put(model, Map.entry(known == null ? "" : known, metrics.epoch()));
        }
        for (TrainingListener listener : listeners) {
            try {
                listener.onEpoch(deploymentId(), model, metrics, totalEpochs);
            } catch (RuntimeException e) {
                log.warn(
                        "[{}] A training listener failed on epoch {} of {}: {}",
                        deploymentId(),
                        metrics.epoch(),
                        model,
                        e.toString());
            }
        }
        try {
            publisher.offer(new TrainingProgress(deploymentId(), model, metrics, totalEpochs), (subscriber, item) -> {
                if (warnedDrop.compareAndSet(false, true)) {
                    log.warn(
                            "[{}] A progress subscriber is more than {} epochs behind: epochs that do not fit are "
                                    + "dropped for it (read the history with results().epochs)",
                            deploymentId(),
                            Flow.defaultBufferSize());
                }
                return false;
            });
        } catch (IllegalStateException closed) {
            // the deployment was seen to end meanwhile: the stream is complete
        }
    }

    private void deliverResult(TrainingResult result) {
        synchronized (deliveredLock) {
            if (!resultsDelivered.add(result.id())) {
                return;
            }
        }
        for (TrainingListener listener : listeners) {
            try {
                listener.onResult(result);
            } catch (RuntimeException e) {
                log.warn(
                        "[{}] A training listener failed on the result of {}: {}",
                        deploymentId(),
                        result.model(),
                        e.toString());
            }
        }
    }

    private void deliverStatus(DeploymentStatus status, String error) {
        synchronized (deliveredLock) {
            if (status == lastStatus) {
                return;
            }
            lastStatus = status;
        }
        for (TrainingListener listener : listeners) {
            try {
                listener.onDeploymentStatus(deploymentId(), status, error);
            } catch (RuntimeException e) {
                log.warn("[{}] A training listener failed on status {}: {}", deploymentId(), status, e.toString());
            }
        }
        if (status.isTerminal()) {
            end();
        }
    }

    /** The deployment ended (seen by its runner or in the registry): completes the publisher. Idempotent. */
    void end() {
        if (ended.compareAndSet(false, true)) {
            publisher.close();
        }
    }

    @Override
    public String toString() {
        return "Training[" + deploymentId() + "]";
    }
}
