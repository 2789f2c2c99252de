package io.kafkaml.sink;

import io.kafkaml.common.KafkaAccessException;
import io.kafkaml.common.KafkaMlException;
import io.kafkaml.config.KafkaClientSupplier;
import io.kafkaml.control.ControlChannel;
import io.kafkaml.control.ControlMessage;
import io.kafkaml.internals.ClientConfigs;
import io.kafkaml.internals.Topics;
import io.kafkaml.stream.StreamSlice;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The base of kafkaml's data sinks: sends a data stream's records to a topic and, on {@link #close()}, the
 * control message that announces it to a deployment, exactly as Kafka-ML's sinks do (plus
 * {@code deployment_id}), so either side's trainers can use it.
 *
 * <p>Records are sent with an idempotent producer and {@code acks=all}. The slices of the control message
 * are computed from the offsets the broker acknowledged, per partition (first to last acknowledged offset);
 * {@code total_msg} is the number of acknowledged records. If another producer writes to the same partitions
 * meanwhile, the slices span its records too and the count tells them apart: a {@code StreamDataset}
 * iterator then reports the mismatch instead of training on foreign records.
 *
 * <p><b>A new topic</b>: before its first send the sink waits until every partition of the data topic takes
 * writes (its leader serves it), at most the producer's {@code max.block.ms} (default 60 s), once per sink. This
 * keeps its first batches clear of a Kafka broker bug (KAFKA-15591, fixed in Kafka 4.5): an idempotent producer
 * sending to a partition created a moment before could lose its first batch with
 * {@code OUT_OF_ORDER_SEQUENCE_NUMBER}. A topic that does not exist is first asked for through the producer, as a
 * send would (the broker creates it when {@code auto.create.topics.enable} is on). The wait uses an Admin client from
 * the {@link Builder#clientSupplier client supplier} and needs {@code DESCRIBE} on the topic, which {@code WRITE}
 * implies; if the broker refuses it the sink logs a WARN and sends without waiting. It cannot help when another
 * tool creates the topic while the sink is already sending: on brokers before 4.5, create topics before producing.
 *
 * <p><b>Failures</b>: a send that fails is reported by the next {@code send}, {@link #flush()} or
 * {@link #close()} as a {@link DataSinkException}; after a failure no control message is ever sent.
 *
 * <p><b>Threading</b>: sends may come from several threads (the producer is thread-safe); {@code close()} must
 * follow the last send. <b>Lifecycle</b>: {@code close()} is idempotent; the control message it sent is then
 * available from {@link #controlMessage()}.
 */
public abstract class DataSink implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DataSink.class);
    private static final AtomicInteger CLIENT_IDS = new AtomicInteger();

    private final String topic;
    private final String deploymentId;
    private final String controlTopic;
    private final double validationRate;
    private final double testRate;
    private final String description;
    private final Duration closeTimeout;
    private final String inputFormat;
    private final Partitioning partitioning;
    private final boolean online;
    private int partitionCount;
    private long sendCount;
    private final Producer<byte[], byte[]> producer;
    private final Map<String, ?> clientConfig;
    private final KafkaClientSupplier clients;
    private final Map<String, Object> adminConfig;
    private final Duration maxBlock;
    /** Whether the topic was checked to take writes (or cannot be); guarded by {@code this} when false. */
    private volatile boolean topicChecked;

    private final Map<Integer, long[]> acknowledged = new TreeMap<>();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private final Callback callback = this::onCompletion;
    private long acknowledgedCount;
    private volatile boolean closed;
    private volatile ControlMessage controlMessage;

    /** Creates the sink and its producer from the builder's settings. */
    protected DataSink(Builder<?> builder, String inputFormat) {
        this.topic = require(builder.topic, "topic");
        this.deploymentId = require(builder.deploymentId, "deploymentId");
        this.controlTopic = builder.controlTopic;
        this.validationRate = builder.validationRate;
        this.testRate = builder.testRate;
        this.description = builder.description;
        this.closeTimeout = builder.closeTimeout;
        this.inputFormat = inputFormat;
        this.partitioning = builder.partitioning;
        this.online = builder.online;
        if (online && testRate > 0) {
            throw new IllegalArgumentException("An online sink announces no test split (Kafka-ML's online sink sends "
                    + "test_rate 0; an incremental run evaluates each window prequentially): testRate must be 0, was "
                    + testRate);
        }
        if (validationRate < 0
                || testRate < 0
                || validationRate >= 1
                || testRate >= 1
                || validationRate + testRate >= 1) {
            throw new IllegalArgumentException(
                    "validationRate and testRate must each be in [0, 1) and together below 1, " + "were "
                            + validationRate + " and " + testRate);
        }
        Map<String, Object> defaults = new HashMap<>();
        defaults.put(ProducerConfig.CLIENT_ID_CONFIG, "kafkaml-sink-" + CLIENT_IDS.incrementAndGet());
        defaults.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        defaults.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        Map<String, Object> enforced = new HashMap<>();
        enforced.put(ProducerConfig.ACKS_CONFIG, "all");
        enforced.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        this.clientConfig = java.util.Collections.unmodifiableMap(new java.util.HashMap<>(builder.clientConfig));
        Map<String, Object> producerConfig = ClientConfigs.producer(builder.clientConfig, defaults, enforced);
        this.maxBlock = Duration.ofMillis(Long.parseLong(
                String.valueOf(producerConfig.getOrDefault(ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000))));
        this.clients = builder.clients;
        this.adminConfig = ClientConfigs.admin(
                builder.clientConfig,
                Map.of(
                        AdminClientConfig.CLIENT_ID_CONFIG,
                        producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-admin"),
                Map.of());
        this.producer = builder.clients.producer(producerConfig);
        // a MockProducer has no broker to ask
        this.topicChecked = producer instanceof MockProducer;
    }

    private static String require(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("A data sink needs a " + name + "; none was set");
        }
        return value;
    }

    /**
     * Sends one encoded record asynchronously.
     *
     * @throws DataSinkException if an earlier send failed
     * @throws IllegalStateException if the sink is closed
     */
    protected final void sendRecord(byte[] key, byte[] value) {
        if (closed) {
            throw new IllegalStateException("The data sink for deployment '" + deploymentId + "' is closed");
        }
        throwIfFailed();
        Integer partition = null;
        try {
            if (online && controlMessage == null) {
                sendOnlineControlMessage();
            }
            if (!topicChecked) {
                awaitTopicWritable();
            }
            if (partitioning == Partitioning.ROUND_ROBIN) {
                synchronized (this) {
                    if (partitionCount == 0) {
                        partitionCount = producer.partitionsFor(topic).size();
                    }
                    partition = (int) (sendCount++ % partitionCount);
                }
            }
            producer.send(new ProducerRecord<>(topic, partition, key, value), callback);
        } catch (org.apache.kafka.common.KafkaException e) {
            // a metadata or authorization failure before the record reached the producer's buffer: the sink has
            // failed like a failed send (close() then reports this, not an empty stream)
            failure.compareAndSet(null, e);
            throwIfFailed();
        } catch (DataSinkException e) {
            failure.compareAndSet(null, e); // the topic does not take writes: nothing is sent, no control message
            throw e;
        }
    }

    /**
     * An online sink's control message, sent once before its first record as Kafka-ML's {@code OnlineRawSink} does:
     * the bare topic name, {@code "incremental": true}, no {@code total_msg}; the deployment reads the topic as it
     * grows.
     */
    private synchronized void sendOnlineControlMessage() {
        if (controlMessage != null) {
            return;
        }
        ControlMessage message = ControlMessage.builder()
                .field(ControlMessage.TOPIC, topic)
                .field(ControlMessage.UNSUPERVISED_TOPIC, null)
                .inputFormat(inputFormat)
                .description(description)
                .inputConfig(inputConfig())
                .validationRate(validationRate)
                .testRate(0)
                .field(ControlMessage.TOTAL_MSG, null)
                .field(ControlMessage.DATASET_RESTRICTIONS, Map.of())
                .incremental(true)
                .deploymentId(deploymentId)
                .build();
        try {
            producer.send(new ProducerRecord<>(controlTopic, message.keyBytes(), message.toJsonBytes()))
                    .get(closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataSinkException(
                    "Interrupted while sending the online control message for deployment '" + deploymentId + "'", e);
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            DataSinkException failed = new DataSinkException(
                    "The online control message for deployment '" + deploymentId + "' could not be sent to topic '"
                            + controlTopic + "': " + (e.getCause() != null ? e.getCause() : e).getMessage(),
                    e);
            failure.compareAndSet(null, failed);
            throw failed;
        }
        controlMessage = message;
        log.info("[{}] Sent the online control message for topic '{}' to '{}'", deploymentId, topic, controlTopic);
    }

    /**
     * Once per sink, before the first send: the topic is asked for through the producer (created by the broker when
     * it auto-creates topics, exactly as a send would), then its partitions are awaited until they take writes.
     */
    private synchronized void awaitTopicWritable() {
        if (topicChecked) {
            return;
        }
        producer.partitionsFor(topic); // blocks up to max.block.ms, as a send waiting for metadata would
        try (Admin admin = clients.admin(adminConfig)) {
            Topics.awaitWritable(admin, List.of(topic), maxBlock);
        } catch (KafkaMlException e) {
            java.util.Optional<KafkaAccessException> refused = KafkaAccessException.find(e, clientConfig, "DESCRIBE");
            if (refused.isEmpty() && !isUnsupported(e)) {
                throw new DataSinkException(
                        "Topic '" + topic + "' does not take writes for deployment '" + deploymentId + "': "
                                + e.getMessage(),
                        e);
            }
            log.warn(
                    "[{}] Cannot check that topic '{}' takes writes before sending ({}); sending anyway. On a broker "
                            + "before Kafka 4.5 a partition created a moment ago can lose this sink's first batch "
                            + "(KAFKA-15591): grant DESCRIBE on the topic, or create it before sending",
                    deploymentId,
                    topic,
                    refused.map(Exception::getMessage).orElse(e.getMessage()));
        }
        topicChecked = true;
    }

    private static boolean isUnsupported(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.kafka.common.errors.UnsupportedVersionException) {
                return true;
            }
        }
        return false;
    }

    /** How a sink spreads records over the data topic's partitions. */
    public enum Partitioning {
        /** By the record key, the label, with Kafka's default partitioner, as Kafka-ML's sinks do (default). */
        BY_KEY,
        /** Each partition in turn, so that every partition gets an equal share whatever the labels. */
        ROUND_ROBIN
    }

    private void onCompletion(RecordMetadata metadata, Exception exception) {
        if (exception != null) {
            failure.compareAndSet(null, exception);
            return;
        }
        synchronized (acknowledged) {
            long[] range = acknowledged.get(metadata.partition());
            if (range == null) {
                acknowledged.put(metadata.partition(), new long[] {metadata.offset(), metadata.offset()});
            } else {
                range[0] = Math.min(range[0], metadata.offset());
                range[1] = Math.max(range[1], metadata.offset());
            }
            acknowledgedCount++;
        }
    }

    private void throwIfFailed() {
        Exception error = failure.get();
        if (error != null) {
            String reason = KafkaAccessException.find(error, clientConfig, "WRITE")
                    .map(Exception::getMessage)
                    .orElse(error.getMessage());
            throw new DataSinkException(
                    "Sending to topic '" + topic + "' for deployment '" + deploymentId + "' failed: " + reason
                            + "; no control message will be sent",
                    error);
        }
    }

    /**
     * Waits until every record sent so far is acknowledged.
     *
     * @throws DataSinkException if a send failed
     */
    public void flush() {
        producer.flush();
        throwIfFailed();
    }

    /** The records acknowledged so far. */
    public long acknowledgedRecords() {
        synchronized (acknowledged) {
            return acknowledgedCount;
        }
    }

    /** The data topic. */
    public String topic() {
        return topic;
    }

    /** The deployment the stream is for. */
    public String deploymentId() {
        return deploymentId;
    }

    /**
     * The control message this sink sent on {@link #close()} (an {@linkplain Builder#online(boolean) online} sink:
     * before its first record).
     *
     * @throws IllegalStateException before a successful close (an online sink: before its first record)
     */
    public ControlMessage controlMessage() {
        if (controlMessage == null) {
            throw new IllegalStateException("No control message was sent: the sink is open or its close failed");
        }
        return controlMessage;
    }

    /** The format's {@code input_config} for the control message; called once, on close, after the last send. */
    protected abstract Map<String, Object> inputConfig();

    /**
     * Flushes the records, then sends the control message for them and closes the producer. Idempotent.
     *
     * @throws DataSinkException if a record or the control message was not acknowledged; no control message
     *     is sent for data that did not arrive
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (online) { // Kafka-ML's online_close: the records are flushed, no control message follows them
            try {
                flush();
            } finally {
                producer.close(closeTimeout);
            }
            return;
        }
        try {
            flush();
            List<StreamSlice> slices = new ArrayList<>();
            long total;
            synchronized (acknowledged) {
                acknowledged.forEach(
                        (partition, range) -> slices.add(StreamSlice.of(topic, partition, range[0], range[1] + 1)));
                total = acknowledgedCount;
            }
            if (slices.isEmpty()) {
                throw new DataSinkException("No record was sent to topic '" + topic + "' for deployment '"
                        + deploymentId + "'; no control message is sent for an empty stream");
            }
            long span = slices.stream().mapToLong(StreamSlice::size).sum();
            if (span != total) {
                log.warn(
                        "[{}] The slices {} span {} offsets but this sink wrote {} records: another producer wrote to "
                                + "topic '{}' meanwhile (or it is transactional)",
                        deploymentId,
                        slices,
                        span,
                        total,
                        topic);
            }
            ControlMessage message = ControlMessage.builder()
                    .slices(slices)
                    .field(ControlMessage.UNSUPERVISED_TOPIC, null)
                    .inputFormat(inputFormat)
                    .description(description)
                    .field(ControlMessage.DATASET_RESTRICTIONS, Map.of())
                    .inputConfig(inputConfig())
                    .validationRate(validationRate)
                    .testRate(testRate)
                    .totalMessages(total)
                    .incremental(false)
                    .deploymentId(deploymentId)
                    .build();
            producer.send(new ProducerRecord<>(controlTopic, message.keyBytes(), message.toJsonBytes()))
                    .get(closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            controlMessage = message;
            log.info(
                    "[{}] Sent {} records to {} and the control message to '{}'",
                    deploymentId,
                    total,
                    StreamSlice.formatList(slices),
                    controlTopic);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataSinkException(
                    "Interrupted while sending the control message for deployment '" + deploymentId + "'", e);
        } catch (ExecutionException e) {
            String reason = KafkaAccessException.find(e.getCause(), clientConfig, "WRITE")
                    .map(Exception::getMessage)
                    .orElse(e.getCause().getMessage());
            throw new DataSinkException(
                    "The control message for deployment '" + deploymentId + "' could not be sent " + "to topic '"
                            + controlTopic + "': " + reason,
                    e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            throw new DataSinkException(
                    "The control message for deployment '" + deploymentId + "' was not " + "acknowledged within "
                            + closeTimeout.toMillis() + " ms",
                    e);
        } finally {
            producer.close(closeTimeout);
        }
    }

    /**
     * Settings every sink shares; {@code topic} and {@code deploymentId} are required.
     *
     * @param <B> the concrete builder
     */
    public abstract static class Builder<B extends Builder<B>> {
        private final Map<String, ?> clientConfig;
        private String topic;
        private String deploymentId;
        private String controlTopic = ControlChannel.DEFAULT_TOPIC;
        private double validationRate;
        private double testRate;
        private String description = "";
        private Duration closeTimeout = Duration.ofSeconds(60);
        private Partitioning partitioning = Partitioning.BY_KEY;
        private boolean online;
        private KafkaClientSupplier clients = KafkaClientSupplier.DEFAULT;

        /** Starts a builder; {@code clientConfig} holds {@code bootstrap.servers} and any producer settings. */
        protected Builder(Map<String, ?> clientConfig) {
            ClientConfigs.requireBootstrapServers(clientConfig);
            this.clientConfig = Map.copyOf(clientConfig);
        }

        /** This builder, typed. */
        protected abstract B self();

        /** The data topic. Required. */
        public B topic(String topic) {
            this.topic = Objects.requireNonNull(topic, "topic");
            return self();
        }

        /** The deployment the stream is for. Required. */
        public B deploymentId(String deploymentId) {
            this.deploymentId = Objects.requireNonNull(deploymentId, "deploymentId");
            return self();
        }

        /** The control topic; default {@value ControlChannel#DEFAULT_TOPIC}. */
        public B controlTopic(String controlTopic) {
            this.controlTopic = Objects.requireNonNull(controlTopic, "controlTopic");
            return self();
        }

        /** The fraction of the stream to hold out for validation, in [0, 1); default 0. */
        public B validationRate(double rate) {
            this.validationRate = rate;
            return self();
        }

        /** The fraction of the stream to hold out for test, in [0, 1); default 0. */
        public B testRate(double rate) {
            this.testRate = rate;
            return self();
        }

        /** A description of the data. */
        public B description(String description) {
            this.description = Objects.requireNonNull(description, "description");
            return self();
        }

        /**
         * Whether the sink is online, as Kafka-ML's {@code OnlineRawSink}: its control message goes first, before the
         * first record (the bare topic name, {@code "incremental": true}, no {@code total_msg}), the deployment then
         * trains incrementally on the topic as it grows, and {@link DataSink#close()} sends nothing more. Default
         * false: the control message follows the data on close, naming its slices.
         */
        public B online(boolean online) {
            this.online = online;
            return self();
        }

        /** How records are spread over the topic's partitions; default {@link Partitioning#BY_KEY}. */
        public B partitioning(Partitioning partitioning) {
            this.partitioning = Objects.requireNonNull(partitioning, "partitioning");
            return self();
        }

        /**
         * Where the sink's producer and the Admin client that checks the topic before the first send come from;
         * default {@link KafkaClientSupplier#DEFAULT} (a real {@code KafkaProducer} and {@code Admin}). Tests pass a
         * supplier of a {@code MockProducer}; with a {@code MockProducer} the sink asks no Admin client.
         */
        public B clientSupplier(KafkaClientSupplier clients) {
            this.clients = Objects.requireNonNull(clients, "clients");
            return self();
        }

        /** How long {@code close()} waits for the records and the control message; default 60 s. */
        public B closeTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("closeTimeout must be positive, was " + timeout);
            }
            this.closeTimeout = timeout;
            return self();
        }
    }
}
