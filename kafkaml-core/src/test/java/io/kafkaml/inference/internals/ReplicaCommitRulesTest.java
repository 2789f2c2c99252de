package io.kafkaml.inference.internals;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

class ReplicaCommitRulesTest {

    private static final TopicPartition P0 = new TopicPartition("in", 0);
    private static final TopicPartition P1 = new TopicPartition("in", 1);

    @Test
    void onlyProducerFencedIsFencingAnExpiredTransactionIsAbortable() {
        assertThat(InferenceReplica.isFencing(new ProducerFencedException("newer epoch")))
                .isTrue();
        assertThat(InferenceReplica.isFencing(new KafkaException("wrapped", new ProducerFencedException("x"))))
                .isTrue();
        // the coordinator aborted a transaction older than transaction.timeout.ms (KIP-588): not a fencing
        assertThat(InferenceReplica.isFencing(new InvalidProducerEpochException("expired")))
                .isFalse();
        assertThat(InferenceReplica.isFencing(new KafkaException("w", new InvalidProducerEpochException("e"))))
                .isFalse();
        assertThat(InferenceReplica.isRestartable(new InvalidProducerEpochException("expired")))
                .isTrue();
    }

    @Test
    void aFailedAuthenticationIsNotRestartedLikeARefusedAuthorization() {
        assertThat(InferenceReplica.isRestartable(new SaslAuthenticationException("bad password")))
                .isFalse();
        assertThat(InferenceReplica.isRestartable(new KafkaException("w", new SslAuthenticationException("ca"))))
                .isFalse();
        assertThat(InferenceReplica.isRestartable(new TopicAuthorizationException(Set.of("out"))))
                .isFalse();
        assertThat(InferenceReplica.isRestartable(new TimeoutException("broker away")))
                .isTrue();
    }

    @Test
    void aFailedCommitSupersededByANewerOneIsNotRetried() {
        InferenceReplica.SentCommits sent = new InferenceReplica.SentCommits();
        sent.sent(Map.of(P0, new OffsetAndMetadata(10), P1, new OffsetAndMetadata(5)));
        sent.sent(Map.of(P0, new OffsetAndMetadata(20)));
        // the first commit fails after the second was sent: P0@10 would move the group back, P1@5 is still the latest
        assertThat(sent.isLatest(P0, new OffsetAndMetadata(10))).isFalse();
        assertThat(sent.isLatest(P1, new OffsetAndMetadata(5))).isTrue();
        assertThat(sent.isLatest(P0, new OffsetAndMetadata(20))).isTrue();
        sent.forget(List.of(P0)); // revoked: a new assignment starts afresh
        assertThat(sent.isLatest(P0, new OffsetAndMetadata(3))).isTrue();
    }
}
