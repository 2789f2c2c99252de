package io.kafkaml.inference;

import io.kafkaml.config.KafkaMlConfig;
import io.kafkaml.format.RecordDecodeException;
import io.kafkaml.format.RecordDecoder;
import io.kafkaml.internals.ClientConfigs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inference replica: a consumer in the deployment's group and a producer of its own. Each poll is decoded
 * into one batch, predicted in one forward pass, and written to the output topic one record per input, with
 * the input's key and headers plus {@code kafkaml.result} and {@code kafkaml.model}. Offsets are committed only
 * once the predictions are acknowledged (at least once), or in the same transaction (exactly once). An input
 * that cannot be decoded goes to the dead-letter topic with headers {@code kafkaml.dlq.topic},
 * {@code .partition}, {@code .offset}, {@code .error.class}, {@code .error.message}; the replica carries on.
 *
 * <p>Runs on the thread that calls {@link #run()}; {@link #stop()} and {@link #abort()} may be called from any
 * thread.
 */
public final class InferenceReplica implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(InferenceReplica.class);
    /** Header naming the training result whose model made a prediction. */
    public static final String RESULT_HEADER = KafkaMlConfig.RESULT_HEADER;
    /** Header naming the model that made a prediction. */
    public static final String MODEL_HEADER = KafkaMlConfig.MODEL_HEADER;

    private final String name;
    private final InferenceSpec spec;
    private final ServedModel model;
    private final InferenceStats stats;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> producer;
    private final boolean transactional;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopping;
    private volatile boolean aborting;
    private float[] features = new float[0];

    /**
     * @param name the replica's name, unique in its group ({@code <deployment>-<n>}); with exactly-once it is
     *     also its transactional id, so a restarted replica fences its predecessor
     */
    public InferenceReplica(String name, InferenceSpec spec, String groupId, ServedModel model,
            Map<String, ?> clientConfig, InferenceStats stats) {
        this.name = name;
        this.spec = spec;
        this.model = model;
        this.stats = stats;
        this.transactional = spec.guarantee() == ProcessingGuarantee.EXACTLY_ONCE;
        Map<String, Object> consumerDefaults = new HashMap<>();
        consumerDefaults.put(ConsumerConfig.CLIENT_ID_CONFIG, name + "-consumer");
        consumerDefaults.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerDefaults.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10);
        Map<String, Object> consumerEnforced = new HashMap<>();
        consumerEnforced.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        consumerEnforced.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerEnforced.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, spec.maxBatchSize());
        consumerEnforced.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        if (transactional) {
            consumerEnforced.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        }
        Map<String, Object> producerDefaults = new HashMap<>();
        producerDefaults.put(ProducerConfig.CLIENT_ID_CONFIG, name + "-producer");
        producerDefaults.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        producerDefaults.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        Map<String, Object> producerEnforced = new HashMap<>();
        producerEnforced.put(ProducerConfig.ACKS_CONFIG, "all");
        producerEnforced.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        if (transactional) {
            producerEnforced.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, name);
        }
        this.consumer = new KafkaConsumer<>(ClientConfigs.consumer(clientConfig, consumerDefaults, consumerEnforced),
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        this.producer = new KafkaProducer<>(ClientConfigs.producer(clientConfig, producerDefaults, producerEnforced),
                new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** The replica's name. */
    public String name() {
        return name;
    }

    /** Polls, predicts and writes until stopped. Never throws: a failure is logged and kept ({@link #failure()}). */
    @Override
    public void run() {
        try {
            if (transactional) {
                producer.initTransactions();
            }
            consumer.subscribe(List.of(spec.inputTopic()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    if (!transactional && !aborting) {
                        commitAcknowledgedOnce(); // hand the partitions over with everything processed committed
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    log.debug("[{}] assigned {}", name, partitions);
                }
            });
            while (!stopping && !aborting) {
                commitAcknowledged(false);
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(spec.maxWait());
                } catch (WakeupException e) {
                    continue;
                }
                if (!records.isEmpty()) {
                    process(records);
                }
            }
            if (!aborting) {
                commitAcknowledgedOnce(); // a graceful stop: every prediction written, every offset committed
            }
        } catch (WakeupException e) {
            // stopping
        } catch (RuntimeException | Error e) {
            failure.set(e);
            log.error("[{}] The inference replica stopped: {}", name, e.toString(), e);
        } finally {
            close();
            finished.countDown();
        }
    }

    private void process(ConsumerRecords<byte[], byte[]> records) {
        long begin = System.nanoTime();
        RecordDecoder decoder = model.decoder();
        int width = decoder.featureCount();
        int count = records.count();
        if (features.length < count * width) {
            features = new float[count * width];
        }
        List<ConsumerRecord<byte[], byte[]>> good = new ArrayList<>(count);
        List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
            try {
                decoder.decodeFeatures(record.key(), record.value(), features, good.size() * width);
                good.add(record);
            } catch (RecordDecodeException e) {
                RecordDecodeException located = e.at(record.topic(), record.partition(), record.offset());
                stats.deadLettered.increment();
                if (spec.deadLetterTopic() == null) {
                    log.warn("[{}] Dropping an undecodable input (no dead-letter topic is set): {}", name,
                            located.getMessage());
                } else {
                    deadLetters.add(deadLetter(record, located));
                }
            }
        }
        long decoded = System.nanoTime();
        if (transactional) {
            producer.beginTransaction();
        }
        List<Future<RecordMetadata>> sends = new ArrayList<>(count);
        long predicted = decoded;
        if (!good.isEmpty()) {
            float[] predictions = model.predict(features, good.size());
            predicted = System.nanoTime();
            int outputs = model.outputs();
            for (int i = 0; i < good.size(); i++) {
                ConsumerRecord<byte[], byte[]> input = good.get(i);
                RecordHeaders headers = new RecordHeaders(input.headers().toArray());
                headers.add(RESULT_HEADER, model.resultHeader());
                headers.add(MODEL_HEADER, model.modelHeader());
                sends.add(producer.send(new ProducerRecord<>(spec.outputTopic(), null, input.key(),
                        model.encode(predictions, i * outputs), headers), acknowledged));
            }
        }
        for (ProducerRecord<byte[], byte[]> deadLetter : deadLetters) {
            sends.add(producer.send(deadLetter, acknowledged));
        }
        outstanding.addAndGet(sends.size());
        long sent = System.nanoTime();
        if (aborting) {
            return; // a crash: predictions may be out, offsets are not committed
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition partition : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> partitionRecords = records.records(partition);
            offsets.put(partition, new OffsetAndMetadata(partitionRecords.get(partitionRecords.size() - 1).offset() + 1));
        }
        if (transactional) {
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
        } else {
            // Committed once every prediction sent so far is acknowledged (see commitAcknowledged), while the
            // next batch is already being polled and predicted.
            offsets.forEach((partition, offset) -> pendingOffsets.merge(partition, offset,
                    (a, b) -> a.offset() >= b.offset() ? a : b));
        }
        long committed = System.nanoTime();
        stats.recordsIn.add(count);
        stats.recordsOut.add(good.size());
        stats.batches.increment();
        stats.decodeNanos.add(decoded - begin);
        stats.predictNanos.add(predicted - decoded);
        stats.sendNanos.add(sent - predicted);
        stats.commitNanos.add(committed - sent);
        stats.recordLatency(committed - begin);
    }

    private final Map<TopicPartition, OffsetAndMetadata> pendingOffsets = new HashMap<>();
    private final java.util.concurrent.atomic.AtomicLong outstanding = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicReference<Exception> sendFailure = new AtomicReference<>();
    private final org.apache.kafka.clients.producer.Callback acknowledged = (metadata, exception) -> {
        if (exception != null) {
            sendFailure.compareAndSet(null, exception);
        }
        outstanding.decrementAndGet();
    };
    private long lastCommitNanos = System.nanoTime();

    /** Commits everything acknowledged, even if a {@link #stop()} wakeup is pending on the consumer. */
    private void commitAcknowledgedOnce() {
        try {
            commitAcknowledged(true);
        } catch (WakeupException e) {
            commitAcknowledged(true); // the wakeup meant for poll() hit the commit; it is consumed now
        }
    }

    /**
     * At least once: commits the offsets of the batches whose predictions are all acknowledged. With
     * {@code force} (a stop, a revocation, or a commit older than a second) it first waits for every send.
     *
     * @throws InferenceException if a prediction could not be written: its offsets are never committed
     */
    private void commitAcknowledged(boolean force) {
        if (transactional || pendingOffsets.isEmpty()) {
            return;
        }
        if (force || System.nanoTime() - lastCommitNanos > 1_000_000_000L) {
            producer.flush();
        }
        Exception failed = sendFailure.get();
        if (failed != null) {
            throw new InferenceException("A prediction of replica " + name + " was not written: " + failed.getMessage(),
                    failed);
        }
        if (outstanding.get() > 0) {
            return;
        }
        if (force) {
            consumer.commitSync(pendingOffsets);
        } else {
            consumer.commitAsync(new HashMap<>(pendingOffsets), (offsets, error) -> {
                if (error != null) {
                    log.warn("[{}] An offset commit failed ({}); the inputs after the last committed offset will be "
                            + "predicted again", name, error.toString());
                }
            });
        }
        pendingOffsets.clear();
        lastCommitNanos = System.nanoTime();
    }

    private ProducerRecord<byte[], byte[]> deadLetter(ConsumerRecord<byte[], byte[]> record, RecordDecodeException e) {
        RecordHeaders headers = new RecordHeaders(record.headers().toArray());
        headers.add(KafkaMlConfig.DLQ_TOPIC_HEADER, bytes(record.topic()));
        headers.add(KafkaMlConfig.DLQ_PARTITION_HEADER, bytes(String.valueOf(record.partition())));
        headers.add(KafkaMlConfig.DLQ_OFFSET_HEADER, bytes(String.valueOf(record.offset())));
        headers.add(KafkaMlConfig.DLQ_ERROR_CLASS_HEADER, bytes(e.getClass().getName()));
        headers.add(KafkaMlConfig.DLQ_ERROR_MESSAGE_HEADER, bytes(e.reason()));
        return new ProducerRecord<>(spec.deadLetterTopic(), null, record.key(), record.value(), headers);
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** Finishes the current batch (predictions written, offsets committed) and stops. */
    public void stop() {
        stopping = true;
        consumer.wakeup();
    }

    /**
     * Stops as a crash would: the current batch's predictions may be written but its offsets are not committed
     * (and a transaction is aborted), so its inputs are predicted again by whichever replica takes over.
     */
    public void abort() {
        aborting = true;
    }

    /** Waits until the replica has stopped. */
    public boolean awaitStopped(Duration timeout) {
        try {
            return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** What stopped the replica, or {@code null}. */
    public Throwable failure() {
        return failure.get();
    }

    private void close() {
        try {
            if (aborting && transactional) {
                try {
                    producer.abortTransaction();
                } catch (RuntimeException e) {
                    log.debug("[{}] abort: {}", name, e.toString());
                }
            }
            producer.close(aborting ? Duration.ZERO : Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            log.warn("[{}] Closing the producer failed", name, e);
        }
        try {
            consumer.close(CloseOptions.timeout(Duration.ofSeconds(10)));
        } catch (RuntimeException e) {
            log.warn("[{}] Closing the consumer failed", name, e);
        }
    }
}
