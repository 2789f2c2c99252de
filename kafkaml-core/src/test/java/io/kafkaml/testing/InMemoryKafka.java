package io.kafkaml.testing;

import io.kafkaml.config.KafkaClientSupplier;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsResult;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeConfigsResult;
import org.apache.kafka.clients.admin.DescribeTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TopicListing;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

/**
 * Kafka in one JVM without a broker, for unit tests: a {@link KafkaClientSupplier} whose {@link MockProducer}s append
 * to one in-memory log per partition and whose {@link MockConsumer}s read those logs, so that what one kafkaml
 * component writes another reads, as through a broker; its admin client creates, describes and configures the topics
 * of that log and lists its offsets.
 *
 * <p>What it models: topics with partitions and configurations (created by the admin client, or with one partition
 * when a producer first asks for or writes to an unknown topic, as {@code auto.create.topics.enable} does), offsets
 * from 0 per partition, the default partitioner's choice for keyed records (murmur2 of the key), a consumer's poll
 * that waits up to its timeout for records (or a {@code wakeup()}), and a write refused on a topic
 * ({@link #failWrites}). What it
 * does not: transactions (every write is committed at once), consumer groups, compaction, retention, ACLs. Every
 * method of the admin client it does not model throws {@link UnsupportedOperationException} naming it.
 *
 * <p>Thread-safe: clients of any thread share the log.
 */
public final class InMemoryKafka implements KafkaClientSupplier {

    private static final Node NODE = new Node(0, "in-memory", 9092);

    /** Guards {@link #topics} and their logs; notified on every append and every wakeup. */
    private final Object lock = new Object();

    private final Map<String, Topic> topics = new LinkedHashMap<>();
    private final Map<String, Function<ProducerRecord<byte[], byte[]>, RuntimeException>> refusals = new HashMap<>();
    private final List<Map<String, Object>> consumerConfigs = new CopyOnWriteArrayList<>();
    private final List<Map<String, Object>> producerConfigs = new CopyOnWriteArrayList<>();
    private final List<LogConsumer> consumers = new CopyOnWriteArrayList<>();
    private final List<LogProducer> producers = new CopyOnWriteArrayList<>();
    private long version;

    /** One topic: its configuration and a log per partition. */
    private static final class Topic {
        final String name;
        final Uuid id = Uuid.randomUuid();
        final Map<String, String> configs;
        final List<List<ConsumerRecord<byte[], byte[]>>> partitions = new ArrayList<>();

        Topic(String name, int partitions, Map<String, String> configs) {
            this.name = name;
            this.configs = new HashMap<>(configs);
            for (int i = 0; i < partitions; i++) {
                this.partitions.add(new ArrayList<>());
            }
        }
    }

    /**
     * Creates a topic.
     *
     * @throws TopicExistsException if it exists
     */
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        synchronized (lock) {
            if (topics.containsKey(name)) {
                throw new TopicExistsException("Topic '" + name + "' already exists.");
            }
            topics.put(name, new Topic(name, partitions, configs));
            changed();
        }
    }

    /** Adds partitions to a topic, up to {@code total} (as {@code Admin.createPartitions} does). */
    public void addPartitions(String name, int total) {
        synchronized (lock) {
            Topic t = topics.get(name);
            while (t.partitions.size() < total) {
                t.partitions.add(new ArrayList<>());
            }
            changed();
        }
    }

    /** Whether the topic exists. */
    public boolean hasTopic(String name) {
        synchronized (lock) {
            return topics.containsKey(name);
        }
    }

    /** A topic's configuration as created or altered (only the keys set; empty for an unknown topic). */
    public Map<String, String> topicConfigs(String topic) {
        synchronized (lock) {
            Topic t = topics.get(topic);
            return t == null ? Map.of() : Map.copyOf(t.configs);
        }
    }

    /** A topic's number of partitions, 0 for an unknown topic. */
    public int partitionCount(String topic) {
        synchronized (lock) {
            Topic t = topics.get(topic);
            return t == null ? 0 : t.partitions.size();
        }
    }

    /** Every record of a topic: partition by partition, each in offset order. */
    public List<ConsumerRecord<byte[], byte[]>> records(String topic) {
        synchronized (lock) {
            Topic t = topics.get(topic);
            List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
            if (t != null) {
                t.partitions.forEach(all::addAll);
            }
            return all;
        }
    }

    /** The end offset of a partition (the offset its next record gets); 0 for an unknown one. */
    public long endOffset(TopicPartition partition) {
        synchronized (lock) {
            List<ConsumerRecord<byte[], byte[]>> log = log(partition);
            return log == null ? 0 : log.size();
        }
    }

    /**
     * Makes every later write to {@code topic} fail with what {@code refusal} returns for the record (return
     * {@code null} to let a record through).
     */
    public void failWrites(String topic, Function<ProducerRecord<byte[], byte[]>, RuntimeException> refusal) {
        synchronized (lock) {
            refusals.put(topic, refusal);
        }
    }

    /** The configurations every consumer was created with, in order. */
    public List<Map<String, Object>> consumerConfigs() {
        return List.copyOf(consumerConfigs);
    }

    /** The configurations every producer was created with, in order. */
    public List<Map<String, Object>> producerConfigs() {
        return List.copyOf(producerConfigs);
    }

    /** How many of the consumers and producers this supplier created are not closed. */
    public long openClients() {
        return consumers.stream().filter(c -> !c.closed()).count()
                + producers.stream().filter(p -> !p.closed()).count();
    }

    @Override
    public Consumer<byte[], byte[]> consumer(Map<String, Object> config) {
        consumerConfigs.add(java.util.Collections.unmodifiableMap(new java.util.HashMap<>(config)));
        LogConsumer consumer =
                new LogConsumer(String.valueOf(config.getOrDefault(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest")));
        consumers.add(consumer);
        return consumer;
    }

    @Override
    public Producer<byte[], byte[]> producer(Map<String, Object> config) {
        producerConfigs.add(Map.copyOf(config));
        LogProducer producer = new LogProducer();
        producers.add(producer);
        return producer;
    }

    @Override
    public Admin admin(Map<String, Object> config) {
        return (Admin)
                Proxy.newProxyInstance(Admin.class.getClassLoader(), new Class<?>[] {Admin.class}, new AdminHandler());
    }

    private List<ConsumerRecord<byte[], byte[]>> log(TopicPartition partition) {
        Topic topic = topics.get(partition.topic());
        return topic == null || partition.partition() >= topic.partitions.size()
                ? null
                : topic.partitions.get(partition.partition());
    }

    private void changed() {
        version++;
        lock.notifyAll();
    }

    private List<PartitionInfo> partitionInfos(String topic) {
        synchronized (lock) {
            Topic t = topics.get(topic);
            List<PartitionInfo> infos = new ArrayList<>();
            if (t != null) {
                for (int i = 0; i < t.partitions.size(); i++) {
                    infos.add(new PartitionInfo(topic, i, NODE, new Node[] {NODE}, new Node[] {NODE}));
                }
            }
            return infos;
        }
    }

    private RecordMetadata append(ProducerRecord<byte[], byte[]> record) {
        synchronized (lock) {
            Function<ProducerRecord<byte[], byte[]>, RuntimeException> refusal = refusals.get(record.topic());
            RuntimeException refused = refusal == null ? null : refusal.apply(record);
            if (refused != null) {
                throw refused;
            }
            Topic topic = topics.computeIfAbsent(record.topic(), name -> new Topic(name, 1, Map.of()));
            int count = topic.partitions.size();
            int partition = record.partition() != null
                    ? record.partition()
                    : record.key() == null ? 0 : Utils.toPositive(Utils.murmur2(record.key())) % count;
            if (partition >= count) {
                throw new UnknownTopicOrPartitionException(
                        "Partition " + partition + " of topic '" + record.topic() + "' does not exist");
            }
            List<ConsumerRecord<byte[], byte[]>> log = topic.partitions.get(partition);
            long offset = log.size();
            long timestamp = record.timestamp() != null ? record.timestamp() : System.currentTimeMillis();
            int keySize = record.key() == null ? -1 : record.key().length;
            int valueSize = record.value() == null ? -1 : record.value().length;
            log.add(new ConsumerRecord<>(
                    record.topic(),
                    partition,
                    offset,
                    timestamp,
                    TimestampType.CREATE_TIME,
                    keySize,
                    valueSize,
                    record.key(),
                    record.value(),
                    new RecordHeaders(record.headers().toArray()),
                    Optional.empty()));
            changed();
            return new RecordMetadata(
                    new TopicPartition(record.topic(), partition), offset, 0, timestamp, keySize, valueSize);
        }
    }

    /** A {@link MockProducer} whose writes go to the shared log, acknowledged at once (or refused). */
    private final class LogProducer extends MockProducer<byte[], byte[]> {
        LogProducer() {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<byte[], byte[]> record, Callback callback) {
            if (closed()) {
                throw new IllegalStateException("MockProducer is already closed.");
            }
            try {
                RecordMetadata metadata = append(record);
                if (callback != null) {
                    callback.onCompletion(metadata, null);
                }
                return CompletableFuture.completedFuture(metadata);
            } catch (RuntimeException e) {
                if (callback != null) {
                    callback.onCompletion(null, e);
                }
                return CompletableFuture.failedFuture(e);
            }
        }

        /** Creates an unknown topic with one partition, as a broker that auto-creates topics does on this request. */
        @Override
        public List<PartitionInfo> partitionsFor(String topic) {
            synchronized (lock) {
                if (!topics.containsKey(topic)) {
                    topics.put(topic, new Topic(topic, 1, Map.of()));
                    changed();
                }
            }
            return partitionInfos(topic);
        }
    }

    /**
     * A {@link MockConsumer} fed from the shared log: before each poll, every record of its assigned partitions from
     * its position on is added; a poll with nothing to return waits up to its timeout for an append or a wakeup.
     */
    private final class LogConsumer extends MockConsumer<byte[], byte[]> {
        private volatile boolean woken;

        LogConsumer(String offsetReset) {
            super(offsetReset);
        }

        @Override
        public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long seen;
                synchronized (lock) {
                    seen = version;
                }
                if (woken || closed() || available()) {
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                synchronized (lock) {
                    if (version == seen && !woken) {
                        try {
                            lock.wait(Math.max(1, left / 1_000_000));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new org.apache.kafka.common.errors.InterruptException(e);
                        }
                    }
                }
            }
            woken = false;
            synchronized (this) {
                feed();
                return super.poll(Duration.ZERO);
            }
        }

        /** Whether an assigned, unpaused partition has records at or after this consumer's position. */
        private synchronized boolean available() {
            sync();
            for (TopicPartition partition : assignment()) {
                if (!paused().contains(partition) && super.position(partition) < endOffset(partition)) {
                    return true;
                }
            }
            return false;
        }

        /** Adds the records of each assigned partition from its position on. */
        private void feed() {
            sync();
            for (TopicPartition partition : assignment()) {
                if (paused().contains(partition)) {
                    continue;
                }
                long position = super.position(partition);
                List<ConsumerRecord<byte[], byte[]>> records;
                synchronized (lock) {
                    List<ConsumerRecord<byte[], byte[]>> log = log(partition);
                    records = log == null || position >= log.size()
                            ? List.of()
                            : List.copyOf(log.subList((int) position, log.size()));
                }
                records.forEach(this::addRecord);
            }
        }

        /** Tells the mock the beginning (0) and end offsets of every partition of its assigned topics. */
        private synchronized void sync() {
            Map<TopicPartition, Long> beginnings = new HashMap<>();
            Map<TopicPartition, Long> ends = new HashMap<>();
            for (TopicPartition partition : assignment()) {
                beginnings.put(partition, 0L);
                ends.put(partition, endOffset(partition));
            }
            updateBeginningOffsets(beginnings);
            updateEndOffsets(ends);
        }

        @Override
        public synchronized void assign(Collection<TopicPartition> partitions) {
            super.assign(partitions);
            sync();
        }

        @Override
        public synchronized long position(TopicPartition partition) {
            sync();
            return super.position(partition);
        }

        @Override
        public synchronized long position(TopicPartition partition, Duration timeout) {
            return position(partition);
        }

        /** The first record of each partition with a timestamp at or after the one asked for, or null (as Kafka). */
        @Override
        public Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndTimestamp> offsetsForTimes(
                Map<TopicPartition, Long> timestamps) {
            Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndTimestamp> found = new HashMap<>();
            synchronized (lock) {
                timestamps.forEach((partition, time) -> {
                    List<ConsumerRecord<byte[], byte[]>> log = log(partition);
                    found.put(
                            partition,
                            log == null
                                    ? null
                                    : log.stream()
                                            .filter(r -> r.timestamp() >= time)
                                            .findFirst()
                                            .map(r -> new org.apache.kafka.clients.consumer.OffsetAndTimestamp(
                                                    r.offset(), r.timestamp()))
                                            .orElse(null));
                });
            }
            return found;
        }

        @Override
        public Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndTimestamp> offsetsForTimes(
                Map<TopicPartition, Long> timestamps, Duration timeout) {
            return offsetsForTimes(timestamps);
        }

        @Override
        public OptionalLong currentLag(TopicPartition partition) {
            return OptionalLong.of(endOffset(partition) - position(partition));
        }

        @Override
        public synchronized Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions) {
            Map<TopicPartition, Long> offsets = new HashMap<>();
            partitions.forEach(p -> offsets.put(p, 0L));
            return offsets;
        }

        @Override
        public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> partitions, Duration timeout) {
            return beginningOffsets(partitions);
        }

        @Override
        public synchronized Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions) {
            Map<TopicPartition, Long> offsets = new HashMap<>();
            partitions.forEach(p -> offsets.put(p, endOffset(p)));
            return offsets;
        }

        @Override
        public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> partitions, Duration timeout) {
            return endOffsets(partitions);
        }

        @Override
        public synchronized List<PartitionInfo> partitionsFor(String topic) {
            return partitionInfos(topic);
        }

        @Override
        public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
            return partitionInfos(topic);
        }

        @Override
        public void wakeup() {
            woken = true;
            synchronized (lock) {
                changed();
            }
            super.wakeup();
        }
    }

    /** The admin client: topics, their configurations and offsets; nothing else. */
    private final class AdminHandler implements InvocationHandler {
        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "close":
                    return null;
                case "listTopics":
                    if (args == null || args.length == 0) {
                        break;
                    }
                    return listTopics();
                case "createTopics":
                    if (args.length == 1) {
                        break;
                    }
                    return createTopics(cast(args[0]));
                case "describeTopics":
                    if (args.length == 1 || !(args[0] instanceof TopicCollection.TopicNameCollection)) {
                        break;
                    }
                    return describeTopics(((TopicCollection.TopicNameCollection) args[0]).topicNames());
                case "describeConfigs":
                    if (args.length == 1) {
                        break;
                    }
                    return describeConfigs(cast(args[0]));
                case "incrementalAlterConfigs":
                    if (args.length == 1) {
                        break;
                    }
                    return alterConfigs(cast(args[0]));
                case "listOffsets":
                    if (args.length == 1) {
                        break;
                    }
                    return listOffsets(cast(args[0]));
                default:
                    if (!method.isDefault()) {
                        throw new UnsupportedOperationException(
                                "InMemoryKafka's admin client does not model " + method.getName());
                    }
            }
            return InvocationHandler.invokeDefault(proxy, method, args);
        }

        @SuppressWarnings("unchecked")
        private <T> T cast(Object value) {
            return (T) value;
        }

        private ListTopicsResult listTopics() throws ReflectiveOperationException {
            Map<String, TopicListing> listings = new HashMap<>();
            synchronized (lock) {
                topics.values().forEach(t -> listings.put(t.name, new TopicListing(t.name, t.id, false)));
            }
            var constructor = ListTopicsResult.class.getDeclaredConstructor(KafkaFuture.class);
            constructor.setAccessible(true); // package-private in kafka-clients; a test double may reach it
            return constructor.newInstance(KafkaFuture.completedFuture(listings));
        }

        private CreateTopicsResult createTopics(Collection<NewTopic> newTopics) {
            Map<String, KafkaFuture<CreateTopicsResult.TopicMetadataAndConfig>> futures = new HashMap<>();
            for (NewTopic topic : newTopics) {
                KafkaFutureImpl<CreateTopicsResult.TopicMetadataAndConfig> future = new KafkaFutureImpl<>();
                try {
                    createTopic(
                            topic.name(),
                            topic.numPartitions() > 0 ? topic.numPartitions() : 1,
                            topic.configs() == null ? Map.of() : topic.configs());
                    future.complete(null);
                } catch (TopicExistsException e) {
                    future.completeExceptionally(e);
                }
                futures.put(topic.name(), future);
            }
            return new CreateTopicsResult(futures) {};
        }

        private DescribeTopicsResult describeTopics(Collection<String> names) {
            Map<String, KafkaFuture<TopicDescription>> futures = new HashMap<>();
            synchronized (lock) {
                for (String name : names) {
                    KafkaFutureImpl<TopicDescription> future = new KafkaFutureImpl<>();
                    Topic topic = topics.get(name);
                    if (topic == null) {
                        future.completeExceptionally(new UnknownTopicOrPartitionException(
                                "This server does not host this topic-partition."));
                    } else {
                        List<TopicPartitionInfo> partitions = new ArrayList<>();
                        for (int i = 0; i < topic.partitions.size(); i++) {
                            partitions.add(new TopicPartitionInfo(i, NODE, List.of(NODE), List.of(NODE)));
                        }
                        future.complete(new TopicDescription(name, false, partitions, Set.of(), topic.id));
                    }
                    futures.put(name, future);
                }
            }
            return new DescribeTopicsResult(null, futures) {};
        }

        private DescribeConfigsResult describeConfigs(Collection<ConfigResource> resources) {
            Map<ConfigResource, KafkaFuture<Config>> futures = new HashMap<>();
            synchronized (lock) {
                for (ConfigResource resource : resources) {
                    KafkaFutureImpl<Config> future = new KafkaFutureImpl<>();
                    Topic topic = resource.type() == ConfigResource.Type.TOPIC ? topics.get(resource.name()) : null;
                    if (topic == null) {
                        future.completeExceptionally(
                                new UnknownTopicOrPartitionException("Topic '" + resource.name() + "' does not exist"));
                    } else {
                        Map<String, String> configs = new HashMap<>();
                        configs.put(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE);
                        configs.put(TopicConfig.RETENTION_MS_CONFIG, "604800000");
                        configs.put(TopicConfig.RETENTION_BYTES_CONFIG, "-1");
                        configs.putAll(topic.configs);
                        future.complete(new Config(configs.entrySet().stream()
                                .map(e -> new ConfigEntry(e.getKey(), e.getValue()))
                                .toList()));
                    }
                    futures.put(resource, future);
                }
            }
            return new DescribeConfigsResult(futures) {};
        }

        private AlterConfigsResult alterConfigs(Map<ConfigResource, Collection<AlterConfigOp>> changes)
                throws ReflectiveOperationException {
            Map<ConfigResource, KafkaFuture<Void>> futures = new HashMap<>();
            synchronized (lock) {
                changes.forEach((resource, ops) -> {
                    KafkaFutureImpl<Void> future = new KafkaFutureImpl<>();
                    Topic topic = resource.type() == ConfigResource.Type.TOPIC ? topics.get(resource.name()) : null;
                    if (topic == null) {
                        future.completeExceptionally(
                                new UnknownTopicOrPartitionException("Topic '" + resource.name() + "' does not exist"));
                    } else {
                        for (AlterConfigOp op : ops) {
                            if (op.opType() == AlterConfigOp.OpType.SET) {
                                topic.configs.put(
                                        op.configEntry().name(),
                                        op.configEntry().value());
                            } else if (op.opType() == AlterConfigOp.OpType.DELETE) {
                                topic.configs.remove(op.configEntry().name());
                            }
                        }
                        future.complete(null);
                    }
                    futures.put(resource, future);
                });
            }
            var constructor = AlterConfigsResult.class.getDeclaredConstructor(Map.class);
            constructor.setAccessible(true); // package-private in kafka-clients; a test double may reach it
            return constructor.newInstance(futures);
        }

        private ListOffsetsResult listOffsets(Map<TopicPartition, OffsetSpec> specs) {
            Map<TopicPartition, KafkaFuture<ListOffsetsResult.ListOffsetsResultInfo>> futures = new HashMap<>();
            synchronized (lock) {
                specs.forEach((partition, spec) -> {
                    KafkaFutureImpl<ListOffsetsResult.ListOffsetsResultInfo> future = new KafkaFutureImpl<>();
                    List<ConsumerRecord<byte[], byte[]>> log = log(partition);
                    if (log == null) {
                        future.completeExceptionally(
                                new UnknownTopicOrPartitionException("Partition " + partition + " does not exist"));
                    } else if (spec instanceof OffsetSpec.EarliestSpec) {
                        future.complete(new ListOffsetsResult.ListOffsetsResultInfo(0, -1, Optional.empty()));
                    } else if (spec instanceof OffsetSpec.LatestSpec) {
                        future.complete(new ListOffsetsResult.ListOffsetsResultInfo(log.size(), -1, Optional.empty()));
                    } else {
                        future.completeExceptionally(new UnsupportedOperationException(
                                "InMemoryKafka lists only the earliest and latest offsets, not " + spec));
                    }
                    futures.put(partition, future);
                });
            }
            return new ListOffsetsResult(futures);
        }
    }
}
