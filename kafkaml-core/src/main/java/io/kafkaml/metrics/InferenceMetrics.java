package io.kafkaml.metrics;

import io.kafkaml.inference.InferenceStats;
import io.kafkaml.inference.LocalInference;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The meters of one inference deployment in this process, read from its {@link InferenceStats} at each scrape, so
 * they are the same numbers as {@link LocalInference#stats()} (nothing is counted twice or on the serving path).
 *
 * <table>
 * <caption>Meters (tags {@code deployment}, {@code instance}, {@code result} on each)</caption>
 * <tr><th>name</th><th>type</th><th>value</th></tr>
 * <tr><td>{@code kafkaml.inference.records.in}</td><td>function counter</td><td>{@link InferenceStats#recordsIn()}:
 *     inputs consumed and handled</td></tr>
 * <tr><td>{@code kafkaml.inference.records.out}</td><td>function counter</td><td>{@link InferenceStats#recordsOut()}:
 *     predictions written</td></tr>
 * <tr><td>{@code kafkaml.inference.records.dead.lettered}</td><td>function counter</td>
 *     <td>{@link InferenceStats#deadLettered()}</td></tr>
 * <tr><td>{@code kafkaml.inference.records.dropped}</td><td>function counter</td>
 *     <td>{@link InferenceStats#dropped()}</td></tr>
 * <tr><td>{@code kafkaml.inference.batches}</td><td>function counter</td><td>{@link InferenceStats#batches()}</td></tr>
 * <tr><td>{@code kafkaml.inference.batch.latency}</td><td>function timer</td><td>count {@link InferenceStats#batches()},
 *     total {@link InferenceStats#batchTimeTotalNanos()}: poll returned to offsets committed</td></tr>
 * <tr><td>{@code kafkaml.inference.batch.latency.percentile}</td><td>gauge, seconds, tag {@code percentile}
 *     (50, 95, 99, 99.9, 100)</td><td>{@link InferenceStats#batchLatencyMillis(double)} of every batch since the
 *     deployment started (HdrHistogram, 3 significant digits); NaN before the first batch</td></tr>
 * <tr><td>{@code kafkaml.inference.replicas}</td><td>gauge</td><td>replicas running in this process</td></tr>
 * <tr><td>{@code kafkaml.inference.restarts}</td><td>function counter</td><td>replica restarts</td></tr>
 * <tr><td>{@code kafkaml.inference.consumer.lag}</td><td>gauge, records</td><td>the consumer group's lag: for each
 *     input partition the group has committed on, the last stable offset minus the committed offset, summed (the
 *     lag {@code kafka-consumer-groups.sh --describe} shows, for the whole group, all processes together); NaN when
 *     the admin call fails. Read at most once per {@code lagRefresh}</td></tr>
 * </table>
 *
 * <p>Example: <pre>{@code
 * PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
 * LocalInference inference = LocalInference.start(registry, clientConfig, "iris-serving", spec);
 * InferenceMetrics metrics = InferenceMetrics.of(inference, spec.resultId(), clientConfig);
 * metrics.bindTo(prometheus);
 * ...
 * metrics.close(); // removes the meters and closes the admin client of the lag gauge
 * }</pre>
 *
 * <p>Thread-safe. Lifecycle: bind it once or more, then {@link #close()} it when the deployment is closed; the
 * meters are removed from every registry it was bound to.
 */
public final class InferenceMetrics implements MeterBinder, AutoCloseable {

    /** The percentiles of {@code kafkaml.inference.batch.latency.percentile} (its {@code percentile} tag). */
    public static final List<Double> PERCENTILES = List.of(50.0, 95.0, 99.0, 99.9, 100.0);

    private final InferenceStats stats;
    private final LocalInference inference;
    private final Tags tags;
    private final ConsumerGroupLag lag;
    private final List<Bound> bound = new ArrayList<>();

    private record Bound(MeterRegistry registry, Meter meter) {}

    private InferenceMetrics(InferenceStats stats, LocalInference inference, Tags tags, ConsumerGroupLag lag) {
        this.stats = Objects.requireNonNull(stats, "stats");
        this.inference = inference;
        this.tags = tags;
        this.lag = lag;
    }

    /**
     * The meters of {@code inference}, with its consumer group's lag read through an admin client made from
     * {@code clientConfig} (the settings the deployment was started with; {@code admin.}-prefixed ones apply).
     *
     * @param resultId the result it serves (the {@code result} tag)
     * @param lagRefresh the least time between two lag reads (a scrape in between sees the last value)
     */
    public static InferenceMetrics of(
            LocalInference inference, String resultId, Map<String, ?> clientConfig, Duration lagRefresh) {
        return of(inference, resultId, clientConfig, lagRefresh, io.kafkaml.config.KafkaClientSupplier.DEFAULT);
    }

    /**
     * As {@link #of(LocalInference, String, Map, Duration)}, with the lag's admin client from {@code clients} (the
     * supplier the deployment was started with, e.g. {@code MockAdminClient}-backed in a unit test).
     */
    public static InferenceMetrics of(
            LocalInference inference,
            String resultId,
            Map<String, ?> clientConfig,
            Duration lagRefresh,
            io.kafkaml.config.KafkaClientSupplier clients) {
        Tags tags = Tags.of(
                Tag.of("deployment", inference.id()),
                Tag.of("instance", inference.instanceId()),
                Tag.of("result", Objects.requireNonNull(resultId, "resultId")));
        return new InferenceMetrics(
                inference.stats(),
                inference,
                tags,
                new ConsumerGroupLag(clientConfig, inference.groupId(), lagRefresh, clients));
    }

    /** As {@link #of(LocalInference, String, Map, Duration)}, reading the lag at most every 5 seconds. */
    public static InferenceMetrics of(LocalInference inference, String resultId, Map<String, ?> clientConfig) {
        return of(inference, resultId, clientConfig, Duration.ofSeconds(5));
    }

    /**
     * The counters and batch time of {@code stats} only (no replicas, restarts or lag gauges), with {@code tags}: for
     * stats kept outside a {@link LocalInference}.
     */
    public static InferenceMetrics of(InferenceStats stats, Iterable<Tag> tags) {
        return new InferenceMetrics(stats, null, Tags.of(tags), null);
    }

    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        counter(registry, "kafkaml.inference.records.in", "Inputs consumed and handled", InferenceStats::recordsIn);
        counter(registry, "kafkaml.inference.records.out", "Predictions written", InferenceStats::recordsOut);
        counter(
                registry,
                "kafkaml.inference.records.dead.lettered",
                "Inputs that failed for a reason of their own and were written to the dead-letter topic",
                InferenceStats::deadLettered);
        counter(
                registry,
                "kafkaml.inference.records.dropped",
                "Inputs that failed for a reason of their own and were dropped (no dead-letter topic)",
                InferenceStats::dropped);
        counter(registry, "kafkaml.inference.batches", "Batches committed", InferenceStats::batches);
        add(
                registry,
                FunctionTimer.builder(
                                "kafkaml.inference.batch.latency",
                                stats,
                                InferenceStats::batches,
                                InferenceStats::batchTimeTotalNanos,
                                TimeUnit.NANOSECONDS)
                        .description("Processing time of a batch: poll returned to offsets committed")
                        .tags(tags)
                        .register(registry));
        for (double percentile : PERCENTILES) {
            add(
                    registry,
                    Gauge.builder(
                                    "kafkaml.inference.batch.latency.percentile",
                                    stats,
                                    s -> s.batchLatencyMillis(percentile) / 1e3)
                            .description("A percentile of the processing time of every batch since the start")
                            .baseUnit("seconds")
                            .tags(tags)
                            .tag(
                                    "percentile",
                                    java.math.BigDecimal.valueOf(percentile)
                                            .stripTrailingZeros()
                                            .toPlainString())
                            .strongReference(true)
                            .register(registry));
        }
        if (inference != null) {
            LocalInference served = inference;
            add(
                    registry,
                    Gauge.builder(
                                    "kafkaml.inference.replicas",
                                    served,
                                    i -> i.replicas().size())
                            .description("Replicas running in this process")
                            .tags(tags)
                            .strongReference(true)
                            .register(registry));
            add(
                    registry,
                    FunctionCounter.builder("kafkaml.inference.restarts", served, LocalInference::restarts)
                            .description("Replica restarts")
                            .tags(tags)
                            .register(registry));
        }
        if (lag != null) {
            add(
                    registry,
                    Gauge.builder("kafkaml.inference.consumer.lag", lag, ConsumerGroupLag::records)
                            .description("Records of the input topic the consumer group has not committed yet")
                            .baseUnit("records")
                            .tags(tags)
                            .strongReference(true)
                            .register(registry));
        }
    }

    private void counter(MeterRegistry registry, String name, String description, ToDoubleFunction<InferenceStats> f) {
        add(
                registry,
                FunctionCounter.builder(name, stats, f)
                        .description(description)
                        .tags(tags)
                        .register(registry));
    }

    private void add(MeterRegistry registry, Meter meter) {
        bound.add(new Bound(registry, meter));
    }

    /** Removes its meters from every registry it was bound to and closes the lag's admin client. Idempotent. */
    @Override
    public synchronized void close() {
        for (Bound b : bound) {
            b.registry().remove(b.meter());
        }
        bound.clear();
        if (lag != null) {
            lag.close();
        }
    }
}
