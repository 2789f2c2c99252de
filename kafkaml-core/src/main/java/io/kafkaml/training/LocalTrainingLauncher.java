package io.kafkaml.training;

import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.control.ControlTopicPosition;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import io.kafkaml.training.internals.ControlTopicListener;
import io.kafkaml.training.internals.TrainingRunner;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs training deployments on threads of this JVM ({@code kafkaml-trainer-N}): a bounded pool of threads that only
 * train, the models of a deployment sharing one read of the stream per epoch. Waiting for data costs no thread:
 * one listener per control topic ({@code kafkaml-control-listener | topic}) reads the control topic for every
 * deployment of this launcher that waits on it and, when a deployment's control message arrives, hands the
 * deployment to the pool. So any number of deployments may wait while others train, and a deployment whose data
 * arrives first trains first; deployments beyond the pool size whose data has arrived wait their turn in order of
 * arrival.
 *
 * <pre>{@code
 * try (LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, clientConfig, 2, listener)) {
 *     TrainingHandle handle = new TrainingDeployments(registry, launcher).deploy("hcopd-all", spec);
 *     handle.await(Duration.ofMinutes(10));
 * }
 * }</pre>
 *
 * <p>A deployment that waits longer than its {@link TrainingSpec#controlTimeout()}, is cancelled while it waits, or
 * whose control message is malformed is recorded FAILED (or CANCELLED) with the reason by the listener, without a
 * pool thread. Which control message a deployment accepts is decided as {@link TrainingDeployments} describes.
 *
 * <p>Thread-safe. {@link #close()} cancels what still waits or runs and waits for the threads to end.
 */
public final class LocalTrainingLauncher implements TrainingLauncher {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LocalTrainingLauncher.class);
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Registry registry;
    private final Map<String, ?> clientConfig;
    private final KafkaClientSupplier clients;
    private final TrainingListener listener;
    private final ExecutorService executor;
    private final Map<String, TrainingRunner> running = new ConcurrentHashMap<>();
    private final Map<String, ControlTopicListener> listeners = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /**
     * @param clientConfig settings of the Kafka clients the runners use
     * @param threads how many deployments train at the same time
     * @param listener called as training progresses, or {@code null}
     */
    public LocalTrainingLauncher(
            Registry registry, Map<String, ?> clientConfig, int threads, TrainingListener listener) {
        this(registry, clientConfig, threads, listener, KafkaClientSupplier.DEFAULT);
    }

    /**
     * A launcher whose runners and control-topic listeners take their consumers from {@code clients}.
     *
     * @param clientConfig settings of the Kafka clients the runners use
     * @param threads how many deployments train at the same time
     * @param listener called as training progresses, or {@code null}
     * @param clients creates the consumers of the control topic and of the data streams
     */
    public LocalTrainingLauncher(
            Registry registry,
            Map<String, ?> clientConfig,
            int threads,
            TrainingListener listener,
            KafkaClientSupplier clients) {
        this.clients = Objects.requireNonNull(clients, "clients");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, was " + threads);
        }
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clientConfig = Map.copyOf(clientConfig);
        this.listener = listener;
        this.executor = new ThreadPoolExecutor(
                threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), runnable -> {
                    Thread thread = new Thread(runnable, "kafkaml-trainer-" + THREADS.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
    }

    @Override
    public TrainingHandle launch(TrainingJob job) {
        if (closed) {
            throw new IllegalStateException("The launcher is closed");
        }
        io.kafkaml.internals.Nd4jThreads.configure(clientConfig);
        String id = job.deploymentId();
        CompletableFuture<DeploymentStatus> done = new CompletableFuture<>();
        AtomicReference<ControlMessage> message = new AtomicReference<>();
        AtomicReference<RuntimeException> noMessage = new AtomicReference<>();
        TrainingRunner runner = new TrainingRunner(job, registry, clientConfig, listener, clients, () -> {
            if (noMessage.get() != null) {
                throw noMessage.get();
            }
            return message.get();
        });
        running.put(id, runner);
        Runnable train = () -> {
            try {
                runner.run();
            } catch (RuntimeException | Error e) {
                log.error("[{}] The training runner failed: {}", id, e.toString(), e);
            } finally {
                running.remove(id);
                done.complete(runner.finalStatus() != null ? runner.finalStatus() : DeploymentStatus.FAILED);
            }
        };
        ControlTopicPosition since = registry.deployment(id)
                .map(TrainingDeployments::controlPosition)
                .orElse(ControlTopicPosition.BEGINNING);
        ControlTopicListener.Waiter waiter = listener(job.controlTopic())
                .await(
                        id,
                        since,
                        job.spec().reuseStream(),
                        job.spec().controlWait().orElse(ChronoUnit.FOREVER.getDuration()),
                        received -> {
                            message.set(received);
                            executor.execute(train);
                        },
                        reason -> {
                            // No thread of the pool for a deployment that will not train: record why, here.
                            noMessage.set(reason);
                            train.run();
                        });
        return new TrainingHandle() {
            @Override
            public String deploymentId() {
                return id;
            }

            @Override
            public void cancel() {
                waiter.cancel();
                runner.cancel();
            }

            @Override
            public Optional<DeploymentStatus> await(Duration timeout) {
                try {
                    return Optional.of(done.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
                } catch (TimeoutException e) {
                    return Optional.empty();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Optional.empty();
                } catch (ExecutionException e) {
                    return Optional.of(DeploymentStatus.FAILED);
                }
            }
        };
    }

    private ControlTopicListener listener(String topic) {
        return listeners.computeIfAbsent(topic, t -> new ControlTopicListener(clientConfig, t, clients));
    }

    /** The control topic runners wait on unless a job says otherwise. */
    public static String defaultControlTopic() {
        return ControlChannel.DEFAULT_TOPIC;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        running.values().forEach(TrainingRunner::cancel);
        listeners.values().forEach(ControlTopicListener::close);
        executor.shutdown();
        try {
            executor.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
