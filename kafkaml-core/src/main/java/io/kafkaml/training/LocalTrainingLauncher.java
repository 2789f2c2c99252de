package io.kafkaml.training;

import io.kafkaml.control.ControlChannel;
import io.kafkaml.registry.DeploymentStatus;
import io.kafkaml.registry.Registry;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs training deployments on threads of this JVM ({@code kafkaml-trainer-N}): a bounded pool, one thread per
 * deployment, the models of a deployment sharing one read of the stream per epoch. Deployments beyond the pool
 * size wait their turn.
 *
 * <pre>{@code
 * try (LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, clientConfig, 2, listener)) {
 *     TrainingHandle handle = new TrainingDeployments(registry, launcher).deploy("hcopd-all", spec);
 *     handle.await(Duration.ofMinutes(10));
 * }
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} cancels what still runs and waits for the threads to end.
 */
public final class LocalTrainingLauncher implements TrainingLauncher {

    private static final AtomicInteger THREADS = new AtomicInteger();

    private final Registry registry;
    private final Map<String, ?> clientConfig;
    private final TrainingListener listener;
    private final ExecutorService executor;
    private final Map<String, TrainingRunner> running = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param clientConfig settings of the Kafka clients the runners use
     * @param threads how many deployments train at the same time
     * @param listener called as training progresses, or {@code null}
     */
    public LocalTrainingLauncher(Registry registry, Map<String, ?> clientConfig, int threads, TrainingListener listener) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, was " + threads);
        }
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clientConfig = Map.copyOf(clientConfig);
        this.listener = listener;
        this.executor = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                runnable -> {
                    Thread thread = new Thread(runnable, "kafkaml-trainer-" + THREADS.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
    }

    @Override
    public TrainingHandle launch(TrainingJob job) {
        TrainingRunner runner = new TrainingRunner(job, registry, clientConfig, listener);
        running.put(job.deploymentId(), runner);
        Future<?> future = executor.submit(() -> {
            try {
                runner.run();
            } finally {
                running.remove(job.deploymentId());
            }
        });
        return new TrainingHandle() {
            @Override
            public String deploymentId() {
                return job.deploymentId();
            }

            @Override
            public void cancel() {
                runner.cancel();
            }

            @Override
            public Optional<DeploymentStatus> await(Duration timeout) {
                try {
                    future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                    return Optional.ofNullable(runner.finalStatus());
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

    /** The control topic runners wait on unless a job says otherwise. */
    public static String defaultControlTopic() {
        return ControlChannel.DEFAULT_TOPIC;
    }

    @Override
    public void close() {
        running.values().forEach(TrainingRunner::cancel);
        executor.shutdown();
        try {
            executor.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
