package io.kafkaml;

import io.kafkaml.registry.Deployment;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.EntityNotFoundException;
import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.Registry;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.TrainingHandle;
import io.kafkaml.training.TrainingListener;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
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
 * model, in order per model; the history before that is in the registry ({@link Results#epochs(String)}). Events
 * come from runners in this JVM (the default local launcher); with a launcher that runs them elsewhere (Kubernetes
 * Jobs) there are no epoch events here, but the status, {@link #await} and the end of {@link #progress()} still
 * follow the registry. Listener methods are called on the trainer's thread: keep them short; one that throws is
 * logged and changes nothing. Subscribers are called on kafkaml's progress threads ({@code kafkaml-progress-N}),
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
    private final List<TrainingListener> listeners = new CopyOnWriteArrayList<>();
    private final SubmissionPublisher<TrainingProgress> publisher;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean warnedDrop = new AtomicBoolean();

    Training(TrainingHandle launched, Registry registry, Executor progressExecutor) {
        this.launched = Objects.requireNonNull(launched, "launched");
        this.registry = registry;
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

    // ---- events, from KafkaMl's dispatcher ----

    void onEpoch(String model, EpochMetrics metrics, int totalEpochs) {
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

    void onResult(TrainingResult result) {
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

    void onDeploymentStatus(DeploymentStatus status, String error) {
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
