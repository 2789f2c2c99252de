package io.kafkaml.benchmarks;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Counts the records of an output topic as a downstream consumer sees them ({@code read_committed}: a transactional
 * writer's records count once committed, its commit markers never), from the beginning of every partition, and
 * notes when the first was seen and when the count last grew ({@code System.nanoTime()}). A thread of its own.
 */
final class OutputCounter implements AutoCloseable {

    private final Thread thread;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile long count;
    private volatile long firstCount;
    private volatile long firstNanos;
    private volatile long lastNanos;
    private volatile long firstTimestamp = Long.MAX_VALUE;
    private volatile long lastTimestamp = Long.MIN_VALUE;
    private volatile RuntimeException failure;

    OutputCounter(BenchmarkContext context, String topic) {
        Map<String, Object> config = context.consumerConfig();
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        this.thread = new Thread(
                () -> {
                    try (KafkaConsumer<byte[], byte[]> consumer =
                            new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                        List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                                .map(p -> new TopicPartition(topic, p.partition()))
                                .toList();
                        consumer.assign(partitions);
                        consumer.seekToBeginning(partitions);
                        while (!stopping.get()) {
                            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(50));
                            if (!records.isEmpty()) {
                                long now = System.nanoTime();
                                if (count == 0) {
                                    firstNanos = now;
                                    firstCount = records.count();
                                }
                                long first = firstTimestamp;
                                long last = lastTimestamp;
                                for (ConsumerRecord<byte[], byte[]> record : records) {
                                    first = Math.min(first, record.timestamp());
                                    last = Math.max(last, record.timestamp());
                                }
                                firstTimestamp = first;
                                lastTimestamp = last;
                                count += records.count();
                                lastNanos = now;
                            }
                        }
                    } catch (RuntimeException e) {
                        failure = e;
                    }
                },
                "output-counter-" + topic);
        thread.setDaemon(true);
        thread.start();
    }

    long count() {
        if (failure != null) {
            throw new IllegalStateException("Counting the output failed", failure);
        }
        return count;
    }

    /** When the first records were seen, or 0. */
    long firstNanos() {
        return firstNanos;
    }

    /** How many records the first poll that returned any returned. */
    long firstCount() {
        return firstCount;
    }

    /** When the count last grew. */
    long lastNanos() {
        return lastNanos;
    }

    /**
     * Seconds a writer took to produce {@code records} outputs at the steady rate seen between the earliest and the
     * latest output's timestamp (the producer's {@code CreateTime}, ms): the drain from its first output on, without
     * its start-up. Unlike timing the polls of this counter it holds when the whole backlog is written before the
     * first poll sees any of it (a small backlog), and it counts a transaction's outputs at their send time.
     */
    double drainSeconds(long records) {
        long span = Math.max(1, lastTimestamp - firstTimestamp);
        return span / 1e3 * records / Math.max(1, records - 1);
    }

    @Override
    public void close() throws InterruptedException {
        stopping.set(true);
        thread.join(TimeUnit.SECONDS.toMillis(10));
    }
}
