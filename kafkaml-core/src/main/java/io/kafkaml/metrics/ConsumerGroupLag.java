package io.kafkaml.metrics;

import io.kafkaml.internals.ClientConfigs;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A consumer group's lag, read with an admin client when asked and kept for {@code refresh}: committed offsets
 * ({@code Admin.listConsumerGroupOffsets}, Describe on the group) against the partitions' last stable offsets
 * ({@code Admin.listOffsets}, read_committed, so the markers of transactions are not counted as lag; Describe on the
 * topic). The admin client is made on the first read. Thread-safe.
 */
final class ConsumerGroupLag implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConsumerGroupLag.class);
    private static final long TIMEOUT_MS = 5_000;

    private final Map<String, ?> clientConfig;
    private final String groupId;
    private final long refreshNanos;
    private Admin admin;
    private boolean closed;
    private double last = Double.NaN;
    private long readAt;
    private boolean read;

    private final io.kafkaml.config.KafkaClientSupplier clients;

    ConsumerGroupLag(Map<String, ?> clientConfig, String groupId, Duration refresh) {
        this(clientConfig, groupId, refresh, io.kafkaml.config.KafkaClientSupplier.DEFAULT);
    }

    ConsumerGroupLag(
            Map<String, ?> clientConfig,
            String groupId,
            Duration refresh,
            io.kafkaml.config.KafkaClientSupplier clients) {
        this.clients = java.util.Objects.requireNonNull(clients, "clients");
        this.clientConfig = new HashMap<>(clientConfig);
        this.groupId = groupId;
        this.refreshNanos = refresh.toNanos();
    }

    /** The lag in records, NaN when it could not be read (the reason is logged at DEBUG). */
    synchronized double records() {
        if (closed) {
            return Double.NaN;
        }
        long now = System.nanoTime();
        if (read && now - readAt < refreshNanos) {
            return last;
        }
        read = true;
        readAt = now;
        try {
            last = readLag();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            log.debug("Cannot read the lag of consumer group {}: {}", groupId, e.toString());
            last = Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            last = Double.NaN;
        }
        return last;
    }

    private double readLag() throws ExecutionException, InterruptedException, TimeoutException {
        if (admin == null) {
            Map<String, Object> defaults = new HashMap<>();
            defaults.put(AdminClientConfig.CLIENT_ID_CONFIG, "kafkaml-metrics-lag-" + groupId);
            admin = clients.admin(ClientConfigs.admin(clientConfig, defaults, Map.of()));
        }
        Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                .partitionsToOffsetAndMetadata()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        committed.forEach((partition, offset) -> {
            if (offset != null) {
                latest.put(partition, OffsetSpec.latest());
            }
        });
        if (latest.isEmpty()) {
            return 0;
        }
        Map<TopicPartition, ListOffsetsResultInfo> ends = admin.listOffsets(
                        latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                .all()
                .get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        long lag = 0;
        for (Map.Entry<TopicPartition, ListOffsetsResultInfo> end : ends.entrySet()) {
            lag += Math.max(
                    0, end.getValue().offset() - committed.get(end.getKey()).offset());
        }
        return lag;
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (admin != null) {
            admin.close(Duration.ofSeconds(5));
            admin = null;
        }
    }
}
