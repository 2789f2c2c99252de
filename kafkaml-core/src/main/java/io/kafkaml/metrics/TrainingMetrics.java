package io.kafkaml.metrics;

import io.kafkaml.registry.EpochMetrics;
import io.kafkaml.registry.TrainingResult;
import io.kafkaml.training.TrainingListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * Training meters, fed as a {@link TrainingListener}: pass it to a {@code LocalTrainingLauncher} or a training runner
 * and bind it to a registry. Meters of a deployment's model appear with its first epoch.
 *
 * <table>
 * <caption>Meters</caption>
 * <tr><th>name</th><th>type, tags</th><th>value</th></tr>
 * <tr><td>{@code kafkaml.training.epochs}</td><td>counter; deployment, model</td><td>epochs finished</td></tr>
 * <tr><td>{@code kafkaml.training.loss}</td><td>gauge; deployment, model</td><td>the last finished epoch's mean
 *     training loss ({@link EpochMetrics#loss()})</td></tr>
 * <tr><td>{@code kafkaml.training.validation}</td><td>gauge; deployment, model, metric</td><td>the last finished
 *     epoch's validation metrics ({@code accuracy}, {@code f1}, {@code mse}...)</td></tr>
 * <tr><td>{@code kafkaml.training.epoch.duration}</td><td>timer; deployment, model</td><td>each epoch's training
 *     time ({@link EpochMetrics#millis()})</td></tr>
 * <tr><td>{@code kafkaml.training.records}</td><td>counter; deployment</td><td>training records read into batches
 *     and fitted (every epoch reads them again; the models of a deployment share each batch)</td></tr>
 * <tr><td>{@code kafkaml.training.results}</td><td>counter; deployment, model, status</td><td>models whose training
 *     ended, by status (FINISHED, FAILED, CANCELLED)</td></tr>
 * </table>
 *
 * <p>Example: <pre>{@code
 * TrainingMetrics metrics = new TrainingMetrics();
 * metrics.bindTo(prometheus);
 * LocalTrainingLauncher launcher = new LocalTrainingLauncher(registry, clientConfig, 2, metrics);
 * }</pre>
 *
 * <p>Thread-safe: its listener methods may be called by several trainer threads at once. Lifecycle: bind it to one
 * or more registries before training starts (an epoch before any binding is not recorded); {@link #forget} removes a
 * deployment's meters.
 */
public final class TrainingMetrics implements MeterBinder, TrainingListener {

    private final List<MeterRegistry> registries = new CopyOnWriteArrayList<>();
    private final Map<List<String>, double[]> losses = new ConcurrentHashMap<>();
    private final Map<List<String>, double[]> validations = new ConcurrentHashMap<>();
    private final Map<MeterRegistry, Map<List<String>, Meter>> registered = new ConcurrentHashMap<>();

    @Override
    public void bindTo(MeterRegistry registry) {
        registries.add(registry);
    }

    @Override
    public void onEpoch(String deploymentId, String model, EpochMetrics metrics, int totalEpochs) {
        Tags tags = Tags.of("deployment", deploymentId, "model", model);
        double[] loss = losses.computeIfAbsent(List.of(deploymentId, model), k -> new double[] {Double.NaN});
        loss[0] = metrics.loss();
        for (MeterRegistry registry : registries) {
            meter(
                            registry,
                            List.of("epochs", deploymentId, model),
                            () -> Counter.builder("kafkaml.training.epochs")
                                    .description("Epochs finished")
                                    .tags(tags)
                                    .register(registry))
                    .increment();
            meter(
                    registry,
                    List.of("loss", deploymentId, model),
                    () -> Gauge.builder("kafkaml.training.loss", loss, l -> l[0])
                            .description("The last finished epoch's mean training loss")
                            .tags(tags)
                            .strongReference(true)
                            .register(registry));
            meter(
                            registry,
                            List.of("duration", deploymentId, model),
                            () -> Timer.builder("kafkaml.training.epoch.duration")
                                    .description("Training time of an epoch")
                                    .tags(tags)
                                    .register(registry))
                    .record(Duration.ofMillis(metrics.millis()));
        }
        metrics.validation().forEach((name, value) -> {
            double[] holder =
                    validations.computeIfAbsent(List.of(deploymentId, model, name), k -> new double[] {Double.NaN});
            holder[0] = value;
            for (MeterRegistry registry : registries) {
                meter(
                        registry,
                        List.of("validation", deploymentId, model, name),
                        () -> Gauge.builder("kafkaml.training.validation", holder, h -> h[0])
                                .description("The last finished epoch's validation metric")
                                .tags(tags.and("metric", name))
                                .strongReference(true)
                                .register(registry));
            }
        });
    }

    @Override
    public void onBatch(String deploymentId, int epoch, int records) {
        for (MeterRegistry registry : registries) {
            meter(
                            registry,
                            List.of("records", deploymentId),
                            () -> Counter.builder("kafkaml.training.records")
                                    .description("Training records read into batches and fitted")
                                    .tag("deployment", deploymentId)
                                    .register(registry))
                    .increment(records);
        }
    }

    /**
     * The meter of {@code key} in {@code registry}, registered on first use only: a gauge registered again logs
     * Micrometer's "already registered" warning, and a lookup per batch costs the training loop.
     */
    @SuppressWarnings("unchecked")
    private <M extends Meter> M meter(MeterRegistry registry, List<String> key, Supplier<M> register) {
        return (M) registered
                .computeIfAbsent(registry, r -> new ConcurrentHashMap<>())
                .computeIfAbsent(key, k -> register.get());
    }

    @Override
    public void onResult(TrainingResult result) {
        for (MeterRegistry registry : registries) {
            Counter.builder("kafkaml.training.results")
                    .description("Models whose training ended, by status")
                    .tags(
                            "deployment",
                            result.deploymentId(),
                            "model",
                            result.model(),
                            "status",
                            String.valueOf(result.status()))
                    .register(registry)
                    .increment();
        }
    }

    /** Removes the meters of {@code deploymentId} from every registry (a finished deployment's series end). */
    public void forget(String deploymentId) {
        registered
                .values()
                .forEach(meters -> meters.keySet().removeIf(k -> k.get(1).equals(deploymentId)));
        losses.keySet().removeIf(k -> k.get(0).equals(deploymentId));
        validations.keySet().removeIf(k -> k.get(0).equals(deploymentId));
        for (MeterRegistry registry : registries) {
            registry.getMeters().stream()
                    .filter(m -> m.getId().getName().startsWith("kafkaml.training.")
                            && deploymentId.equals(m.getId().getTag("deployment")))
                    .forEach(registry::remove);
        }
    }
}
