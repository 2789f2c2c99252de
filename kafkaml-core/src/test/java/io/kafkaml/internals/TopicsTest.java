package io.kafkaml.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.common.KafkaAccessException;
import io.kafkaml.common.KafkaMlException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.internals.KafkaFutureImpl;
import org.junit.jupiter.api.Test;

/**
 * {@link Topics#awaitWritable} against a broker-less Admin whose answers the test decides: a partition whose leader
 * never serves it, one that serves it after a few refusals, a topic that never appears, a refused DESCRIBE.
 */
class TopicsTest {

    private static final Node NODE = new Node(1, "localhost", 9092);

    /**
     * An Admin that knows {@code partitionCounts} (a topic missing from it is unknown) and answers each
     * {@code ListOffsets} for a partition with {@code listOffsets.apply(partition)}: null for an offset, else the error.
     */
    private static Admin admin(Map<String, Integer> partitionCounts, Function<TopicPartition, Throwable> listOffsets) {
        return (Admin) Proxy.newProxyInstance(
                Admin.class.getClassLoader(), new Class<?>[] {Admin.class}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "describeTopics" -> {
                            Map<String, KafkaFuture<TopicDescription>> futures = new HashMap<>();
                            for (Object name : (Collection<?>) args[0]) {
                                String topic = (String) name;
                                Integer count = partitionCounts.get(topic);
                                futures.put(
                                        topic,
                                        count == null
                                                ? failed(new UnknownTopicOrPartitionException(
                                                        "This server does not host this topic-partition."))
                                                : KafkaFuture.completedFuture(new TopicDescription(
                                                        topic,
                                                        false,
                                                        IntStream.range(0, count)
                                                                .mapToObj(p -> new TopicPartitionInfo(
                                                                        p, NODE, List.of(NODE), List.of(NODE)))
                                                                .toList())));
                            }
                            return new DescribeTopicsResult(null, futures) {};
                        }
                        case "listOffsets" -> {
                            Map<TopicPartition, KafkaFuture<ListOffsetsResultInfo>> futures = new HashMap<>();
                            for (Object key : ((Map<?, ?>) args[0]).keySet()) {
                                TopicPartition partition = (TopicPartition) key;
                                Throwable error = listOffsets.apply(partition);
                                futures.put(
                                        partition,
                                        error == null
                                                ? KafkaFuture.completedFuture(
                                                        new ListOffsetsResultInfo(0, -1, java.util.Optional.of(0)))
                                                : failed(error));
                            }
                            return new ListOffsetsResult(futures);
                        }
                        default -> throw new UnsupportedOperationException(method.getName());
                    }
                });
    }

    private static <T> KafkaFuture<T> failed(Throwable error) {
        KafkaFutureImpl<T> future = new KafkaFutureImpl<>();
        future.completeExceptionally(error);
        return future;
    }

    @Test
    void partitionsWhoseLeaderNeverServesThemAreNamedInTheTimeoutError() {
        Admin admin = admin(
                Map.of("fresh", 4, "other", 2),
                p -> p.partition() == 1 || (p.topic().equals("fresh") && p.partition() == 2)
                        ? new NotLeaderOrFollowerException("not the leader of " + p)
                        : null);

        assertThatThrownBy(() -> Topics.awaitWritable(admin, List.of("fresh", "other"), Duration.ofMillis(200)))
                .isInstanceOf(KafkaMlException.class)
                .hasMessageContaining("topic 'fresh' partitions 1, 2 have no leader that serves them yet")
                .hasMessageContaining("NotLeaderOrFollowerException: not the leader of fresh-1")
                .hasMessageContaining("topic 'other' partition 1 has no leader that serves it yet")
                .hasMessageContaining("after 200 ms")
                .hasMessageContaining("KAFKA-15591")
                .hasMessageNotContaining("partition 0")
                .hasMessageNotContaining(", 3");
    }

    @Test
    void partitionsThatServeAfterAFewRefusalsAreWaitedFor() {
        AtomicInteger refusals = new AtomicInteger();
        Admin admin = admin(
                Map.of("a", 2, "b", 1),
                p -> p.topic().equals("a") && p.partition() == 1 && refusals.incrementAndGet() <= 3
                        ? new NotLeaderOrFollowerException("not yet")
                        : null);

        List<TopicPartition> checked = Topics.awaitWritable(admin, List.of("b", "a"), Duration.ofSeconds(30));

        assertThat(checked)
                .containsExactly(new TopicPartition("a", 0), new TopicPartition("a", 1), new TopicPartition("b", 0));
        assertThat(refusals).hasValue(4);
    }

    @Test
    void aTopicThatNeverAppearsIsNamedInTheTimeoutError() {
        Admin admin = admin(Map.of("here", 1), p -> null);

        assertThatThrownBy(() -> Topics.awaitWritable(admin, List.of("here", "gone"), Duration.ofMillis(100)))
                .isInstanceOf(KafkaMlException.class)
                .hasMessageContaining("Topic ['gone'] not in the cluster's metadata after 100 ms")
                .hasMessageContaining("UnknownTopicOrPartitionException")
                .hasMessageNotContaining("'here'");
    }

    @Test
    void aRefusedDescribeFailsAtOnceWithTheAuthorizationErrorAsCause() {
        Admin admin = admin(Map.of("secret", 1), p -> new TopicAuthorizationException(java.util.Set.of(p.topic())));

        assertThatThrownBy(() -> Topics.awaitWritable(admin, List.of("secret"), Duration.ofMinutes(10)))
                .isInstanceOf(KafkaMlException.class)
                .hasMessageContaining("topic 'secret' partition 0")
                .satisfies(e -> assertThat(KafkaAccessException.find(e, Map.of(), "DESCRIBE"))
                        .hasValueSatisfying(access -> assertThat(access.getMessage())
                                .contains("User:ANONYMOUS is not authorized to DESCRIBE topic 'secret'")));
    }

    @Test
    void waitingStopsWhenTheCallerSaysSo() {
        Admin admin = admin(Map.of("slow", 1), p -> new NotLeaderOrFollowerException("not yet"));
        AtomicInteger asked = new AtomicInteger();

        assertThatThrownBy(() -> Topics.awaitWritable(
                        admin, List.of("slow"), Duration.ofMinutes(10), () -> asked.incrementAndGet() >= 3))
                .isInstanceOf(KafkaMlException.class)
                .hasMessageContaining("Stopped waiting for topics ['slow']");
        assertThat(asked).hasValue(3);
    }

    @Test
    void noTopicsMeansNothingToWaitFor() {
        assertThat(Topics.awaitWritable(admin(Map.of(), p -> null), List.of(), Duration.ZERO))
                .isEmpty();
    }
}
