package io.kafkaml.inference.internals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kafkaml.internals.Deadline;
import java.time.Duration;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** Exactly once: a timed-out {@code commitTransaction()} is retried, never aborted. */
class TransactionCommitTest {

    /** A MockProducer whose first {@code timeouts} commits time out, as KafkaProducer's do when the broker is away. */
    static final class SlowCommits extends MockProducer<byte[], byte[]> {
        int timeouts;
        int commits;
        RuntimeException instead;

        SlowCommits(int timeouts) {
            super(true, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.timeouts = timeouts;
        }

        @Override
        public void commitTransaction() {
            commits++;
            if (instead != null) {
                throw instead;
            }
            if (timeouts > 0) {
                timeouts--;
                throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(true)");
            }
            super.commitTransaction();
        }
    }

    private static SlowCommits openTransaction(int timeouts) {
        SlowCommits producer = new SlowCommits(timeouts);
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>("out", new byte[] {1}));
        return producer;
    }

    @Test
    void aTimedOutCommitIsRetriedAndCommits() {
        SlowCommits producer = openTransaction(2);
        InferenceReplica.commitResolvingTimeouts(producer, Deadline.after(Duration.ofMinutes(1)), 3, "r");
        assertThat(producer.commits).isEqualTo(3);
        assertThat(producer.transactionCommitted()).isTrue();
        assertThat(producer.transactionAborted()).isFalse();
        assertThat(producer.history()).hasSize(1);
    }

    @Test
    void aCommitStillUnknownAfterItsAttemptsEndsTheReplicaForARestartWithoutAborting() {
        SlowCommits producer = openTransaction(5);
        assertThatThrownBy(() -> InferenceReplica.commitResolvingTimeouts(
                        producer, Deadline.after(Duration.ofMinutes(1)), 3, "r"))
                .isInstanceOf(InferenceReplica.CommitOutcomeUnknownException.class)
                .hasCauseInstanceOf(TimeoutException.class)
                .hasMessageContaining("restart with the same transactional id");
        assertThat(producer.commits).isEqualTo(3);
        assertThat(producer.transactionAborted()).isFalse();
        assertThat(InferenceReplica.isRestartable(
                        new InferenceReplica.CommitOutcomeUnknownException("x", new TimeoutException("t"))))
                .isTrue();
    }

    @Test
    void anExpiredStopDeadlineEndsTheRetriesAfterOneAttempt() {
        SlowCommits producer = openTransaction(5);
        assertThatThrownBy(
                        () -> InferenceReplica.commitResolvingTimeouts(producer, Deadline.after(Duration.ZERO), 3, "r"))
                .isInstanceOf(InferenceReplica.CommitOutcomeUnknownException.class);
        assertThat(producer.commits).isEqualTo(1);
    }

    @Test
    void anInterruptedCommitIsNotRetriedAndItsOutcomeIsUnknown() {
        SlowCommits producer = openTransaction(0);
        producer.instead = new InterruptException(new InterruptedException());
        try {
            assertThatThrownBy(() -> InferenceReplica.commitResolvingTimeouts(
                            producer, Deadline.after(Duration.ofMinutes(1)), 3, "r"))
                    .isInstanceOf(InferenceReplica.CommitOutcomeUnknownException.class);
            assertThat(producer.commits).isEqualTo(1);
        } finally {
            Thread.interrupted(); // InterruptException set the flag
        }
    }

    @Test
    void anAbortableCommitErrorIsThrownAsItIsForTheCallerToAbort() {
        SlowCommits producer = openTransaction(0);
        producer.instead = new org.apache.kafka.common.errors.InvalidProducerEpochException("epoch");
        assertThatThrownBy(() -> InferenceReplica.commitResolvingTimeouts(
                        producer, Deadline.after(Duration.ofMinutes(1)), 3, "r"))
                .isInstanceOf(org.apache.kafka.common.errors.InvalidProducerEpochException.class);
        assertThat(producer.commits).isEqualTo(1);
    }
}
